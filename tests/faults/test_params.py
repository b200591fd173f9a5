"""Fault suite, Params stage: bad types and ranges, an unknown source kind, a local-path ``gcs_prefix``.

Two gates stand before anything is read or paid: Airflow validates the run's ``conf`` against the Params'
JSON schema when the run is created (the trigger form, the REST API and ``dag.test()`` all go through
``create_dagrun``), and the first task, ``check_params``, converts the values once (types, unknown keys).
Each scenario asserts the gate that stops it, that the message names the Param at fault (and no other),
and that nothing was written or sent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gemini_qa_tuning.pipeline.params import PipelineParams

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
DAG_ID = "gemini_squad_tuning"


@pytest.fixture(scope="module")
def pipeline_dag() -> Any:
    """The DAG as the scheduler and the API server hold it (serialized), whose Params validate a run's conf."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.serialization.serialized_objects import DagSerialization

    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert not bag.import_errors, bag.import_errors
    return DagSerialization.from_dict(DagSerialization.to_dict(bag.dags[DAG_ID]))


def refused_at_trigger(dag: Any, conf: dict[str, Any]) -> str:
    """What ``create_dagrun`` does with a run's conf before any run exists; returns Airflow's message."""
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError) as refused:
        dag.params.deep_merge(conf).validate()
    return str(refused.value)


@pytest.mark.parametrize(
    ("conf", "named"),
    [
        ({"epochs": 0}, "epochs"),
        ({"epochs": 101}, "epochs"),
        ({"test_fraction": 0.9}, "test_fraction"),
        ({"validation_fraction": -0.1}, "validation_fraction"),
        ({"eval_concurrency": 0}, "eval_concurrency"),
        ({"tuning_timeout_hours": 0}, "tuning_timeout_hours"),
        ({"tuning_timeout_hours": 1000}, "tuning_timeout_hours"),
        ({"poll_interval_seconds": 0}, "poll_interval_seconds"),
        ({"max_reject_share": 2}, "max_reject_share"),
        ({"epochs": "three"}, "epochs"),
        ({"dry_run": "yes"}, "dry_run"),
        ({"source_kind": "csv"}, "source_kind"),
        ({"gcs_prefix": "s3://bucket/path"}, "gcs_prefix"),
        ({"gcs_prefix": "relative/folder"}, "gcs_prefix"),
    ],
    ids=lambda value: value if isinstance(value, str) else "-".join(f"{k}={v}" for k, v in value.items()),
)
def test_an_out_of_range_or_mistyped_param_is_refused_before_the_run_exists(
    pipeline_dag: Any, conf: dict[str, Any], named: str
) -> None:
    message = refused_at_trigger(pipeline_dag, conf)
    assert named in message, message
    assert message.startswith(f"Invalid input for param {named}:"), message
    others = [name for name in PipelineParams.names() if name != named and f"param {name}:" in message]
    assert not others, f"the message names other Params too: {others}: {message}"


@pytest.mark.integration  # the refresh step acts as the run's connection
def test_an_unknown_source_kind_that_got_past_the_form_names_the_kinds_at_the_refresh(
    tmp_path: Path, local_airflow_env: dict
) -> None:
    """A caller that builds the record itself (no schema in between) is stopped before anything is read."""
    from gemini_qa_tuning.dataset import DatasetError
    from gemini_qa_tuning.pipeline import steps

    params = steps.check_params({"source_kind": "csv", "gcs_prefix": str(tmp_path / "artifacts")}, DAG_ID)
    with pytest.raises(Exception) as refused:  # AirflowFailException: no retry fixes a bad setting
        steps.refresh_dataset(params, "manual__fault")
    assert type(refused.value).__name__ == "AirflowFailException"
    assert isinstance(refused.value.__cause__, DatasetError)
    message = str(refused.value)
    assert "source_kind must be one of sample, squad_json, jsonl, huggingface, not 'csv'" in message
    for unrelated in ("test_fraction", "validation_fraction", "max_train_examples", "group_by"):
        assert unrelated not in message, message
    assert not (tmp_path / "artifacts").exists(), "nothing may be staged for a source kind that does not exist"


def test_wrong_types_fail_the_first_task_naming_each_param_once() -> None:
    from airflow.sdk.exceptions import AirflowFailException

    from gemini_qa_tuning.pipeline import steps

    with pytest.raises(AirflowFailException) as refused:
        steps.check_params({"epochs": 2.5, "eval_concurrency": "8", "force_retrain": 1}, DAG_ID)
    message = str(refused.value)
    assert "3 problem(s)" in message
    assert "epochs must be a whole number, not float 2.5" in message
    assert "eval_concurrency must be a whole number, not str '8'" in message
    assert "force_retrain must be true or false, not int 1" in message
    assert "gcs_prefix" not in message and "source_kind" not in message


@pytest.mark.parametrize("form", ["/srv/gemini-artifacts", "file:///srv/gemini-artifacts", "gs://bucket/path"])
def test_the_artifact_prefix_pattern_allows_local_paths_whose_champion_update_is_a_compare_and_swap(
    pipeline_dag: Any, form: str
) -> None:
    """The pattern lets local paths through (dry runs, tests): so the champion CAS must hold there too —
    proven per backend by ``tests/test_champion.py::test_racing_promotions_have_exactly_one_winner_on_every_backend``
    and, through the promote step, by ``test_promote.py`` in this folder."""
    pipeline_dag.params.deep_merge({"gcs_prefix": form}).validate()


@pytest.mark.integration
def test_a_gcs_prefix_in_a_bucket_that_does_not_exist_fails_the_refresh_without_retry(local_airflow_env: dict) -> None:
    """A typo in the bucket: the first write (the refresh's staging) fails naming the Param and the bucket;
    no retry can create the bucket, so none is attempted."""
    from airflow.sdk.exceptions import AirflowFailException

    from gemini_qa_tuning import storage
    from gemini_qa_tuning.pipeline import steps

    prefix = "gs://no-such-bucket-for-faults/pipeline"
    params = steps.check_params({"source_kind": "sample", "gcs_prefix": prefix}, DAG_ID)
    with pytest.raises(AirflowFailException) as refused:
        steps.refresh_dataset(params, "manual__fault")
    message = str(refused.value)
    assert f"Param gcs_prefix ({prefix})" in message, message
    assert "the bucket gs://no-such-bucket-for-faults does not exist" in message, message
    assert isinstance(refused.value.__cause__, storage.BucketNotFoundError)
    for unrelated in ("source_kind", "test_fraction", "source_uri"):
        assert unrelated not in message, message
