"""
## Gemini SQuAD tuning

Every night (and whenever you press *Trigger*), tune Gemini for extractive question answering on
Vertex AI and measure it against the base model and the current champion.

1. **refresh_dataset** – load the source (Hugging Face `datasets`, SQuAD JSON or JSONL; `gs://` or
   local), clean whitespace, normalize target answers, drop duplicate (question, context) pairs,
   validate every record (rejects kept with their reason), split by article: no test context is
   ever seen in training.
2. **export_dataset** – `train/validation.jsonl` (Gemini tuning format), `test.jsonl` (all reference
   answers), `rejects.jsonl` and `manifest.json` under `datasets/<fingerprint>/`; identical data
   rewrites nothing. Emits the `gemini_squad_tuning_dataset` asset.
3. **find_champion** – read the champion record (what serves now).
4. **plan_tuning** – skip when this exact data was already tuned on (unless `force_retrain`); stop
   before launch when the cost estimate exceeds `max_training_cost`.
5. **launch_tuning_job** – one Vertex LoRA tuning job per dataset fingerprint + tuning config: a
   retry finds the job it already paid for. Extra link: *Vertex AI tuning job*. `dry_run` creates nothing.
6. **wait_for_tuning_job** – deferred to the triggerer: no worker slot is held while Vertex trains.
7. **evaluate_base / evaluate_tuned / evaluate_champion** – the same held-out questions to each
   model, concurrently and resumably; official SQuAD Exact Match and F1.
8. **compare_models** – `metrics.json` with paired differences and bootstrap 95 % intervals.
9. **decide_promotion** → **promote_champion** | **keep_champion** – the tuned endpoint becomes the
   champion only when it beats the base model and the current champion by `promotion_min_f1_gain` F1
   points (and, with `promotion_require_significance`, beyond noise). Emits `gemini_squad_champion`.
10. **summarize_run** – `runs/<run id>/summary.json`: what this run did and where its artifacts are.

Artifacts live under the `gcs_prefix` Param. Offline (`make demo`, `make airflow`), the same code talks
to local emulators; choose `sample` as `source_kind` there.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import Asset, Param, dag, task

from gemini_qa_tuning.dataset.settings import SOURCE_KINDS, VERTEX_MAX_EXAMPLE_TOKENS, VERTEX_MAX_VALIDATION_EXAMPLES
from gemini_qa_tuning.operators.tuning import LaunchTuningJobOperator
from gemini_qa_tuning.sensors.tuning import TuningJobSensor
from gemini_qa_tuning.tuning import (
    ADAPTER_SIZES,
    DEFAULT_BASE_MODEL,
    MAX_EPOCHS,
    MAX_LEARNING_RATE_MULTIPLIER,
    TUNABLE_BASE_MODELS,
)

# Branch targets.
LAUNCH_TASK_ID = "launch_tuning_job"
SKIP_TASK_ID = "skip_tuning"
PROMOTE_TASK_ID = "promote_champion"
KEEP_TASK_ID = "keep_champion"

TUNED_ENDPOINT = "{{ ti.xcom_pull(task_ids='wait_for_tuning_job')['endpoint'] }}"

# Assets are named, not addressed: where the data lands depends on the gcs_prefix Param, so each
# event's extra carries the real URI. (A gs:// asset URI would also load the Google provider's GCS
# hook while the DAG file is parsed.)
# Each export of a dataset; the extra holds the fingerprinted dataset URI.
TUNING_DATASET = Asset(name="gemini_squad_tuning_dataset")
# Each promotion; the extra names the model that serves now.
SERVING_CHAMPION = Asset(name="gemini_squad_champion")

PARAMS = {
    # --- where things are
    "gcs_prefix": Param(
        "gs://gemini-qa-tuning/gemini-squad",
        type="string",
        pattern=r"^(gs://[a-z0-9._-]+(/.*)?|file://.+|/.+)$",
        description="Where every artifact goes: datasets/<fingerprint>/, runs/<run id>/, champion/. Vertex reads "
        "the tuning files from Cloud Storage, so a local path only serves dry runs and tests.",
    ),
    "gcp_conn_id": Param(
        "google_cloud_default", type="string", description="Airflow Google Cloud connection for Vertex AI."
    ),
    # --- dataset refresh
    "source_kind": Param(
        "huggingface",
        type="string",
        enum=sorted(SOURCE_KINDS),
        description="huggingface: a Hub dataset (needs network); squad_json / jsonl: a file (gs:// or local); "
        "sample: the small SQuAD-format sample shipped with the library (offline demo).",
    ),
    "source_uri": Param(
        "",
        type="string",
        description="Hub dataset name (empty: rajpurkar/squad) or a save_to_disk folder for huggingface; "
        "the gs:// or local path of the training file for squad_json / jsonl. Ignored for 'sample'.",
    ),
    "test_source_uri": Param(
        None,
        type=["null", "string"],
        description="Held-out source that becomes the test split (for huggingface: the split name, default "
        "'validation'). 'none' or empty for files: split the one source three ways by article.",
    ),
    "max_train_examples": Param(
        None, type=["null", "integer"], minimum=1, description="Seeded sample of training examples (empty: all)."
    ),
    "max_validation_examples": Param(
        VERTEX_MAX_VALIDATION_EXAMPLES,
        type="integer",
        minimum=0,
        maximum=VERTEX_MAX_VALIDATION_EXAMPLES,
        description=f"Validation cap (Vertex allows {VERTEX_MAX_VALIDATION_EXAMPLES:,}).",
    ),
    "max_test_examples": Param(
        1000,
        type=["null", "integer"],
        minimum=1,
        description="Seeded sample of test questions each model answers (each one is a paid request).",
    ),
    "validation_fraction": Param(
        0.1, type="number", minimum=0, maximum=0.5, description="Share of training articles held for validation."
    ),
    "test_fraction": Param(
        0.1,
        type="number",
        minimum=0,
        maximum=0.5,
        description="Share of articles held out for test when the source has no held-out part.",
    ),
    "seed": Param(0, type="integer", description="Seed for the article split and the samples."),
    "group_by": Param(
        "title",
        type="string",
        enum=["title", "context"],
        description="Unit that never crosses splits: whole articles (title) or single paragraphs (context).",
    ),
    "max_prompt_tokens": Param(
        VERTEX_MAX_EXAMPLE_TOKENS,
        type="integer",
        minimum=256,
        description=f"Per-example token limit (Vertex: {VERTEX_MAX_EXAMPLE_TOKENS:,} for gemini-2.5-flash), "
        "estimated at 4 characters per token.",
    ),
    "max_reject_share": Param(
        0.05, type="number", minimum=0, maximum=1, description="Fail the refresh when more records are rejected."
    ),
    # --- tuning
    "base_model": Param(
        DEFAULT_BASE_MODEL,
        type="string",
        description="Gemini model to tune and to compare against. A tuned model retires with its base. "
        f"Tunable: {', '.join(TUNABLE_BASE_MODELS)}.",
    ),
    "epochs": Param(3, type="integer", minimum=1, maximum=MAX_EPOCHS, description="Passes over the training data."),
    "adapter_size": Param(
        4,
        type="integer",
        enum=sorted(ADAPTER_SIZES),
        description="LoRA adapter size (supported sizes vary by model).",
    ),
    "learning_rate_multiplier": Param(
        1.0,
        type="number",
        exclusiveMinimum=0,
        maximum=MAX_LEARNING_RATE_MULTIPLIER,
        description="Scales Vertex's recommended learning rate.",
    ),
    "tuned_model_display_name": Param(
        "gemini-squad", type="string", description="Display name of the tuned model; the run date is appended."
    ),
    "price_per_million_training_tokens": Param(
        None,
        type=["null", "number"],
        minimum=0,
        description="USD per million training tokens (tokens × epochs) for the cost estimate and budget. "
        "Empty: the list price of base_model known to the library.",
    ),
    "max_training_cost": Param(
        None,
        type=["null", "number"],
        minimum=0,
        description="Stop before launching when the estimated tuning cost (USD) is above this. Empty: no limit.",
    ),
    "force_retrain": Param(
        False,
        type="boolean",
        description="Tune even when this exact data was already tuned on (the skip looks at the data only: "
        "new epochs or adapter size on unchanged data need force_retrain).",
    ),
    "dry_run": Param(
        False, type="boolean", description="Validate and log the tuning request, create nothing, spend nothing."
    ),
    "poll_interval_seconds": Param(
        60, type="integer", minimum=1, description="How often the triggerer reads the tuning job's state."
    ),
    # --- evaluation
    "eval_concurrency": Param(8, type="integer", minimum=1, maximum=64, description="Requests in flight per model."),
    "eval_requests_per_minute": Param(
        None, type=["null", "integer"], minimum=1, description="Pace requests to this quota (empty: no pacing)."
    ),
    "eval_max_output_tokens": Param(64, type="integer", minimum=1, description="Answer length cap in tokens."),
    "promotion_min_f1_gain": Param(
        1.0,
        type="number",
        minimum=0,
        maximum=100,
        description="F1 points the tuned model must gain over the base model and over the champion.",
    ),
    "promotion_require_significance": Param(
        True,
        type="boolean",
        description="Also require the bootstrap 95 % interval of each F1 gain to lie above zero.",
    ),
    "eval_max_error_share": Param(
        0.02, type="number", minimum=0, maximum=1, description="Fail evaluation when more questions end in error."
    ),
}


@dag(
    dag_id="gemini_squad_tuning",
    schedule="0 2 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["gemini", "vertex-ai", "tuning", "squad"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2), "retry_exponential_backoff": True},
    params=PARAMS,
    doc_md=__doc__,
    render_template_as_native_obj=True,
)
def gemini_squad_tuning() -> None:
    @task
    def refresh_dataset(params: dict[str, Any], run_id: str) -> dict[str, Any]:
        """Load, clean, deduplicate, validate and split; stage the splits and the rejects."""
        from gemini_qa_tuning.operators.pipeline_steps import run_dataset_refresh

        return run_dataset_refresh(params, run_id)

    @task(outlets=[TUNING_DATASET], multiple_outputs=True)
    def export_dataset(refreshed: dict[str, Any], params: dict[str, Any], outlet_events: Any) -> dict[str, Any]:
        """Write the tuning files and the manifest under datasets/<fingerprint>/."""
        from gemini_qa_tuning.operators.pipeline_steps import run_dataset_export

        exported = run_dataset_export(refreshed, params)
        outlet_events[TUNING_DATASET].extra = {"uri": exported["dataset_uri"], "fingerprint": exported["fingerprint"]}
        return exported

    @task
    def find_champion(params: dict[str, Any]) -> dict[str, Any] | None:
        """The model that serves now (and the record's generation), or None before the first promotion."""
        from gemini_qa_tuning.operators.pipeline_steps import read_current_champion

        return read_current_champion(params)

    @task.branch
    def plan_tuning(exported: dict[str, Any], champion: dict[str, Any] | None, params: dict[str, Any], ti: Any) -> str:
        """Launch, or skip when the data is unchanged; fail before launch when over budget."""
        from gemini_qa_tuning.operators.pipeline_steps import plan_tuning_run

        plan = plan_tuning_run(exported, champion, params)
        ti.xcom_push(key="plan", value=plan)
        return LAUNCH_TASK_ID if plan["launch"] else SKIP_TASK_ID

    launch = LaunchTuningJobOperator(
        task_id=LAUNCH_TASK_ID,
        training_uri="{{ ti.xcom_pull(task_ids='export_dataset', key='train_uri') }}",
        validation_uri="{{ ti.xcom_pull(task_ids='export_dataset', key='validation_uri') }}",
        dataset_fingerprint="{{ ti.xcom_pull(task_ids='export_dataset', key='fingerprint') }}",
        base_model="{{ params.base_model }}",
        epochs="{{ params.epochs }}",
        adapter_size="{{ params.adapter_size }}",
        learning_rate_multiplier="{{ params.learning_rate_multiplier }}",
        tuned_model_display_name="{{ params.tuned_model_display_name }}-{{ dag_run.run_after.strftime('%Y%m%d') }}",
        description="SQuAD extractive QA, dataset {{ ti.xcom_pull(task_ids='export_dataset', key='fingerprint') }}",
        price_per_million_tokens="{{ params.price_per_million_training_tokens }}",
        dry_run="{{ params.dry_run }}",
        gcp_conn_id="{{ params.gcp_conn_id }}",
    )

    wait = TuningJobSensor(
        task_id="wait_for_tuning_job",
        job_name="{{ ti.xcom_pull(task_ids='launch_tuning_job')['job_name'] }}",
        price_per_million_tokens="{{ params.price_per_million_training_tokens }}",
        poll_interval="{{ params.poll_interval_seconds }}",
        gcp_conn_id="{{ params.gcp_conn_id }}",
        timeout=timedelta(hours=24),
    )

    @task
    def evaluate_model(
        role: str,
        model: str | None,
        test_uri: str,
        params: dict[str, Any],
        run_id: str,
        evaluated_elsewhere: list[str] | None = None,
    ) -> dict[str, Any]:
        """Ask one model every test question (resumable) and score it with SQuAD EM/F1.

        Skipped when there is no such model, or it is one of ``evaluated_elsewhere``.
        """
        from gemini_qa_tuning.operators.pipeline_steps import run_model_evaluation

        return run_model_evaluation(role, model, test_uri, params, run_id, evaluated_elsewhere or [])

    @task(trigger_rule="none_failed_min_one_success")
    def compare_models(
        base: dict[str, Any], tuned: dict[str, Any], champion: dict[str, Any] | None, params: dict, run_id: str
    ) -> dict[str, Any]:
        """metrics.json: per-model scores and paired differences with bootstrap 95 % intervals."""
        from gemini_qa_tuning.operators.pipeline_steps import run_model_comparison

        return run_model_comparison(base, tuned, champion, params, run_id)

    @task.branch
    def decide_promotion(comparison: dict[str, Any], params: dict[str, Any], ti: Any) -> str:
        """Promote only when the tuned model beats the base and the champion by the margin, beyond noise."""
        from gemini_qa_tuning.operators.pipeline_steps import judge_promotion

        decision = judge_promotion(comparison, params)
        ti.xcom_push(key="decision", value=decision)
        return PROMOTE_TASK_ID if decision["promote"] else KEEP_TASK_ID

    @task(task_id=PROMOTE_TASK_ID, outlets=[SERVING_CHAMPION])
    def promote_champion(
        exported: dict[str, Any],
        tuned: dict[str, Any],
        comparison: dict[str, Any],
        champion: dict[str, Any] | None,
        params: dict[str, Any],
        run_id: str,
        outlet_events: Any,
    ) -> dict[str, Any]:
        """Make the tuned endpoint the champion (only if the champion did not change during this run)."""
        from gemini_qa_tuning.operators.pipeline_steps import promote_tuned_model

        promoted = promote_tuned_model(exported, tuned, comparison, champion, params, run_id)
        outlet_events[SERVING_CHAMPION].extra = {"model": promoted["model"], "run_id": run_id}
        return promoted

    @task(trigger_rule="none_failed")
    def summarize_run(params: dict[str, Any], run_id: str, ti: Any) -> dict[str, Any]:
        """Write runs/<run id>/summary.json from what the run's tasks returned."""
        from gemini_qa_tuning.operators.pipeline_steps import write_pipeline_summary

        return write_pipeline_summary(params, run_id, ti)

    refreshed = refresh_dataset()
    exported = export_dataset(refreshed)
    champion = find_champion()
    plan = plan_tuning(exported, champion)
    skip = EmptyOperator(task_id=SKIP_TASK_ID)
    base_eval = evaluate_model.override(task_id="evaluate_base")(
        "base", "{{ params.base_model }}", exported["test_uri"]
    )
    tuned_eval = evaluate_model.override(task_id="evaluate_tuned")("tuned", TUNED_ENDPOINT, exported["test_uri"])
    champion_eval = evaluate_model.override(task_id="evaluate_champion")(
        "champion",
        "{{ (ti.xcom_pull(task_ids='find_champion') or {}).get('model') }}",
        exported["test_uri"],
        evaluated_elsewhere=["{{ params.base_model }}", TUNED_ENDPOINT],
    )
    comparison = compare_models(base_eval, tuned_eval, champion_eval)
    promotion = decide_promotion(comparison)
    promote = promote_champion(exported, wait.output, comparison, champion)
    keep = EmptyOperator(task_id=KEEP_TASK_ID)
    summary = summarize_run()

    plan >> [launch, skip]
    # After a dry run the launch returns no job name and the sensor skips the rest of the branch.
    launch >> wait >> [base_eval, tuned_eval, champion_eval]
    promotion >> [promote, keep]
    [promote, keep, skip] >> summary


gemini_squad_tuning()
