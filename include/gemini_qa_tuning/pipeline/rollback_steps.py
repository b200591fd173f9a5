"""The bodies of the rollback DAG's tasks (``dags/gemini_squad_rollback.py``): typed records in and out.

A rollback restores an earlier champion from the history through the same conditional write as a
promotion, then moves the Model Registry alias back (see :func:`gemini_qa_tuning.pipeline.steps.sync_champion_alias`).
Errors no retry can fix (a bad Param, an unknown entry, a retired base model, a lost race) fail the task
without retries.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime

from airflow.providers.common.compat.sdk import AirflowFailException

from gemini_qa_tuning import storage
from gemini_qa_tuning.champion import ChampionRecord
from gemini_qa_tuning.pipeline.params import PipelineParams
from gemini_qa_tuning.rollback import RollbackError, RollbackParams

__all__ = ["check_rollback_params", "roll_back"]

logger = logging.getLogger(__name__)


def check_rollback_params(raw: Mapping[str, object]) -> RollbackParams:
    """The run's Params as one record; a bad or unknown one fails here."""
    try:
        return RollbackParams.from_params(raw)
    except RollbackError as error:
        raise AirflowFailException(str(error)) from error


def _pipeline_params(params: RollbackParams) -> PipelineParams:
    """The pipeline settings the shared storage and Vertex helpers read (connection, prefix, catalog)."""
    return PipelineParams(
        gcs_prefix=params.gcs_prefix,
        gcp_conn_id=params.gcp_conn_id,
        impersonation_chain=params.impersonation_chain,
        model_catalog_uri=params.model_catalog_uri,
    )


def roll_back(params: RollbackParams, run_id: str) -> ChampionRecord:
    """Restore the champion of ``params.history_entry`` (or the previous one); returns what serves now."""
    from gemini_qa_tuning.champion import CorruptChampionRecordError, read_champion_state, write_champion
    from gemini_qa_tuning.pipeline.steps import as_connection, run_model_catalog, sync_champion_alias, today_utc
    from gemini_qa_tuning.rollback import check_rollback_base, choose_rollback_target, rollback_record

    settings = _pipeline_params(params)
    try:
        with as_connection(settings):
            state = read_champion_state(params.gcs_prefix)
        done = state.latest_entry
        if done is not None and done.action == "rollback" and done.run_id == run_id:
            # A retry after this run's record write (the alias step failed): finish, do not roll back twice.
            logger.info("This run already restored history entry %s; completing the alias move", done.restored_entry)
            sync_champion_alias(settings)
            return done.champion
        target = choose_rollback_target(state, params.history_entry)
        check_rollback_base(target.champion, today_utc(), run_model_catalog(settings))
    except (RollbackError, CorruptChampionRecordError) as error:
        raise AirflowFailException(str(error)) from error
    assert state.record is not None  # choose_rollback_target refuses an empty record
    record = rollback_record(target, datetime.now(UTC).isoformat(timespec="seconds"), run_id)
    try:
        with as_connection(settings):
            record = write_champion(
                params.gcs_prefix,
                record,
                expected_generation=state.generation,
                action="rollback",
                restored_entry=target.entry_id,
            )
    except storage.ObjectChangedError as error:
        raise AirflowFailException(
            f"The champion changed while the rollback was being prepared ({error}); nothing was rolled back. "
            "Look at the champion history and trigger the rollback again."
        ) from error
    logger.info(
        "Rolled back to history entry %s: %s serves again (was: %s)", target.entry_id, record.model, state.record.model
    )
    sync_champion_alias(settings)
    return record
