"""Vertex AI supervised tuning of Gemini: the job's configuration, identity, request, states and cost.

Plain Python (no Airflow import) shared by the launch operator, the completion sensor and trigger,
the console link and the benchmark.

Identity and idempotency
    A tuning job is identified by two labels: the **dataset fingerprint** (content hash of the exported
    training/validation data) and the **config hash** (hash of the settings that change what is
    trained). Before creating a job the launch operator lists jobs carrying both labels and reuses a
    live or succeeded one (see :data:`JOB_STATE_RULES`, column ``reusable``), so a retry after a crash
    between "create" and "push the result" finds the job it already paid for.

Base models
    The base model is always a parameter: Vertex retires base models (``gemini-1.5-flash-002``, used
    by the article this project started from, is gone) and a tuned model retires with its base.
    :data:`TUNABLE_BASE_MODELS` lists the Gemini models that supported supervised tuning on Vertex
    when this was written, with their list price per million training tokens (USD); check
    https://cloud.google.com/vertex-ai/generative-ai/docs/models/tune-models and the pricing page
    before relying on either.

Job states
    :data:`JOB_STATE_RULES` maps every ``google.genai.types.JobState`` value to what the pipeline does
    (keep waiting, succeed, fail) and whether a job in that state may be reused by a new launch.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from google.genai import types

__all__ = [
    "ADAPTER_SIZES",
    "CONFIG_LABEL_KEY",
    "DATASET_LABEL_KEY",
    "DEFAULT_BASE_MODEL",
    "JOB_STATE_RULES",
    "MANAGED_BY_LABEL_KEY",
    "MANAGED_BY_LABEL_VALUE",
    "MAX_EPOCHS",
    "PIPELINE_LABEL_KEY",
    "RETIRED_BASE_MODEL_PREFIXES",
    "TUNABLE_BASE_MODELS",
    "TUNING_MODES",
    "JobOutcome",
    "JobStateRule",
    "JobVerdict",
    "TrainingDataScan",
    "TuningConfig",
    "TuningConfigError",
    "TuningJobNameError",
    "TuningRequest",
    "completion_result",
    "console_url",
    "files_fingerprint",
    "job_summary",
    "judge_job",
    "label_value",
    "labels_filter",
    "parse_job_name",
    "price_per_million_tokens",
    "progress_text",
    "rule_for_state",
    "scan_tuning_jsonl",
    "select_reusable_job",
    "succeeded_dataset_fingerprints",
    "tuning_cost_usd",
    "validate_labels",
]

DEFAULT_BASE_MODEL = "gemini-2.5-flash"

#: Gemini base models that supported supervised tuning on Vertex AI when this was written, with the
#: list price in USD per million training tokens (tokens in the training data x epochs). Other names
#: are accepted with a warning (Google adds models faster than this table changes).
TUNABLE_BASE_MODELS: Mapping[str, float] = {
    "gemini-2.5-pro": 25.0,
    "gemini-2.5-flash": 5.0,
    "gemini-2.5-flash-lite": 1.5,
    "gemini-2.0-flash-001": 3.0,
    "gemini-2.0-flash-lite-001": 1.0,
}

#: Base models Vertex has retired for tuning and serving; launching on them would fail at Vertex.
RETIRED_BASE_MODEL_PREFIXES: tuple[str, ...] = ("gemini-1.0-", "gemini-1.5-", "gemini-pro")

#: LoRA adapter sizes the API accepts (``google.genai.types.AdapterSize``). Each model supports a
#: subset (e.g. gemini-2.5-pro: 1-8, gemini-2.5-flash: 1-16); Vertex rejects the rest at creation.
ADAPTER_SIZES: Mapping[int, str] = {
    1: "ADAPTER_SIZE_ONE",
    2: "ADAPTER_SIZE_TWO",
    4: "ADAPTER_SIZE_FOUR",
    8: "ADAPTER_SIZE_EIGHT",
    16: "ADAPTER_SIZE_SIXTEEN",
    32: "ADAPTER_SIZE_THIRTY_TWO",
}

#: Tuning modes (``google.genai.types.TuningMode``), by short name. PEFT adapter (LoRA) is what Vertex
#: offers for Gemini; full fine-tuning exists in the API for other model families.
TUNING_MODES: Mapping[str, str] = {
    "peft_adapter": "TUNING_MODE_PEFT_ADAPTER",
    "full": "TUNING_MODE_FULL",
}

#: A sanity bound, not a Vertex limit: more passes than this over a QA dataset is almost surely a typo.
MAX_EPOCHS = 100
#: A sanity bound on the learning-rate multiplier (Vertex scales its own recommended rate by it).
MAX_LEARNING_RATE_MULTIPLIER = 10.0
MAX_DISPLAY_NAME_LENGTH = 128

# Label keys that identify a job this package launched. Keys must start with a lowercase letter.
DATASET_LABEL_KEY = "dataset-fingerprint"
CONFIG_LABEL_KEY = "tuning-config-hash"
MANAGED_BY_LABEL_KEY = "managed-by"
MANAGED_BY_LABEL_VALUE = "gemini-qa-tuning"
# Which pipeline (DAG id or a pipeline_id Param) owns the job: two pipelines tuning the same data in one
# project never reuse or skip each other's jobs.
PIPELINE_LABEL_KEY = "pipeline"
_RESERVED_LABEL_KEYS = frozenset({DATASET_LABEL_KEY, CONFIG_LABEL_KEY, MANAGED_BY_LABEL_KEY, PIPELINE_LABEL_KEY})

MAX_LABEL_LENGTH = 63
MAX_LABELS = 64
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
_NOT_LABEL_CHARACTER = re.compile(r"[^a-z0-9_-]+")

CONFIG_HASH_VERSION = "v1"
_JOB_NAME = re.compile(r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/tuningJobs/(?P<job_id>[^/]+)$")
CONSOLE_BASE_URL = "https://console.cloud.google.com"


# --------------------------------------------------------------------------- errors
class TuningConfigError(ValueError):
    """The tuning settings are invalid. ``problems`` lists every problem found, one sentence each."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        bullet_list = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"Invalid tuning settings ({len(self.problems)} problem(s)):\n{bullet_list}")


class TuningJobNameError(ValueError):
    """A string is not a Vertex tuning job resource name."""


# --------------------------------------------------------------------------- labels
def label_value(text: str) -> str:
    """``text`` as a valid Vertex label value: lowercase, ``[a-z0-9_-]`` only, at most 63 characters."""
    return _NOT_LABEL_CHARACTER.sub("-", text.strip().lower())[:MAX_LABEL_LENGTH]


def validate_labels(labels: Mapping[str, str], where: str = "labels") -> list[str]:
    """Problems with user labels under Vertex's label rules (empty list when they are fine)."""
    problems = []
    if len(labels) > MAX_LABELS - len(_RESERVED_LABEL_KEYS):
        problems.append(
            f"{where}: {len(labels)} labels given; at most {MAX_LABELS - len(_RESERVED_LABEL_KEYS)} "
            f"are allowed next to the {len(_RESERVED_LABEL_KEYS)} this package adds."
        )
    for key, value in labels.items():
        if not isinstance(key, str) or not _LABEL_KEY.match(key):
            problems.append(
                f"{where}: key {key!r} is not a valid label key; use 1-63 characters from [a-z0-9_-] "
                "starting with a lowercase letter."
            )
        if not isinstance(value, str) or not _LABEL_VALUE.match(value):
            problems.append(
                f"{where}: value {value!r} of {key!r} is not a valid label value; use at most 63 "
                f"characters from [a-z0-9_-] (label_value({value!r}) gives a valid one)."
            )
        if key in _RESERVED_LABEL_KEYS:
            problems.append(
                f"{where}: key {key!r} is reserved: the launch operator sets it to identify the job; "
                "remove it from your labels."
            )
    return problems


def labels_filter(labels: Mapping[str, str]) -> str:
    """A Vertex list filter matching jobs that carry all ``labels`` (AIP-160 syntax)."""
    return " AND ".join(f'labels.{key}="{value}"' for key, value in sorted(labels.items()))


# --------------------------------------------------------------------------- configuration
def _coerce_int(name: str, raw: Any, problems: list[str]) -> int | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        problems.append(f"{name} must be a whole number, got the boolean {raw!r}.")
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    try:
        return int(str(raw).strip())
    except ValueError:
        problems.append(f"{name} must be a whole number, got {raw!r}.")
        return None


def _coerce_float(name: str, raw: Any, problems: list[str]) -> float | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        problems.append(f"{name} must be a number, got the boolean {raw!r}.")
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        problems.append(f"{name} must be a number, got {raw!r}.")
        return None


def _coerce_adapter_size(raw: Any, problems: list[str]) -> int | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, Enum):
        raw = raw.value
    if isinstance(raw, str) and raw.strip().upper() in ADAPTER_SIZES.values():
        return next(size for size, name in ADAPTER_SIZES.items() if name == raw.strip().upper())
    return _coerce_int("adapter_size", raw, problems)


def _coerce_tuning_mode(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, Enum):
        raw = raw.value
    text = str(raw).strip()
    return TUNING_MODES.get(text.lower(), text.upper())


def _coerce_labels(raw: Any, problems: list[str]) -> dict[str, str]:
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):  # a templated dict renders to its JSON or Python text
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            try:
                raw = ast.literal_eval(raw)
            except (ValueError, SyntaxError):
                problems.append(f'labels must be a mapping such as {{"team": "qa"}}, got the text {raw!r}.')
                return {}
    if not isinstance(raw, Mapping):
        problems.append(f"labels must be a mapping of strings to strings, got {type(raw).__name__}.")
        return {}
    return {str(key): str(value) for key, value in raw.items()}


@dataclass(frozen=True)
class TuningConfig:
    """Settings of one supervised tuning job.

    :param base_model: Gemini model to tune (see :data:`TUNABLE_BASE_MODELS`).
    :param training_uri: ``gs://`` URI of the training JSONL (Gemini tuning format).
    :param validation_uri: optional ``gs://`` URI of the validation JSONL.
    :param epochs: passes over the training data (1..:data:`MAX_EPOCHS`).
    :param adapter_size: LoRA rank, one of :data:`ADAPTER_SIZES`; ``None`` lets Vertex choose. Only
        for PEFT adapter tuning.
    :param learning_rate_multiplier: scales Vertex's recommended learning rate (0 < m <= 10).
    :param tuned_model_display_name: display name of the tuned model (at most 128 characters).
    :param description: description of the tuning job.
    :param labels: extra Vertex labels for the job and the resources it creates.
    :param tuning_mode: ``TUNING_MODE_PEFT_ADAPTER`` (default) or ``TUNING_MODE_FULL``; ``None`` sends
        no mode and lets Vertex use its default.
    """

    base_model: str = DEFAULT_BASE_MODEL
    training_uri: str = ""
    validation_uri: str | None = None
    epochs: int = 3
    adapter_size: int | None = 4
    learning_rate_multiplier: float = 1.0
    tuned_model_display_name: str | None = None
    description: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    tuning_mode: str | None = TUNING_MODES["peft_adapter"]

    @classmethod
    def from_raw(cls, **raw: Any) -> TuningConfig:
        """Build a config from loosely typed values (rendered templates give strings) and validate it.

        Accepts ``"3"`` for epochs, ``"4"``/``"ADAPTER_SIZE_FOUR"`` for adapter size, ``"peft_adapter"``
        for the tuning mode and a JSON text for labels. Unknown keys are an error (a misspelt setting
        would otherwise be silently ignored). Raises :class:`TuningConfigError` listing all problems.
        """
        problems: list[str] = []
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            problems.append(f"unknown setting(s) {unknown}; known settings are {sorted(known)}.")
        defaults = cls()
        epochs = _coerce_int("epochs", raw.get("epochs"), problems)
        multiplier = _coerce_float("learning_rate_multiplier", raw.get("learning_rate_multiplier"), problems)
        adapter_size = (
            _coerce_adapter_size(raw["adapter_size"], problems) if "adapter_size" in raw else defaults.adapter_size
        )
        tuning_mode = _coerce_tuning_mode(raw["tuning_mode"]) if "tuning_mode" in raw else defaults.tuning_mode
        config = cls(
            base_model=str(raw.get("base_model") or defaults.base_model).strip(),
            training_uri=str(raw.get("training_uri") or "").strip(),
            validation_uri=(str(raw["validation_uri"]).strip() or None) if raw.get("validation_uri") else None,
            epochs=defaults.epochs if epochs is None else epochs,
            adapter_size=adapter_size,
            learning_rate_multiplier=defaults.learning_rate_multiplier if multiplier is None else multiplier,
            tuned_model_display_name=(str(raw.get("tuned_model_display_name") or "").strip() or None),
            description=(str(raw.get("description") or "").strip() or None),
            labels=_coerce_labels(raw.get("labels"), problems),
            tuning_mode=tuning_mode,
        )
        problems.extend(config.problems())
        if problems:
            raise TuningConfigError(problems)
        return config

    def problems(self) -> list[str]:
        """Every problem with these settings, one sentence each saying what to change."""
        problems: list[str] = []
        model = self.base_model_id
        if not model:
            problems.append(f"base_model is empty; use a tunable Gemini model such as {DEFAULT_BASE_MODEL!r}.")
        elif model.startswith(RETIRED_BASE_MODEL_PREFIXES):
            problems.append(
                f"base_model {self.base_model!r} has been retired by Vertex AI (and a tuned model retires "
                f"with its base); use a current tunable model such as {DEFAULT_BASE_MODEL!r}."
            )
        problems.extend(self._uri_problems("training_uri", self.training_uri, required=True))
        if self.validation_uri is not None:
            problems.extend(self._uri_problems("validation_uri", self.validation_uri, required=False))
        if not isinstance(self.epochs, int) or not 1 <= self.epochs <= MAX_EPOCHS:
            problems.append(f"epochs is {self.epochs!r}; use a whole number from 1 to {MAX_EPOCHS}.")
        if self.adapter_size is not None and self.adapter_size not in ADAPTER_SIZES:
            problems.append(
                f"adapter_size {self.adapter_size!r} is not one Vertex offers; use one of "
                f"{sorted(ADAPTER_SIZES)} (or leave it empty to let Vertex choose)."
            )
        if not (
            isinstance(self.learning_rate_multiplier, int | float)
            and 0 < self.learning_rate_multiplier <= MAX_LEARNING_RATE_MULTIPLIER
        ):
            problems.append(
                f"learning_rate_multiplier is {self.learning_rate_multiplier!r}; use a number greater "
                f"than 0 and at most {MAX_LEARNING_RATE_MULTIPLIER:g} (1.0 keeps Vertex's recommended rate)."
            )
        if self.tuning_mode is not None and self.tuning_mode not in TUNING_MODES.values():
            problems.append(
                f"tuning_mode {self.tuning_mode!r} is unknown; use one of {sorted(TUNING_MODES)} "
                f"or {sorted(TUNING_MODES.values())}."
            )
        if self.tuning_mode == TUNING_MODES["full"] and self.adapter_size is not None:
            problems.append("adapter_size applies to PEFT adapter tuning only; leave it empty for tuning_mode 'full'.")
        if self.tuned_model_display_name and len(self.tuned_model_display_name) > MAX_DISPLAY_NAME_LENGTH:
            problems.append(
                f"tuned_model_display_name has {len(self.tuned_model_display_name)} characters; "
                f"shorten it to at most {MAX_DISPLAY_NAME_LENGTH}."
            )
        problems.extend(validate_labels(self.labels))
        return problems

    def warnings(self) -> list[str]:
        """Things that are allowed but worth a log line."""
        warnings = []
        model = self.base_model_id
        if model and not model.startswith("projects/") and price_per_million_tokens(model) is None:
            warnings.append(
                f"base_model {self.base_model!r} is not in the list of known tunable models "
                f"{sorted(TUNABLE_BASE_MODELS)}; Vertex will reject it at creation if it cannot be tuned, "
                "and no cost estimate is available."
            )
        if self.validation_uri is None:
            warnings.append(
                "no validation_uri: Vertex reports no validation loss, so overfitting goes unnoticed until evaluation."
            )
        return warnings

    def validate(self) -> None:
        """Raise :class:`TuningConfigError` listing every problem, or return quietly."""
        problems = self.problems()
        if problems:
            raise TuningConfigError(problems)

    @staticmethod
    def _uri_problems(name: str, uri: str, *, required: bool) -> list[str]:
        if not uri:
            return [f"{name} is missing; pass the gs:// URI of the exported JSONL file."] if required else []
        if not uri.startswith("gs://") or len(uri) <= len("gs://") or "/" not in uri[len("gs://") :]:
            return [f"{name} {uri!r} is not a gs://<bucket>/<object> URI; Vertex reads tuning data from GCS."]
        if not uri.endswith(".jsonl"):
            return [f"{name} {uri!r} does not end in .jsonl; Vertex expects a JSONL file in Gemini format."]
        return []

    @property
    def base_model_id(self) -> str:
        """The base model without a ``publishers/google/models/`` prefix."""
        return self.base_model.strip().removeprefix("publishers/google/models/")

    def hashed_settings(self) -> dict[str, Any]:
        """The settings that change what is trained, i.e. what :meth:`config_hash` covers.

        Cosmetic settings (display name, description, labels) are left out so editing them does not
        launch and pay for a new job; the data (URIs and content) is identified by the dataset
        fingerprint, which labels the job separately.
        """
        return {
            "version": CONFIG_HASH_VERSION,
            "base_model": self.base_model_id,
            "epochs": self.epochs,
            "adapter_size": self.adapter_size,
            "learning_rate_multiplier": float(self.learning_rate_multiplier),
            "tuning_mode": self.tuning_mode,
        }

    def config_hash(self) -> str:
        """A 16-hex-character hash of :meth:`hashed_settings` (stable across processes and versions)."""
        canonical = json.dumps(self.hashed_settings(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]

    def job_labels(self, dataset_fingerprint: str, *, pipeline_id: str) -> dict[str, str]:
        """The labels the job carries: the user's plus the identity labels the launch operator matches on."""
        fingerprint = label_value(dataset_fingerprint)
        pipeline = label_value(pipeline_id)
        problems = []
        if not fingerprint:
            problems.append(f"dataset_fingerprint {dataset_fingerprint!r} is empty after label normalisation.")
        if not pipeline:
            problems.append(
                f"pipeline_id {pipeline_id!r} is empty after label normalisation; use the DAG id or a name "
                "from [a-z0-9_-]."
            )
        if problems:
            raise TuningConfigError(problems)
        return {
            **dict(self.labels),
            DATASET_LABEL_KEY: fingerprint,
            CONFIG_LABEL_KEY: self.config_hash(),
            MANAGED_BY_LABEL_KEY: MANAGED_BY_LABEL_VALUE,
            PIPELINE_LABEL_KEY: pipeline,
        }

    def identity_labels(self, dataset_fingerprint: str, *, pipeline_id: str) -> dict[str, str]:
        """Only the labels that identify the job (what a reuse lookup filters on)."""
        labels = self.job_labels(dataset_fingerprint, pipeline_id=pipeline_id)
        return {key: labels[key] for key in sorted(_RESERVED_LABEL_KEYS)}

    def request(self, dataset_fingerprint: str, *, pipeline_id: str) -> TuningRequest:
        """The ``client.tunings.tune`` request for this configuration."""
        self.validate()
        return TuningRequest(
            base_model=self.base_model,
            training_uri=self.training_uri,
            validation_uri=self.validation_uri,
            epoch_count=self.epochs,
            adapter_size=ADAPTER_SIZES[self.adapter_size] if self.adapter_size is not None else None,
            learning_rate_multiplier=float(self.learning_rate_multiplier),
            tuning_mode=self.tuning_mode,
            tuned_model_display_name=self.tuned_model_display_name,
            description=self.description,
            labels=self.job_labels(dataset_fingerprint, pipeline_id=pipeline_id),
        )


@dataclass(frozen=True)
class TuningRequest:
    """Arguments of ``client.tunings.tune`` as plain data (loggable, XCom-able, testable)."""

    base_model: str
    training_uri: str
    validation_uri: str | None
    epoch_count: int
    adapter_size: str | None
    learning_rate_multiplier: float
    tuning_mode: str | None
    tuned_model_display_name: str | None
    description: str | None
    labels: Mapping[str, str]

    def as_dict(self) -> dict[str, Any]:
        """The request as JSON-able data, ``None`` fields left out."""
        config = self.config_kwargs()
        if self.validation_uri:
            config["validation_dataset"] = {"gcs_uri": self.validation_uri}
        return {
            "base_model": self.base_model,
            "training_dataset": {"gcs_uri": self.training_uri},
            "config": config,
        }

    def config_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``types.CreateTuningJobConfig`` other than the validation dataset."""
        values: dict[str, Any] = {
            "epoch_count": self.epoch_count,
            "adapter_size": self.adapter_size,
            "learning_rate_multiplier": self.learning_rate_multiplier,
            "tuning_mode": self.tuning_mode,
            "tuned_model_display_name": self.tuned_model_display_name,
            "description": self.description,
            "labels": dict(self.labels),
        }
        return {key: value for key, value in values.items() if value is not None}

    def to_sdk(self) -> tuple[types.TuningDataset, types.CreateTuningJobConfig]:
        """``(training_dataset, config)`` as google-genai types, ready for ``client.tunings.tune``."""
        from google.genai import types

        config = types.CreateTuningJobConfig(
            method=types.TuningMethod.SUPERVISED_FINE_TUNING,
            validation_dataset=(
                types.TuningValidationDataset(gcs_uri=self.validation_uri) if self.validation_uri else None
            ),
            **self.config_kwargs(),
        )
        return types.TuningDataset(gcs_uri=self.training_uri), config


# --------------------------------------------------------------------------- job names and links
def parse_job_name(job_name: str) -> tuple[str, str, str]:
    """``projects/P/locations/L/tuningJobs/ID`` -> ``(P, L, ID)``."""
    match = _JOB_NAME.match(job_name or "")
    if not match:
        raise TuningJobNameError(
            f"{job_name!r} is not a tuning job resource name; expected "
            "'projects/<project>/locations/<location>/tuningJobs/<id>' as returned by the launch task."
        )
    return match["project"], match["location"], match["job_id"]


def console_url(job_name: str) -> str:
    """The job's page in the Google Cloud console (Vertex AI > Tuning)."""
    project, location, job_id = parse_job_name(job_name)
    return (
        f"{CONSOLE_BASE_URL}/vertex-ai/generative/language/locations/{quote(location)}"
        f"/tuning/tuningJob/{quote(job_id)}?project={quote(project)}"
    )


# --------------------------------------------------------------------------- job states
class JobOutcome(StrEnum):
    """What the pipeline does with a job in a given state."""

    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class JobStateRule:
    """How one Vertex job state is handled.

    :param state: the ``google.genai.types.JobState`` value, e.g. ``"JOB_STATE_QUEUED"``.
    :param outcome: keep waiting, finish successfully, or fail the task.
    :param reusable: whether a launch with the same identity labels reuses a job in this state
        instead of creating (and paying for) a new one.
    :param reason: why, in one sentence (shown in logs).
    """

    state: str
    outcome: JobOutcome
    reusable: bool
    reason: str


_RULES = (
    JobStateRule(
        "JOB_STATE_UNSPECIFIED",
        JobOutcome.WAITING,
        True,
        "Vertex has not reported a state yet; keep waiting (the sensor timeout bounds it).",
    ),
    JobStateRule("JOB_STATE_QUEUED", JobOutcome.WAITING, True, "accepted, waiting for resources or quota."),
    JobStateRule("JOB_STATE_PENDING", JobOutcome.WAITING, True, "the service is preparing to run the job."),
    JobStateRule("JOB_STATE_RUNNING", JobOutcome.WAITING, True, "training is in progress."),
    JobStateRule("JOB_STATE_UPDATING", JobOutcome.WAITING, True, "being updated; returns to RUNNING."),
    JobStateRule(
        "JOB_STATE_PAUSED",
        JobOutcome.WAITING,
        True,
        "paused and resumable by an operator; keep waiting (logged as a warning) until it resumes or "
        "the sensor times out.",
    ),
    JobStateRule(
        "JOB_STATE_CANCELLING",
        JobOutcome.WAITING,
        False,
        "a cancel is in progress; wait for its final state (usually CANCELLED). Not reused: it will "
        "not produce a model.",
    ),
    JobStateRule(
        "JOB_STATE_SUCCEEDED",
        JobOutcome.SUCCEEDED,
        True,
        "the tuned model and its endpoint exist.",
    ),
    JobStateRule(
        "JOB_STATE_PARTIALLY_SUCCEEDED",
        JobOutcome.SUCCEEDED,
        True,
        "some results are missing; accepted (with a warning) when Vertex reports a tuned model "
        "endpoint, because evaluation and the promotion rule judge the model anyway; a failure otherwise.",
    ),
    JobStateRule("JOB_STATE_FAILED", JobOutcome.FAILED, False, "the job failed; a new launch creates a new job."),
    JobStateRule("JOB_STATE_CANCELLED", JobOutcome.FAILED, False, "the job was cancelled; no model."),
    JobStateRule("JOB_STATE_EXPIRED", JobOutcome.FAILED, False, "the job expired before finishing; no model."),
)

#: Every ``google.genai.types.JobState`` value -> how the pipeline handles it.
JOB_STATE_RULES: Mapping[str, JobStateRule] = {rule.state: rule for rule in _RULES}

_UNKNOWN_STATE_RULE = JobStateRule(
    "UNKNOWN",
    JobOutcome.WAITING,
    False,
    "a state this package does not know (newer API?); keep waiting, logged as a warning, bounded by the "
    "sensor timeout.",
)


def _state_name(state: Any) -> str:
    if state is None:
        return "JOB_STATE_UNSPECIFIED"
    if isinstance(state, Enum):
        return str(state.value)
    return str(state)


def rule_for_state(state: Any) -> JobStateRule:
    """The rule for a job state (enum or its name). Unknown states wait rather than crash."""
    name = _state_name(state)
    rule = JOB_STATE_RULES.get(name)
    if rule is None:
        return JobStateRule(name, _UNKNOWN_STATE_RULE.outcome, False, _UNKNOWN_STATE_RULE.reason)
    return rule


def _create_time_key(job: Any) -> float:
    created = getattr(job, "create_time", None)
    return created.timestamp() if created is not None else 0.0


def select_reusable_job(jobs: Iterable[Any]) -> Any | None:
    """The job a launch should reuse among jobs with its identity labels, or ``None``.

    A succeeded job wins over a live one (its model already exists); among equals the newest wins.
    """
    reusable = [job for job in jobs if rule_for_state(getattr(job, "state", None)).reusable]
    if not reusable:
        return None

    def preference(job: Any) -> tuple[int, float]:
        succeeded = rule_for_state(job.state).outcome is JobOutcome.SUCCEEDED
        return (1 if succeeded else 0, _create_time_key(job))

    return max(reusable, key=preference)


def succeeded_dataset_fingerprints(hook: Any, dataset_fingerprint: str, *, pipeline_id: str) -> set[str]:
    """``{dataset_fingerprint}`` when a job this package launched on that data has produced a model.

    ``hook`` is anything with ``list_tuning_jobs_by_labels(labels)`` (``GenAIVertexHook``). Jobs of any
    tuning config count, but only jobs of ``pipeline_id``: the question is "was this data tuned on already
    by this pipeline", for the skip decision of
    ``gemini_qa_tuning.dataset.decisions.decide_skip``. Returns an empty set otherwise.
    """
    labels = {
        DATASET_LABEL_KEY: label_value(dataset_fingerprint),
        MANAGED_BY_LABEL_KEY: MANAGED_BY_LABEL_VALUE,
        PIPELINE_LABEL_KEY: label_value(pipeline_id),
    }
    for job in hook.list_tuning_jobs_by_labels(labels):
        if judge_job(job_summary(job)).outcome is JobOutcome.SUCCEEDED:
            return {dataset_fingerprint}
    return set()


def job_summary(job: Any) -> dict[str, Any]:
    """JSON-able facts about a ``types.TuningJob``: state, progress, results, error and data statistics."""
    tuned_model = getattr(job, "tuned_model", None)
    error = getattr(job, "error", None)
    stats = getattr(getattr(job, "tuning_data_stats", None), "supervised_tuning_data_stats", None)
    metadata = getattr(job, "tuning_job_metadata", None)
    spec = getattr(job, "supervised_tuning_spec", None)
    hyper_parameters = getattr(spec, "hyper_parameters", None)
    detail_state = getattr(job, "tuning_job_state", None)
    summary: dict[str, Any] = {
        "job_name": getattr(job, "name", None),
        "state": _state_name(getattr(job, "state", None)),
        "detail_state": _state_name(detail_state) if detail_state is not None else None,
        "base_model": getattr(job, "base_model", None),
        "tuned_model": getattr(tuned_model, "model", None),
        "endpoint": getattr(tuned_model, "endpoint", None),
        "error_code": getattr(error, "code", None),
        "error_message": getattr(error, "message", None),
        "completed_epochs": getattr(metadata, "completed_epoch_count", None),
        "epochs": getattr(hyper_parameters, "epoch_count", None),
        "billable_tokens": getattr(stats, "total_billable_token_count", None),
        "example_count": getattr(stats, "tuning_dataset_example_count", None),
        "tuning_steps": getattr(stats, "tuning_step_count", None),
        "labels": dict(getattr(job, "labels", None) or {}),
    }
    return summary


def progress_text(summary: Mapping[str, Any]) -> str:
    """A short human description of the progress fields of :func:`job_summary` (may be empty)."""
    parts = []
    if summary.get("detail_state"):
        parts.append(f"detail {summary['detail_state']}")
    if summary.get("completed_epochs") is not None:
        total = summary.get("epochs")
        parts.append(f"epoch {summary['completed_epochs']}/{total if total is not None else '?'}")
    if summary.get("example_count") is not None:
        parts.append(f"{summary['example_count']} examples")
    if summary.get("billable_tokens") is not None:
        parts.append(f"{summary['billable_tokens']} billable tokens")
    return ", ".join(parts)


@dataclass(frozen=True)
class JobVerdict:
    """What to do with a job now: its outcome and a message for the log or the task failure."""

    outcome: JobOutcome
    message: str


def judge_job(summary: Mapping[str, Any]) -> JobVerdict:
    """Apply :data:`JOB_STATE_RULES` to a :func:`job_summary`, with messages that say what to do next.

    A success state without a tuned model endpoint is a failure: there would be nothing to evaluate.
    """
    name = summary.get("job_name") or "<unnamed job>"
    state = summary.get("state") or "JOB_STATE_UNSPECIFIED"
    rule = rule_for_state(state)
    link = _console_url_or_name(name)
    if rule.outcome is JobOutcome.SUCCEEDED:
        if not summary.get("endpoint"):
            return JobVerdict(
                JobOutcome.FAILED,
                f"Tuning job {name} reports {state} but no tuned model endpoint, so there is nothing to "
                f"evaluate. Inspect it at {link}; re-run the launch task to create a new job.",
            )
        caveat = " (partially succeeded: some results are missing)" if state != "JOB_STATE_SUCCEEDED" else ""
        return JobVerdict(
            JobOutcome.SUCCEEDED,
            f"Tuning job {name} {state}{caveat}: model {summary.get('tuned_model')}, "
            f"endpoint {summary.get('endpoint')}.",
        )
    if rule.outcome is JobOutcome.FAILED:
        error = summary.get("error_message") or "Vertex gave no error message"
        code = summary.get("error_code")
        return JobVerdict(
            JobOutcome.FAILED,
            f"Tuning job {name} ended {state}: {error}"
            f"{f' (code {code})' if code is not None else ''}. Details: {link}. A {state} job is never "
            "reused: fix the cause, then re-run the launch task to create a new job.",
        )
    return JobVerdict(JobOutcome.WAITING, f"Tuning job {name} is {state}: {rule.reason}")


def completion_result(summary: Mapping[str, Any], price_per_million: float | None = None) -> dict[str, Any]:
    """The sensor's XCom value for a finished job: tuned model, endpoint, state and the actual cost."""
    price = price_per_million
    if price is None and summary.get("base_model"):
        price = price_per_million_tokens(str(summary["base_model"]))
    return {
        "job_name": summary.get("job_name"),
        "state": summary.get("state"),
        "tuned_model": summary.get("tuned_model"),
        "endpoint": summary.get("endpoint"),
        "billable_tokens": summary.get("billable_tokens"),
        "epochs": summary.get("epochs"),
        "actual_cost_usd": tuning_cost_usd(summary.get("billable_tokens"), summary.get("epochs"), price),
    }


def _console_url_or_name(job_name: str) -> str:
    try:
        return console_url(job_name)
    except TuningJobNameError:
        return job_name


# --------------------------------------------------------------------------- data scan, tokens and cost
@dataclass(frozen=True)
class TrainingDataScan:
    """What one pass over a tuning JSONL file found."""

    uri: str
    example_count: int
    estimated_tokens: int
    sha256: str


def scan_tuning_jsonl(lines: Iterable[str], uri: str) -> TrainingDataScan:
    """Check a tuning JSONL stream line by line, count examples and estimate tokens.

    Each line must be a record of :mod:`gemini_qa_tuning.gemini_format` (what the export writes); tokens
    are estimated as the export estimates them (``gemini_qa_tuning.text.estimate_tokens`` of prompt plus
    answer), so the launch's estimate matches the manifest's. Raises ``ValueError`` naming the file and
    line of the first malformed example, so a broken file fails before a paid job is created.
    """
    from gemini_qa_tuning.gemini_format import TuningRecordError, parse_tuning_line
    from gemini_qa_tuning.text import estimate_tokens

    digest = hashlib.sha256()
    examples = 0
    tokens = 0
    for number, line in enumerate(lines, start=1):
        digest.update(line.encode("utf-8") + b"\n")
        if not line.strip():
            continue
        try:
            prompt, answer = parse_tuning_line(line)
        except TuningRecordError as error:
            raise ValueError(
                f"{uri} line {number} is not a Gemini tuning record ({error}); re-run the export or fix the file."
            ) from None
        examples += 1
        tokens += estimate_tokens(prompt) + estimate_tokens(answer)
    if examples == 0:
        raise ValueError(f"{uri} holds no examples; re-run the export or point the URI at the right file.")
    return TrainingDataScan(uri=uri, example_count=examples, estimated_tokens=tokens, sha256=digest.hexdigest())


def files_fingerprint(training: TrainingDataScan, validation: TrainingDataScan | None) -> str:
    """A content fingerprint of the tuning files, for launches given no dataset fingerprint.

    The export's fingerprint (``gemini_qa_tuning.dataset.export``) also covers the test split and the
    prompt template, so pass that one when available; this one only sees the two files Vertex reads.
    """
    digest = hashlib.sha256(b"gemini-qa-tuning tuning files\n")
    digest.update(b"train " + training.sha256.encode() + b"\n")
    digest.update(b"validation " + (validation.sha256.encode() if validation else b"none") + b"\n")
    return digest.hexdigest()[:32]


def price_per_million_tokens(base_model: str) -> float | None:
    """List price (USD per million training tokens) of tuning ``base_model``, ``None`` when unknown.

    Matches versioned names too (``gemini-2.5-flash-001`` -> ``gemini-2.5-flash``) by longest prefix.
    """
    model = base_model.strip().removeprefix("publishers/google/models/")
    matches = [name for name in TUNABLE_BASE_MODELS if model == name or model.startswith(f"{name}-")]
    if not matches:
        return None
    return TUNABLE_BASE_MODELS[max(matches, key=len)]


def tuning_cost_usd(tokens: int | None, epochs: int | None, price_per_million: float | None) -> float | None:
    """Training cost: tokens in the training data x epochs x price, rounded to 1/10000 USD.

    ``None`` when any input is unknown. The formula is the dataset stage's
    (``gemini_qa_tuning.dataset.decisions.estimate_training_cost``), so estimate and actual compare.
    """
    from gemini_qa_tuning.dataset.decisions import estimate_training_cost

    if tokens is None or epochs is None or price_per_million is None:
        return None
    return round(estimate_training_cost(tokens, epochs, price_per_million), 4)
