"""Vertex AI supervised tuning of Gemini, split by reason to change.

Plain Python (no Airflow import) shared by the launch operator, the completion sensor and trigger,
the console link, the pipeline's tasks and the benchmark. Every public name is importable from here.

=================  ==================================================================================
module             what changes it
=================  ==================================================================================
``catalog``        Google: the tunable models, prices, adapter sizes, limits, thinking, retirement
                   (data in ``models.json``; :func:`load_catalog` reads a user's copy)
``config``         the settings a user chooses, their validation and the config hash
``request``        the shape of the ``client.tunings.tune`` call
``resources``      Vertex naming: job resource names, console URLs, label rules and identity labels
``states``         the job state machine, the job snapshot, verdicts and the tuned-model result
``cost``           the billing formula and the price rule (explicit price, else list price)
``planning``       the skip / budget decision before a paid job
``lifecycle``      the retirement guard: retired, blocked-month, unknown and untunable base models
``data_scan``      the pre-launch check of the tuning files
=================  ==================================================================================

Identity and idempotency
    A tuning job is identified by its labels: the **dataset fingerprint** (content hash of the exported
    training/validation data), the **config hash** (hash of the settings that change what is trained)
    and the **pipeline** that owns it. Before creating a job the launch operator lists jobs carrying
    them and reuses a live or succeeded one (see :data:`JOB_STATE_RULES`, column ``reusable``), so a
    retry after a crash between "create" and "push the result" finds the job it already paid for, and
    two pipelines tuning the same data never reuse or skip each other's jobs.

Base models
    The base model is always a parameter: Vertex retires base models, and a tuned model retires with
    its base. The catalog says which models were tunable when it was last checked, with sources.
"""

from gemini_qa_tuning.tuning.catalog import (
    ADAPTER_SIZES,
    DEFAULT_BASE_MODEL,
    RETIRED_BASE_MODEL_PREFIXES,
    TUNABLE_BASE_MODELS,
    CatalogError,
    FactSource,
    ModelCatalog,
    ThinkingBehaviour,
    TunableModel,
    default_catalog,
    load_catalog,
    price_per_million_tokens,
)
from gemini_qa_tuning.tuning.config import (
    MAX_EPOCHS,
    MAX_LEARNING_RATE_MULTIPLIER,
    TUNING_MODES,
    TuningConfig,
    TuningConfigError,
)
from gemini_qa_tuning.tuning.cost import estimate_training_cost, resolve_price, tuning_cost_usd
from gemini_qa_tuning.tuning.data_scan import TrainingDataScan, files_fingerprint, scan_tuning_jsonl
from gemini_qa_tuning.tuning.lifecycle import (
    RETIREMENT_WARNING_DAYS,
    BaseModelError,
    check_base_model,
    check_champion_base_model,
)
from gemini_qa_tuning.tuning.planning import (
    TrainingBudgetExceededError,
    TrainingPriceUnknownError,
    TuningPlan,
    TuningPlanError,
    check_training_budget,
)
from gemini_qa_tuning.tuning.request import TuningRequest
from gemini_qa_tuning.tuning.resources import (
    CONFIG_LABEL_KEY,
    DATASET_LABEL_KEY,
    IDENTITY_LABEL_KEYS,
    MANAGED_BY_LABEL_KEY,
    MANAGED_BY_LABEL_VALUE,
    PIPELINE_LABEL_KEY,
    TuningJobNameError,
    console_url,
    label_value,
    labels_filter,
    parse_job_name,
    validate_labels,
)
from gemini_qa_tuning.tuning.states import (
    JOB_STATE_RULES,
    JobOutcome,
    JobSnapshot,
    JobStateRule,
    JobVerdict,
    TunedCheckpoint,
    TunedModel,
    completion_result,
    job_summary,
    judge_job,
    progress_text,
    rule_for_state,
    select_reusable_job,
)

__all__ = [
    "ADAPTER_SIZES",
    "CONFIG_LABEL_KEY",
    "DATASET_LABEL_KEY",
    "DEFAULT_BASE_MODEL",
    "IDENTITY_LABEL_KEYS",
    "JOB_STATE_RULES",
    "MANAGED_BY_LABEL_KEY",
    "MANAGED_BY_LABEL_VALUE",
    "MAX_EPOCHS",
    "MAX_LEARNING_RATE_MULTIPLIER",
    "PIPELINE_LABEL_KEY",
    "RETIRED_BASE_MODEL_PREFIXES",
    "RETIREMENT_WARNING_DAYS",
    "TUNABLE_BASE_MODELS",
    "TUNING_MODES",
    "BaseModelError",
    "CatalogError",
    "FactSource",
    "JobOutcome",
    "JobSnapshot",
    "JobStateRule",
    "JobVerdict",
    "ModelCatalog",
    "ThinkingBehaviour",
    "TrainingBudgetExceededError",
    "TrainingDataScan",
    "TrainingPriceUnknownError",
    "TunableModel",
    "TunedCheckpoint",
    "TunedModel",
    "TuningConfig",
    "TuningConfigError",
    "TuningJobNameError",
    "TuningPlan",
    "TuningPlanError",
    "TuningRequest",
    "check_base_model",
    "check_champion_base_model",
    "check_training_budget",
    "completion_result",
    "console_url",
    "default_catalog",
    "estimate_training_cost",
    "files_fingerprint",
    "job_summary",
    "judge_job",
    "label_value",
    "labels_filter",
    "load_catalog",
    "parse_job_name",
    "price_per_million_tokens",
    "progress_text",
    "resolve_price",
    "rule_for_state",
    "scan_tuning_jsonl",
    "select_reusable_job",
    "tuning_cost_usd",
    "validate_labels",
]
