"""
## Gemini SQuAD tuning

Every night (and whenever you press *Trigger*), tune Gemini for extractive question answering on
Vertex AI and measure it against the base model and the current champion.

1. **check_params** – the run's Params as one typed record; a misspelt key in the run's `conf` fails
   here, naming the closest Param, before anything is read or paid for.
2. **refresh_dataset** – load the source (Hugging Face `datasets`, SQuAD JSON or JSONL; `gs://` or
   local), clean whitespace, normalize target answers, drop duplicate (question, context) pairs,
   validate every record (rejects kept with their reason), split by article: no test context is
   ever seen in training. A test split smaller than `promotion_min_test_questions` stops the run here,
   before anything is paid: a tuned model that cannot be judged is money spent for nothing.
3. **export_dataset** – `train/validation.jsonl` (Gemini tuning format), `test.jsonl` (all reference
   answers), `rejects.jsonl` and `manifest.json` under `datasets/<fingerprint>/`; identical data
   rewrites nothing. Emits the `gemini_squad_tuning_dataset` asset.
4. **find_champion** – read the champion record (what serves now).
5. **plan_tuning** → **choose_tuning_path** – keyed by dataset fingerprint + tuning config: skip when
   that model was tuned and judged (its verdict is under `verdicts/`); when it was tuned (or is still
   tuning) but never judged, go through the launch, which reuses that job, and judge it; else launch.
   `tune_from` continues the champion; `rebase_on_retirement` retunes on a retiring base's successor.
   Stop before launch when the cost estimate exceeds `max_training_cost`.
6. **launch_tuning_job** – one Vertex LoRA tuning job per dataset fingerprint + tuning config + pipeline:
   a retry finds the job it already paid for. Extra link: *Vertex AI tuning job*. `dry_run` creates nothing.
7. **wait_for_tuning_job** – deferred to the triggerer: no worker slot is held while Vertex trains. A job
   still unfinished after `tuning_timeout_hours` is cancelled, so it never holds the next night's run.
   Then **select_checkpoint**: every checkpoint the job exported answers a seeded sample of
   `checkpoint_eval_questions` **validation** questions; the best by F1 (a tie: the later one) becomes the
   model's default checkpoint, so the tuned endpoint serves it. The test split never chooses. A no-op with
   one checkpoint (`export_last_checkpoint_only`).
8. **evaluate_base / evaluate_tuned / evaluate_champion** – the same held-out questions to each
   model, concurrently and resumably; official SQuAD Exact Match and F1. With `eval_mode` batch (or auto
   from `batch_min_questions` questions) each model is one Vertex batch prediction job at half price,
   waited for in the triggerer, scored the same way.
9. **compare_models** – `metrics.json` with paired differences and bootstrap 95 % intervals.
10. **decide_promotion** → **choose_promotion_path** → **promote_champion** | **keep_champion** – the tuned
    endpoint becomes the champion only when it beats the base model and the current champion by
    `promotion_min_f1_gain` F1 points (and, with `promotion_require_significance`, beyond noise). Emits
    `gemini_squad_champion`. **record_verdict** then keeps the judgement (promoted or rejected, with
    its numbers) under `verdicts/<fingerprint>-<config hash>.json`.
11. **clean_up_models** – with `delete_losing_models`: delete this pipeline's tuned models that lost,
    keeping the newest `keep_last_models`; never the champion's model or one in the champion history.
12. **summarize_run** – `runs/<run id>/summary.json`: what this run did and where its artifacts are. Logs
    the outcome in one line ("promoted: F1 +… (95 % CI …)", "kept champion: …", "skipped: …"), writes it
    as the run's note (with `run_note_conn_id`) and sends the promotion and retirement-warning notifications.

A failed run sends the failure notification. Each channel is a connection id Param (`notify_smtp_conn_id`
with `notify_email_to`, `notify_slack_webhook_conn_id`); empty, the messages are only logged. The run's
*Results* tab (plugin `gemini_qa_results`) shows the decision, the scores and links to the artifacts.
The graph groups the tasks by stage (dataset, tuning, evaluation, promotion, report; the task ids keep
no group prefix). Extra links open the artifacts from the tasks that leave them: *Dataset folder*
(export_dataset), *Tuned model* and *Endpoint* (wait_for_tuning_job), *metrics.json* (compare_models),
*Run report* (summarize_run); offline they open the emulators' objects and resources.

Artifacts live under the `gcs_prefix` Param. Offline (`make demo`, `make airflow`), the same code talks
to local emulators; choose `sample` as `source_kind` there.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, TypeAlias

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import Asset, Param, TaskGroup, XComArg, dag, get_current_context, task

from gemini_qa_tuning.dataset.settings import SOURCE_KINDS, VERTEX_MAX_VALIDATION_EXAMPLES
from gemini_qa_tuning.links.artifacts import (
    DatasetFolderLink,
    EndpointLink,
    MetricsLink,
    RunReportLink,
    TunedModelLink,
    add_links,
)
from gemini_qa_tuning.operators.evaluation import EvaluateModelOperator
from gemini_qa_tuning.operators.tuning import TUNING_JOB_NAME_XCOM_KEY, LaunchTuningJobOperator
from gemini_qa_tuning.pipeline.params import PipelineParams
from gemini_qa_tuning.pipeline.shared_params import storage_and_identity_params
from gemini_qa_tuning.sensors.tuning import TuningJobSensor
from gemini_qa_tuning.tuning import ADAPTER_SIZES, MAX_EPOCHS, MAX_LEARNING_RATE_MULTIPLIER, TUNABLE_BASE_MODELS

DAG_ID = "gemini_squad_tuning"
logger = logging.getLogger(__name__)


def notify_failure(context: Any) -> None:
    """The failure notification on the run's channels; imported when a run fails, not when parsing."""
    from gemini_qa_tuning.pipeline import notify

    notify.notify_failure(context)


# Branch targets.
LAUNCH_TASK_ID = "launch_tuning_job"
SKIP_TASK_ID = "skip_tuning"
PROMOTE_TASK_ID = "promote_champion"
KEEP_TASK_ID = "keep_champion"
# Tasks whose results later tasks read only when they ran (pipeline.task_results.optional_result).
WAIT_TASK_ID = "wait_for_tuning_job"
BASE_EVAL_TASK_ID = "evaluate_base"
TUNED_EVAL_TASK_ID = "evaluate_tuned"
CHAMPION_EVAL_TASK_ID = "evaluate_champion"
COMPARE_TASK_ID = "compare_models"
DECIDE_TASK_ID = "decide_promotion"
SELECT_CHECKPOINT_TASK_ID = "select_checkpoint"

# Assets are named, not addressed: where the data lands depends on the gcs_prefix Param, so each
# event's extra carries the real URI. (A gs:// asset URI would also load the Google provider's GCS
# hook while the DAG file is parsed.)
# Each export of a dataset; the extra holds the fingerprinted dataset URI.
TUNING_DATASET = Asset(name="gemini_squad_tuning_dataset")
# Each promotion; the extra names the model that serves now.
SERVING_CHAMPION = Asset(name="gemini_squad_champion")

# The pipeline's stages, one task group each (its tooltip): the graph reads as the architecture's stages.
STAGES = {
    "dataset": "Check the Params; load, clean, split and export the data",
    "tuning": "Plan, launch and wait for the tuning job; pick its best checkpoint",
    "evaluation": "The same test questions to base, tuned and champion; compare",
    "promotion": "Decide; promote or keep the champion; record the verdict; delete losing models",
    "report": "Summary, report, run note and notifications",
}


def stage(group_id: str) -> TaskGroup:
    """A stage's task group; prefix_group_id=False keeps the task ids (the plugin, the demo and
    optional_result read them)."""
    return TaskGroup(group_id, prefix_group_id=False, tooltip=STAGES[group_id])


# The docs of the two operator tasks (the TaskFlow tasks' docs are their docstrings).
LAUNCH_DOC = """Create the Vertex AI LoRA tuning job, or find the one this data, config and pipeline paid for.

Reads `train.jsonl` / `validation.jsonl` of `datasets/<fingerprint>/` and the plan; creates one tuning job
(labelled with the fingerprint and config hash) and returns its name. Extra link: *Vertex AI tuning job*.
With `dry_run` it validates and logs the request and creates nothing; skipped when the plan skips tuning.
"""
WAIT_DOC = """Wait for the tuning job, deferred to the triggerer (no worker slot is held while Vertex trains).

Reads the job's state every `poll_interval_seconds`; returns the tuned model, its endpoint and checkpoints.
Cancels the job after `tuning_timeout_hours`. Skips after a dry run (no job) and when tuning was skipped.
"""

BASE_EVAL_DOC = """Ask the base model every test question (resumable) and score it with SQuAD EM/F1.

Reads `test.jsonl`; writes the answers under `runs/<run id>/evaluation/base/`. With `eval_mode` batch (or
auto at `batch_min_questions` or more) it submits one Vertex batch prediction job, waits for it in the
triggerer and scores its output like online answers. Skips with the tuning branch (tuning skipped, or a dry
run).
"""
TUNED_EVAL_DOC = """Ask the tuned model every test question (resumable) and score it with SQuAD EM/F1.

Reads `test.jsonl` and the tuned model (its endpoint online, its model resource in a batch job); writes the
answers under `runs/<run id>/evaluation/tuned/`. Runs after `select_checkpoint`, so it asks the chosen
checkpoint. Skips with the tuning branch.
"""
CHAMPION_EVAL_DOC = """Ask the champion every test question, online or in one batch job like the others.

Reads `test.jsonl` and the champion's record; writes the answers under `runs/<run id>/evaluation/champion/`.
Skipped without a champion, or when the champion is the base or the tuned model.
"""

# The JSON form of a contracts record, as XCom carries it. Typed Any: in the DAG body a TaskFlow call
# takes the upstream task's XComArg in its place, and each task converts it to its record at once.
Payload: TypeAlias = Any
# The default of a parameter Airflow fills from the task's context (params, run_id, outlet_events).
FROM_CONTEXT: Any = None

# The defaults live in one place, the typed record every task receives.
DEFAULT = PipelineParams()

PARAMS = {
    # --- source
    "source_kind": Param(
        DEFAULT.source_kind,
        type="string",
        enum=list(SOURCE_KINDS),
        title="Source kind",
        section="Source",
        values_display={
            "sample": "Packaged sample (offline demo)",
            "squad_json": "SQuAD JSON file",
            "jsonl": "JSONL file",
            "huggingface": "Hugging Face dataset",
        },
        description="huggingface: a Hub dataset (needs network); squad_json / jsonl: a file (gs:// or local); "
        "sample: the small SQuAD-format sample shipped with the library (offline demo).",
    ),
    "source_uri": Param(
        DEFAULT.source_uri,
        type=["null", "string"],
        title="Source URI",
        section="Source",
        description="Hub dataset name (empty: rajpurkar/squad) or a save_to_disk folder for huggingface; "
        "the gs:// or local path of the training file for squad_json / jsonl. Ignored for 'sample'.",
    ),
    "test_source_uri": Param(
        DEFAULT.test_source_uri,
        type=["null", "string"],
        title="Held-out test source",
        section="Source",
        description="Held-out source that becomes the test split (for huggingface: the split name, default "
        "'validation'). 'none' or empty for files: split the one source three ways by article.",
    ),
    # --- split
    "max_train_examples": Param(
        DEFAULT.max_train_examples,
        type=["null", "integer"],
        minimum=1,
        title="Training examples (cap)",
        section="Split",
        description="Seeded sample of training examples; at least 1 (empty: all, up to Vertex's 1,000,000).",
    ),
    "max_validation_examples": Param(
        DEFAULT.max_validation_examples,
        type="integer",
        minimum=0,
        maximum=VERTEX_MAX_VALIDATION_EXAMPLES,
        title="Validation examples (cap)",
        section="Split",
        description=f"Validation cap, 0 to {VERTEX_MAX_VALIDATION_EXAMPLES:,} (Vertex's limit).",
    ),
    "max_test_examples": Param(
        DEFAULT.max_test_examples,
        type=["null", "integer"],
        minimum=1,
        title="Test questions (cap)",
        section="Split",
        description="Seeded sample of test questions each model answers, at least 1 (each is a paid request; "
        "empty: all).",
    ),
    "validation_fraction": Param(
        DEFAULT.validation_fraction,
        type="number",
        minimum=0,
        maximum=0.5,
        title="Validation share",
        section="Split",
        description="Share of training articles held for validation, 0 to 0.5.",
    ),
    "test_fraction": Param(
        DEFAULT.test_fraction,
        type="number",
        minimum=0,
        maximum=0.5,
        title="Test share",
        section="Split",
        description="Share of articles held out for test when the source has no held-out part, 0 to 0.5.",
    ),
    "seed": Param(
        DEFAULT.seed, type="integer", title="Seed", section="Split", description="Seed for the split and samples."
    ),
    "group_by": Param(
        DEFAULT.group_by,
        type="string",
        enum=["title", "context"],
        title="Unit that never crosses splits",
        section="Split",
        values_display={"title": "Whole articles (title)", "context": "Single paragraphs (context)"},
        description="Unit that never crosses splits: whole articles (title) or single paragraphs (context).",
    ),
    # --- tuning
    "base_model": Param(
        DEFAULT.base_model,
        type="string",
        examples=list(TUNABLE_BASE_MODELS),  # the form offers them; another catalog's models can be typed
        title="Base model",
        section="Tuning",
        description="Gemini model to tune and to compare against. A tuned model retires with its base; a "
        "retired model, one in its blocked month before retirement or one the catalog does not know fails the "
        f"run before anything is paid. Tunable: {', '.join(TUNABLE_BASE_MODELS)}.",
    ),
    "epochs": Param(
        DEFAULT.epochs,
        type="integer",
        minimum=1,
        maximum=MAX_EPOCHS,
        title="Epochs",
        section="Tuning",
        description=f"Passes over the training data, 1 to {MAX_EPOCHS}.",
    ),
    "adapter_size": Param(
        DEFAULT.adapter_size,
        type="integer",
        enum=sorted(ADAPTER_SIZES),
        title="LoRA adapter size",
        section="Tuning",
        description="LoRA adapter size (supported sizes vary by model).",
    ),
    "learning_rate_multiplier": Param(
        DEFAULT.learning_rate_multiplier,
        type="number",
        exclusiveMinimum=0,
        maximum=MAX_LEARNING_RATE_MULTIPLIER,
        title="Learning-rate multiplier",
        section="Tuning",
        description=f"Scales Vertex's recommended learning rate; above 0, at most {MAX_LEARNING_RATE_MULTIPLIER:g}.",
    ),
    "tuned_model_display_name": Param(
        DEFAULT.tuned_model_display_name,
        type="string",
        minLength=1,
        title="Tuned model name",
        section="Tuning",
        description="Display name of the tuned model; the run date is appended.",
    ),
    "force_retrain": Param(
        DEFAULT.force_retrain,
        type="boolean",
        title="Tune even on unchanged data",
        section="Tuning",
        description="Judge again although this data and tuning config were tuned and judged. The skip is keyed "
        "by data and tuning config, so new epochs, adapter size, learning rate, base model or tune_from tune "
        "anew without it; with unchanged settings the launch reuses the job already paid for.",
    ),
    # --- where a tuning job starts (tuning.lineage)
    "tune_from": Param(
        DEFAULT.tune_from,
        type="string",
        enum=["base", "champion"],
        title="Tune from",
        section="Tuning",
        values_display={"base": "The base model", "champion": "The champion's tuned model (continuous tuning)"},
        description="base: tune base_model afresh. champion: continue the champion's tuned model on the new data "
        "(Vertex continuous tuning); without a tuned champion the run tunes the base and warns. Compared against "
        "the base model and the champion either way.",
    ),
    "rebase_on_retirement": Param(
        DEFAULT.rebase_on_retirement,
        type="string",
        enum=["off", "warn", "retune"],
        title="When the champion's base retires",
        section="Tuning",
        values_display={
            "off": "Nothing (the run summary still warns)",
            "warn": "Warn, naming the successor",
            "retune": "Tune a fresh model on the successor",
        },
        description="When the champion's base model retires within 60 days: retune tunes a fresh model on the "
        "catalog's successor (if this run's base_model is the retiring one) and judges it like any challenger.",
    ),
    # --- budget
    "price_per_million_training_tokens": Param(
        DEFAULT.price_per_million_training_tokens,
        type=["null", "number"],
        minimum=0,
        title="Price per million training tokens (USD)",
        section="Budget",
        description="USD per million training tokens (tokens × epochs) for the cost estimate and budget, at "
        "least 0. Empty: the list price of base_model known to the library.",
    ),
    "max_training_cost": Param(
        DEFAULT.max_training_cost,
        type=["null", "number"],
        minimum=0,
        title="Budget per tuning job (USD)",
        section="Budget",
        description="Stop before launching when the estimated tuning cost (USD) is above this, at least 0. "
        "Empty: no limit.",
    ),
    "dry_run": Param(
        DEFAULT.dry_run,
        type="boolean",
        title="Dry run",
        section="Budget",
        description="Validate and log the tuning request, create nothing, spend nothing.",
    ),
    # --- evaluation
    "eval_concurrency": Param(
        DEFAULT.eval_concurrency,
        type="integer",
        minimum=1,
        maximum=64,
        title="Requests in flight",
        section="Evaluation",
        description="Requests in flight per model, 1 to 64.",
    ),
    "eval_requests_per_minute": Param(
        DEFAULT.eval_requests_per_minute,
        type=["null", "integer"],
        minimum=1,
        title="Requests per minute",
        section="Evaluation",
        description="Optional ceiling on requests per minute, at least 1 (empty: the rate is found from the 429s).",
    ),
    "eval_max_output_tokens": Param(
        DEFAULT.eval_max_output_tokens,
        type="integer",
        minimum=1,
        title="Answer length cap (tokens)",
        section="Evaluation",
        description=(
            "Answer length cap in tokens, at least 1. Each request's maxOutputTokens adds the thinking "
            "tokens reserved for the chosen thinking (see Thinking while answering), so thoughts never eat the answer."
        ),
    ),
    "eval_max_error_share": Param(
        DEFAULT.eval_max_error_share,
        type="number",
        minimum=0,
        maximum=1,
        title="Tolerated share of failed questions",
        section="Evaluation",
        description="Fail evaluation when a larger share of questions ends in error, 0 to 1.",
    ),
    "eval_thinking": Param(
        DEFAULT.eval_thinking,
        type=["null", "string"],
        title="Thinking while answering",
        section="Evaluation",
        description=(
            "auto (or empty): thinking off where the model allows it, else its minimum (lowest level, e.g. "
            "MINIMAL, or smallest budget), from the model catalog; a tuned model uses its base model's facts. "
            "Or a level (MINIMAL, LOW, MEDIUM, HIGH) or a budget in tokens (0 = off, else within the model's range)."
        ),
    ),
    "eval_max_empty_share": Param(
        DEFAULT.eval_max_empty_share,
        type="number",
        minimum=0,
        maximum=1,
        title="Tolerated share of empty or cut-off answers",
        section="Evaluation",
        description=(
            "Fail evaluation, 0 to 1, when a larger share of answers comes back empty or cut off at the output cap "
            "(MAX_TOKENS): raise the answer length cap or lower the thinking then."
        ),
    ),
    # --- batch evaluation (issue 13)
    "eval_mode": Param(
        DEFAULT.eval_mode,
        type="string",
        enum=["online", "batch", "auto"],
        title="Evaluation mode",
        section="Evaluation",
        description=(
            "online: one request per question (quota-paced). batch: one Vertex batch prediction job per model, "
            "at half the online price, waited for in the triggerer (no worker slot). auto: batch from "
            "batch_min_questions test questions on, online below."
        ),
    ),
    "batch_min_questions": Param(
        DEFAULT.batch_min_questions,
        type="integer",
        minimum=1,
        title="Batch from this many questions (auto)",
        section="Evaluation",
        description="With eval_mode auto: evaluate in batch when the test set has at least this many questions "
        "(at least 1); below it, online.",
    ),
    # --- best checkpoint
    "checkpoint_eval_questions": Param(
        DEFAULT.checkpoint_eval_questions,
        type="integer",
        minimum=0,
        title="Validation questions per checkpoint",
        section="Tuning",
        description="Each checkpoint the tuning job exported answers this many validation questions (a seeded "
        "sample; each is a paid request), at least 0; the best by F1 (a tie: the later one) becomes the model's "
        "default checkpoint and goes on to the test set. 0: no selection, the last checkpoint is kept.",
    ),
    "export_last_checkpoint_only": Param(
        DEFAULT.export_last_checkpoint_only,
        type="boolean",
        title="Export only the last checkpoint",
        section="Tuning",
        description="Ask Vertex to keep only the final checkpoint instead of about one per epoch: nothing to "
        "choose, no validation requests spent.",
    ),
    # --- promotion
    "promotion_min_f1_gain": Param(
        DEFAULT.promotion_min_f1_gain,
        type="number",
        minimum=0,
        maximum=100,
        title="Required F1 gain (points)",
        section="Promotion",
        description="F1 points (0 to 100) the tuned model must gain over the base model and over the champion.",
    ),
    "promotion_require_significance": Param(
        DEFAULT.promotion_require_significance,
        type="boolean",
        title="Require the gain to be beyond noise",
        section="Promotion",
        description="Also require the bootstrap 95 % interval of each F1 gain to lie above zero.",
    ),
    "promotion_min_test_questions": Param(
        DEFAULT.promotion_min_test_questions,
        type="integer",
        minimum=1,
        title="Test questions a promotion needs",
        section="Promotion",
        description="The smallest number of test questions a promotion may rest on, at least 1 (on a handful "
        "of questions noise looks like a gain). A test split smaller than this stops the run at the refresh, "
        "before anything is paid.",
    ),
    # --- Model Registry alias and clean-up
    "champion_alias": Param(
        DEFAULT.champion_alias,
        type="string",
        pattern=r"^[a-z][a-zA-Z0-9-]{0,126}[a-z0-9-]$",
        title="Champion version alias",
        section="Promotion",
        description="Model Registry version alias the promoted model version gets (moved off the previous "
        "champion's version), so serving can ask for models/M@<alias>. At most 128 characters, a lowercase "
        "letter first; 'default' is reserved by Vertex AI.",
    ),
    "delete_losing_models": Param(
        DEFAULT.delete_losing_models,
        type="boolean",
        title="Delete tuned models that lost",
        section="Promotion",
        description="After the promotion decision, delete this pipeline's tuned models that lost, keeping the "
        "newest keep_last_models of them; never the champion nor a model in the champion history.",
    ),
    "keep_last_models": Param(
        DEFAULT.keep_last_models,
        type="integer",
        minimum=0,
        title="Losing models to keep",
        section="Promotion",
        description="With delete_losing_models: how many of the newest losing tuned models to keep, at least 0.",
    ),
    # --- notifications: failure, promotion, retirement warning (empty: only logged)
    "notify_smtp_conn_id": Param(
        DEFAULT.notify_smtp_conn_id,
        type=["null", "string"],
        title="Mail connection",
        section="Notifications",
        description="Airflow SMTP connection for the failure, promotion and retirement-warning mails "
        "(sent to notify_email_to). Empty: the messages are only logged. A mail that cannot be sent never "
        "fails the run.",
    ),
    "notify_email_to": Param(
        None,
        type=["null", "array"],
        items={"type": "string"},
        title="Mail recipients",
        section="Notifications",
        description="Addresses the notification mails go to (one per line); needs notify_smtp_conn_id.",
    ),
    "run_note_conn_id": Param(
        DEFAULT.run_note_conn_id,
        type=["null", "string"],
        title="Airflow API connection (run note)",
        section="Notifications",
        description="HTTP connection to this Airflow's REST API (host: the api-server URL; login and password of a "
        "user who may edit DAG runs, none where everyone is an admin): the run's note then says what it did "
        "('promoted: F1 +14.9 …', 'kept champion: …', 'skipped: …'). Empty: the outcome is only logged.",
    ),
    "notify_slack_webhook_conn_id": Param(
        DEFAULT.notify_slack_webhook_conn_id,
        type=["null", "string"],
        title="Slack webhook connection",
        section="Notifications",
        description="Airflow Slack incoming-webhook connection for the same messages. Empty: only logged.",
    ),
    # --- advanced
    **storage_and_identity_params(
        gcs_prefix="Where every artifact goes (gs://bucket/path, file:///path or /path): datasets/<fingerprint>/, "
        "runs/<run id>/, champion/. Vertex reads the tuning files from Cloud Storage, so a local path only "
        "serves dry runs and tests.",
        gcp_conn_id="Airflow Google Cloud connection for Vertex AI and Cloud Storage (one identity for both).",
        impersonation_chain="Optional service account (or chain, one per line) the connection impersonates for every "
        "Vertex AI and Cloud Storage call.",
        model_catalog_uri="A JSON file (local path or gs:// URI) laid out like the packaged tuning/models.json that "
        "replaces it: models, prices, adapter sizes, limits, retirement dates. Empty: the packaged catalog.",
    ),
    "pipeline_id": Param(
        DEFAULT.pipeline_id,
        type=["null", "string"],
        title="Pipeline id",
        section="Advanced",
        description="Owner label of the Vertex jobs this pipeline creates, so two pipelines tuning the same data "
        "in one project never reuse or skip each other's jobs. Empty: the DAG id.",
    ),
    "max_prompt_tokens": Param(
        DEFAULT.max_prompt_tokens,
        type="integer",
        minimum=256,
        title="Per-example token limit",
        section="Advanced",
        description="Per-example token limit (at least 256; Vertex allows 131,072 for the Gemini 2.5 models), "
        "estimated at 4 characters per token.",
    ),
    "max_reject_share": Param(
        DEFAULT.max_reject_share,
        type="number",
        minimum=0,
        maximum=1,
        title="Tolerated share of rejected records",
        section="Advanced",
        description="Fail the refresh when a larger share of the records is rejected, 0 to 1.",
    ),
    "poll_interval_seconds": Param(
        DEFAULT.poll_interval_seconds,
        type="integer",
        minimum=1,
        title="Poll interval (seconds)",
        section="Advanced",
        description="How often the triggerer reads the tuning job's state, at least 1 second.",
    ),
    "tuning_timeout_hours": Param(
        DEFAULT.tuning_timeout_hours,
        type="number",
        exclusiveMinimum=0,
        maximum=168,
        title="Tuning job timeout (hours)",
        section="Advanced",
        description="Cancel the tuning job and fail the run when it has not finished after this many hours, "
        "above 0, at most 168. The rule: the default (20) ends before the next scheduled run would start "
        "(daily at 02:00, one run at a time), leaving time for the evaluation; a stuck job never holds the "
        "next night.",
    ),
}

# Airflow's trigger form clamps a number to the schema's top-level minimum/maximum when the field loses
# focus, so -2 epochs silently became 1 and the run started with it. Nested in allOf, the same bounds are
# invisible to the form (it keeps what was typed) but still checked by Airflow when the run is created:
# an out-of-range value is refused ("Failed to Trigger Dag") and no run starts. Descriptions state them.
_BOUND_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
for _param in PARAMS.values():
    if _bounds := {key: _param.schema.pop(key) for key in _BOUND_KEYWORDS if key in _param.schema}:
        _param.schema.setdefault("allOf", []).append(_bounds)


@dag(
    dag_id=DAG_ID,
    schedule="0 2 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["gemini", "vertex-ai", "tuning", "squad"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2), "retry_exponential_backoff": True},
    params=PARAMS,
    doc_md=__doc__,
    render_template_as_native_obj=True,
    on_failure_callback=notify_failure,  # the failure notification (only logged without a channel Param)
)
def gemini_squad_tuning() -> None:
    # Each task imports the pipeline's steps when it runs: parsing the DAG file stays fast.
    @task(multiple_outputs=True)
    def check_params(params: Payload = FROM_CONTEXT) -> Payload:
        """The run's Params as one typed record; unknown keys and wrong types fail here.

        Reads the run's Params (its `conf` over the defaults); writes nothing. Returns one XCom per Param.
        Never skips: a misspelt key or a bad value fails the run here, before anything is read or paid for.
        """
        from gemini_qa_tuning.pipeline import steps

        return steps.check_params(params, DAG_ID).to_json()

    @task
    def refresh_dataset(settings: Payload, run_id: str = FROM_CONTEXT) -> Payload:
        """Load, clean, deduplicate, validate and split; stage the splits and the rejects.

        Reads the source (`source_kind`, `source_uri`, `test_source_uri`); writes the splits and the
        rejects under `runs/<run id>/staging/`. Never skips; fails when the test split is smaller than
        `promotion_min_test_questions`, before anything is paid.
        """
        from gemini_qa_tuning.pipeline import steps

        return steps.refresh_dataset(steps.PipelineParams.from_json(settings), run_id).to_json()

    @task(outlets=[TUNING_DATASET], multiple_outputs=True)
    def export_dataset(refreshed: Payload, settings: Payload, outlet_events: Any = FROM_CONTEXT) -> Payload:
        """Write the tuning files and the manifest under datasets/<fingerprint>/.

        Reads the staged splits; writes `train.jsonl`, `validation.jsonl`, `test.jsonl`, `rejects.jsonl`
        and `manifest.json` under `datasets/<fingerprint>/` (identical data rewrites nothing) and emits
        the `gemini_squad_tuning_dataset` asset. Never skips.
        """
        from gemini_qa_tuning.pipeline import steps

        exported = steps.export_dataset(
            steps.RefreshedDataset.from_json(refreshed), steps.PipelineParams.from_json(settings)
        )
        outlet_events[TUNING_DATASET].extra = {"uri": exported.dataset_uri, "fingerprint": exported.fingerprint}
        return exported.to_json()

    @task
    def find_champion(settings: Payload) -> Payload:
        """The model that serves now (and the record's generation), or None before the first promotion.

        Reads `champion/champion.json`; repairs the Model Registry alias a failed promotion left behind.
        Returns {} before the first promotion. Never skips.
        """
        from gemini_qa_tuning.pipeline import steps

        current = steps.find_champion(steps.PipelineParams.from_json(settings))
        # {} rather than None: a task returning None pushes no XCom, and each reader would log "XCom not found".
        return current.to_json() if current else {}

    @task(multiple_outputs=True)  # the launch reads plan["base_model"], plan["tune_from"], ...
    def plan_tuning(exported: Payload, champion: Payload, settings: Payload) -> Payload:
        """Skip a judged model, judge a paid one, launch a new one; fail before launch when over budget.

        Reads the dataset fingerprint, the champion, the verdict under `verdicts/` and the model catalog;
        writes nothing. Returns the plan (base model, start, config hash, cost estimate). Never skips.
        """
        from gemini_qa_tuning.pipeline import steps

        return steps.plan_tuning(
            steps.ExportedDataset.from_json(exported),
            steps.CurrentChampion.from_json(champion) if champion else None,
            steps.PipelineParams.from_json(settings),
        ).to_json()

    @task.branch
    def choose_tuning_path(plan: Payload) -> str:
        """Follow the plan: launch (or reuse the paid job) and judge, or skip tuning and evaluation.

        Reads the plan; writes nothing. Runs `launch_tuning_job` or `skip_tuning` (logging why).
        """
        from gemini_qa_tuning.pipeline import steps

        tuning_plan = steps.TuningPlan.from_json(plan)
        if not tuning_plan.launch:  # the skipped branch says why it skipped
            logger.info("Skipping tuning, evaluation and promotion: %s", tuning_plan.reason)
        return LAUNCH_TASK_ID if tuning_plan.launch else SKIP_TASK_ID

    @task(task_id=SELECT_CHECKPOINT_TASK_ID)
    def select_checkpoint(tuned: Payload, exported: Payload, settings: Payload, run_id: str = FROM_CONTEXT) -> Payload:
        """Score every checkpoint on validation; make the best the model's default (the tuned endpoint serves it).

        Reads `validation.jsonl` and the job's checkpoints; writes the answers under
        `runs/<run id>/checkpoint_selection/` and sets the model's default checkpoint. A no-op with one
        checkpoint; skips with the tuning branch.
        """
        from gemini_qa_tuning.pipeline import steps

        return steps.select_checkpoint(
            steps.TunedModel.from_json(tuned),
            steps.ExportedDataset.from_json(exported),
            steps.PipelineParams.from_json(settings),
            run_id,
        ).to_json()

    # Runs when the champion's evaluation was skipped; skips itself when the base or tuned one was.
    @task(trigger_rule="none_failed_min_one_success")
    def compare_models(settings: Payload, run_id: str = FROM_CONTEXT) -> Payload:
        """metrics.json: per-model scores and paired differences with bootstrap 95 % intervals.

        Reads the evaluations' answers; writes `runs/<run id>/metrics.json`. Skips when no tuned model
        was evaluated; runs without the champion's evaluation.
        """
        from gemini_qa_tuning.pipeline import steps
        from gemini_qa_tuning.pipeline.task_results import optional_result

        # Each is None when its evaluation skipped (read without an "XCom not found" error line).
        base = optional_result(BASE_EVAL_TASK_ID)
        tuned = optional_result(TUNED_EVAL_TASK_ID)
        champion = optional_result(CHAMPION_EVAL_TASK_ID)
        return steps.compare_models(
            steps.PredictionRun.from_json(base) if base else None,
            steps.PredictionRun.from_json(tuned) if tuned else None,
            steps.PredictionRun.from_json(champion) if champion else None,
            steps.PipelineParams.from_json(settings),
            run_id,
        ).to_json()

    @task
    def decide_promotion(comparison: Payload, settings: Payload) -> Payload:
        """Promote only when the tuned model beats the base and the champion by the margin, beyond noise.

        Reads the comparison and the promotion Params; writes nothing. Returns the decision and its reasons.
        Skips when the comparison skipped.
        """
        from gemini_qa_tuning.pipeline import steps

        return steps.decide_promotion(
            steps.ModelComparison.from_json(comparison), steps.PipelineParams.from_json(settings)
        ).to_json()

    @task.branch
    def choose_promotion_path(decision: Payload) -> str:
        """Follow the decision: promote the tuned model, or keep the champion.

        Reads the decision; writes nothing. Runs `promote_champion` or `keep_champion` (logging why).
        """
        from gemini_qa_tuning.pipeline import steps

        promotion = steps.PromotionDecision.from_json(decision)
        if not promotion.promote:
            logger.info("Keeping the champion: %s", "; ".join(promotion.reasons))
        return PROMOTE_TASK_ID if promotion.promote else KEEP_TASK_ID

    @task(task_id=PROMOTE_TASK_ID, outlets=[SERVING_CHAMPION])
    def promote_champion(
        exported: Payload,
        plan: Payload,
        tuned: Payload,
        comparison: Payload,
        champion: Payload,
        settings: Payload,
        run_id: str = FROM_CONTEXT,
        outlet_events: Any = FROM_CONTEXT,
    ) -> Payload:
        """Make the tuned endpoint the champion (only if the champion did not change during this run).

        Writes `champion/champion.json` (conditional on the generation `find_champion` read) with a history
        entry, moves the Model Registry alias and emits `gemini_squad_champion` with the scores. Skipped
        unless the decision promotes.
        """
        from gemini_qa_tuning.pipeline import steps

        promoted = steps.promote_champion(
            steps.ExportedDataset.from_json(exported),
            steps.TuningPlan.from_json(plan),
            steps.TunedModel.from_json(tuned),
            steps.ModelComparison.from_json(comparison),
            steps.CurrentChampion.from_json(champion) if champion else None,
            steps.PipelineParams.from_json(settings),
            run_id,
        )
        # The event carries the headline scores, so the asset's history in the UI shows why each promotion won.
        outlet_events[SERVING_CHAMPION].extra = {
            "model": promoted.model,
            "run_id": run_id,
            "metrics": steps.ModelComparison.from_json(comparison).to_json(),
        }
        return promoted.to_json()

    # After either promotion path; skips itself unless the Param delete_losing_models is on.
    @task(trigger_rule="none_failed_min_one_success")
    def clean_up_models(settings: Payload) -> Payload:
        """Delete this pipeline's losing tuned models beyond the newest keep_last_models (never the champion's).

        Reads this pipeline's tuning jobs on Vertex and the champion history; deletes the losers' tuned
        models. Skips unless `delete_losing_models`, and when neither promotion path ran.
        """
        from gemini_qa_tuning.pipeline import cleanup_steps, steps

        return cleanup_steps.clean_up_models(steps.PipelineParams.from_json(settings))

    # After promote or keep, whichever ran: a failed promotion leaves no verdict, so the next run judges again.
    # (Its other upstreams succeed on a skipped run too: the step skips itself then.)
    @task(trigger_rule="none_failed_min_one_success")
    def record_verdict(exported: Payload, plan: Payload, settings: Payload, run_id: str = FROM_CONTEXT) -> str:
        """Keep the judgement (promoted or rejected, with its numbers) so the next run skips this model.

        Reads the tuned model, the comparison and the decision; writes
        `verdicts/<fingerprint>-<config hash>.json`. Skips when this run judged no tuned model.
        """
        from gemini_qa_tuning.pipeline import steps
        from gemini_qa_tuning.pipeline.task_results import optional_result

        # On a run that skipped tuning these did not run: read them without an "XCom not found" error.
        tuned, comparison = optional_result(WAIT_TASK_ID), optional_result(COMPARE_TASK_ID)
        decision = optional_result(DECIDE_TASK_ID)
        return steps.record_verdict(
            steps.ExportedDataset.from_json(exported),
            steps.TuningPlan.from_json(plan),
            steps.TunedModel.from_json(tuned) if tuned else None,
            steps.ModelComparison.from_json(comparison) if comparison else None,
            steps.PromotionDecision.from_json(decision) if decision else None,
            steps.PipelineParams.from_json(settings),
            run_id,
        )

    @task(trigger_rule="none_failed")
    def summarize_run(
        settings: Payload,
        exported: Payload,
        plan: Payload,
        champion: Payload,
        run_id: str = FROM_CONTEXT,
    ) -> Payload:
        """Write runs/<run id>/summary.json from what the run's tasks returned.

        Reads every task's result, the verdicts (the report's history) and the tuning job's duration; writes
        `runs/<run id>/summary.json` and `report.html`, the run's note (with `run_note_conn_id`) and the
        promotion and retirement notifications. Never skips: it says what a skipped run did.
        """
        from gemini_qa_tuning.outcome import describe_outcome
        from gemini_qa_tuning.pipeline import notify, steps
        from gemini_qa_tuning.pipeline.task_results import optional_result

        # The tasks a skipped branch did not run returned nothing: read without an "XCom not found" error.
        job, tuned = optional_result(LAUNCH_TASK_ID), optional_result(WAIT_TASK_ID)
        comparison, decision = optional_result(COMPARE_TASK_ID), optional_result(DECIDE_TASK_ID)
        promoted, selection = optional_result(PROMOTE_TASK_ID), optional_result(SELECT_CHECKPOINT_TASK_ID)

        params = steps.PipelineParams.from_json(settings)
        written = steps.summarize_run(
            steps.RunSummary.from_task_results(
                run_id=run_id,
                exported=exported,
                plan=plan,
                job=job,
                tuned=tuned,
                comparison=comparison,
                decision=decision,
                promoted=promoted,
                checkpoint_selection=selection,
            ),
            params,
            steps.CurrentChampion.from_json(champion) if champion else None,
        )
        outcome = describe_outcome(written)
        logger.info("Outcome: %s", outcome)
        if params.run_note_conn_id:
            from gemini_qa_tuning.pipeline.run_note import write_run_note

            write_run_note(params.run_note_conn_id, DAG_ID, run_id, outcome)
        notify.notify_after_run(written, params, DAG_ID, get_current_context())
        return written.to_json()

    # Each stage's tasks are created in its task group's block.
    with stage("dataset"):
        settings: Any = check_params()  # indexed below: one XComArg per Param (multiple_outputs)
        refreshed = refresh_dataset(settings)
        exported: Any = export_dataset(refreshed, settings)  # multiple_outputs: exported["train_uri"], ...
    with stage("tuning"):
        champion = find_champion(settings)
        plan: Any = plan_tuning(exported, champion, settings)  # multiple_outputs: plan["base_model"], ...
        tuning_path = choose_tuning_path(plan)
        skip = EmptyOperator(
            task_id=SKIP_TASK_ID,
            doc_md="The branch of a run that tunes nothing (`choose_tuning_path` logged why); reads and writes "
            "nothing. The launch, the evaluation and the promotion skip; `summarize_run` records why. Skipped "
            "when the plan launches.",
        )
        launch = LaunchTuningJobOperator(
            task_id=LAUNCH_TASK_ID,
            doc_md=LAUNCH_DOC,
            training_uri=exported["train_uri"],
            validation_uri=exported["validation_uri"],
            dataset_fingerprint=exported["fingerprint"],
            base_model=plan["base_model"],  # the run's base model, or its successor when rebasing
            tune_from=plan["tune_from"],
            pre_tuned_model=plan["pre_tuned_model"],
            epochs=settings["epochs"],
            adapter_size=settings["adapter_size"],
            learning_rate_multiplier=settings["learning_rate_multiplier"],
            tuned_model_display_name="{{ params.tuned_model_display_name }}-{{ dag_run.run_after.strftime('%Y%m%d') }}",
            description=f"SQuAD extractive QA ({DAG_ID})",
            price_per_million_tokens=settings["price_per_million_training_tokens"],
            model_catalog_uri=settings["model_catalog_uri"],
            dry_run=settings["dry_run"],
            pipeline_id=settings["pipeline_id"],
            export_last_checkpoint_only=settings["export_last_checkpoint_only"],
            gcp_conn_id=settings["gcp_conn_id"],
            impersonation_chain=settings["impersonation_chain"],
        )
        launched_job_name: Any = XComArg(launch, key=TUNING_JOB_NAME_XCOM_KEY)  # None after a dry run
        wait = TuningJobSensor(
            task_id=WAIT_TASK_ID,
            doc_md=WAIT_DOC,
            job_name=launched_job_name,
            price_per_million_tokens=settings["price_per_million_training_tokens"],
            poll_interval=settings["poll_interval_seconds"],
            gcp_conn_id=settings["gcp_conn_id"],
            impersonation_chain=settings["impersonation_chain"],
            timeout_hours=settings["tuning_timeout_hours"],  # cancels the job when it passes (cancel_on_timeout)
        )
        selection = select_checkpoint(wait.output, exported, settings)
    with stage("evaluation"):
        # Online, or one deferred batch job per model (eval_mode): the same PredictionRun either way.
        base_eval = EvaluateModelOperator(
            task_id=BASE_EVAL_TASK_ID,
            role="base",
            exported=exported,
            settings=settings,
            doc_md=BASE_EVAL_DOC,
        )
        tuned_eval = EvaluateModelOperator(
            task_id=TUNED_EVAL_TASK_ID,
            role="tuned",
            exported=exported,
            settings=settings,
            tuned=wait.output,
            doc_md=TUNED_EVAL_DOC,
        )
        champion_eval = EvaluateModelOperator(
            task_id=CHAMPION_EVAL_TASK_ID,
            role="champion",
            exported=exported,
            settings=settings,
            tuned=wait.output,
            champion=champion,
            doc_md=CHAMPION_EVAL_DOC,
        )
        comparison = compare_models(settings)
        [base_eval, tuned_eval, champion_eval] >> comparison
    with stage("promotion"):
        decision = decide_promotion(comparison, settings)
        promotion_path = choose_promotion_path(decision)
        promote = promote_champion(exported, plan, wait.output, comparison, champion, settings)
        keep = EmptyOperator(
            task_id=KEEP_TASK_ID,
            doc_md="The branch of a run whose tuned model did not win (`choose_promotion_path` logged why): the "
            "champion keeps serving; reads and writes nothing. Skipped when the decision promotes.",
        )
        verdict = record_verdict(exported, plan, settings)
        clean_up = clean_up_models(settings)
    with stage("report"):
        summary = summarize_run(settings, exported, plan, champion)

    tuning_path >> [launch, skip]
    # After a dry run the launch returns no job name and the sensor skips the rest of the branch.
    wait >> base_eval
    selection >> tuned_eval  # the tuned endpoint serves the chosen checkpoint only once it is the default
    promotion_path >> [promote, keep]
    [promote, keep] >> verdict
    [promote, keep, skip] >> summary
    [promote, keep] >> clean_up  # after promote_champion: it reads the new champion

    # Extra links to the artifacts the tasks leave: the console, or offline the emulators' objects.
    add_links(exported, DatasetFolderLink())
    add_links(wait, TunedModelLink(), EndpointLink())
    add_links(comparison, MetricsLink())
    add_links(summary, RunReportLink())


gemini_squad_tuning()
