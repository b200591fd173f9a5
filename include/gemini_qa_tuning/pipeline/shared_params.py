"""The Params that say where a pipeline's artifacts live and which Google Cloud identity reaches them.

Both DAGs take them: the tuning DAG writes under ``gcs_prefix`` as ``gcp_conn_id`` (optionally through
``impersonation_chain``) and reads ``model_catalog_uri``; the rollback DAG restores the champion record the
tuning DAG wrote there, as the same identity, and checks retirement in the same catalog. So their schema and
defaults are defined once, here; each DAG says in the description what it does with the value.

Light at DAG-parse time: Airflow's ``Param`` and the pipeline's defaults only.
"""

from __future__ import annotations

from airflow.sdk import Param

from gemini_qa_tuning.pipeline.params import PipelineParams

__all__ = ["GCS_PREFIX_PATTERN", "storage_and_identity_params"]

#: A gs:// URI, a file:// URI or an absolute path.
GCS_PREFIX_PATTERN = r"^(gs://[a-z0-9._-]+(/.*)?|file://.+|/.+)$"
_DEFAULT = PipelineParams()


def storage_and_identity_params(
    *, gcs_prefix: str, gcp_conn_id: str, impersonation_chain: str, model_catalog_uri: str
) -> dict[str, Param]:
    """``gcs_prefix``, ``gcp_conn_id``, ``impersonation_chain`` and ``model_catalog_uri`` in the form's
    *Advanced* section, each with the description given for it."""
    return {
        "gcs_prefix": Param(
            _DEFAULT.gcs_prefix,
            type="string",
            pattern=GCS_PREFIX_PATTERN,
            title="Artifact prefix",
            section="Advanced",
            description=gcs_prefix,
        ),
        "gcp_conn_id": Param(
            _DEFAULT.gcp_conn_id,
            type="string",
            minLength=1,
            title="Google Cloud connection",
            section="Advanced",
            description=gcp_conn_id,
        ),
        "impersonation_chain": Param(
            None,
            type=["null", "array"],
            items={"type": "string"},
            title="Service accounts to impersonate",
            section="Advanced",
            description=impersonation_chain,
        ),
        "model_catalog_uri": Param(
            _DEFAULT.model_catalog_uri,
            type=["null", "string"],
            title="Model catalog file",
            section="Advanced",
            description=model_catalog_uri,
        ),
    }
