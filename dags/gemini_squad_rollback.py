"""
## Gemini SQuAD champion rollback

Manual only (no schedule): restore an earlier champion from the champion history that the tuning DAG
(`gemini_squad_tuning`) keeps in `<gcs_prefix>/champion/champion.json`.

1. **check_params** – `history_entry`: an entry id from the history, or `previous` (the champion before the
   current one); the prefix and connection of the tuning DAG's run.
2. **roll_back** – refuses an entry whose base model is retired (a tuned model retires with its base) or
   that already serves; otherwise writes the restored champion through the same conditional write as a
   promotion (a history entry with `action: rollback` is part of it), moves the Model Registry version alias
   back to the restored version and emits `gemini_squad_champion`, like a promotion.

Run it: trigger with `{"history_entry": "previous"}` in the UI, or
`airflow dags test gemini_squad_rollback -c '{"history_entry": "previous"}'` (offline: `make rollback`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Asset, Param, dag, task

# The prefix, connection, impersonation and catalog Params, shared with the tuning DAG (light to import).
from gemini_qa_tuning.pipeline.shared_params import storage_and_identity_params

DAG_ID = "gemini_squad_rollback"

# The tuning DAG's champion Asset: a rollback changes what serves, as a promotion does.
SERVING_CHAMPION = Asset(name="gemini_squad_champion")

FROM_CONTEXT: Any = None
# The default of gemini_qa_tuning.rollback.RollbackParams.history_entry (a DAG test keeps them equal).
PREVIOUS = "previous"

PARAMS = {
    "history_entry": Param(
        PREVIOUS,
        type="string",
        minLength=1,
        title="History entry to restore",
        section="Rollback",
        description=f"'{PREVIOUS}' (the champion before the current one) or an entry id of the champion history "
        "(the 'entry_id' of an item of champion.json's 'history', also the file name under champion/history/).",
    ),
    **storage_and_identity_params(
        gcs_prefix="The tuning DAG's gcs_prefix: the champion record is <prefix>/champion/champion.json.",
        gcp_conn_id="Airflow Google Cloud connection for Cloud Storage and the Vertex AI Model Registry.",
        impersonation_chain="Optional service account (or chain) the connection impersonates.",
        model_catalog_uri="The tuning DAG's model_catalog_uri (retirement dates); empty: the packaged catalog.",
    ),
}


@dag(
    dag_id=DAG_ID,
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["gemini", "vertex-ai", "champion", "rollback"],
    # Retries are for transient storage or Vertex errors; a refused rollback fails at once (AirflowFailException).
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
    params=PARAMS,
    doc_md=__doc__,
    render_template_as_native_obj=True,
)
def gemini_squad_rollback() -> None:
    @task
    def check_params(params: Any = FROM_CONTEXT) -> Any:
        """The run's Params as one typed record; unknown keys and wrong types fail here.

        Reads the run's Params (its `conf` over the defaults); writes nothing. Never skips.
        """
        from gemini_qa_tuning.pipeline import rollback_steps

        return rollback_steps.check_rollback_params(params).to_json()

    @task(outlets=[SERVING_CHAMPION])
    def roll_back(settings: Any, run_id: str = FROM_CONTEXT, outlet_events: Any = FROM_CONTEXT) -> Any:
        """Restore the chosen champion (conditional write + history entry), then move the alias back.

        Reads `champion/champion.json` and its history and the model catalog; writes the restored champion
        record (with an `action: rollback` history entry), moves the Model Registry alias and emits
        `gemini_squad_champion`. Never skips: a retired or already serving entry fails the run.
        """
        from gemini_qa_tuning.pipeline import rollback_steps
        from gemini_qa_tuning.rollback import RollbackParams

        restored = rollback_steps.roll_back(RollbackParams.from_params(settings), run_id)
        outlet_events[SERVING_CHAMPION].extra = {"model": restored.model, "run_id": run_id, "action": "rollback"}
        return restored.to_json()

    roll_back(check_params())


gemini_squad_rollback()
