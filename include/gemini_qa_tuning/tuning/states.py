"""Tuning job states and what the pipeline does with them; a job's facts as a typed snapshot.

:data:`JOB_STATE_RULES` maps every ``google.genai.types.JobState`` value to what the pipeline does (keep
waiting, succeed, fail) and whether a job in that state may be reused by a new launch.
:class:`JobSnapshot` holds what the pipeline reads from a ``types.TuningJob``; :func:`judge_job` turns it
into a :class:`JobVerdict`, and :func:`completion_result` into the :class:`TunedModel` a finished job
produced.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any, Self

from gemini_qa_tuning.json_types import (
    JsonObject,
    JsonValue,
    RecordFieldError,
    read_bool,
    read_optional_float,
    read_optional_int,
    read_optional_str,
    read_str,
    read_str_map,
)
from gemini_qa_tuning.tuning.catalog import ModelCatalog
from gemini_qa_tuning.tuning.cost import resolve_price, tuning_cost_usd
from gemini_qa_tuning.tuning.resources import console_url_or_name

__all__ = [
    "JOB_STATE_RULES",
    "JobOutcome",
    "JobSnapshot",
    "JobStateRule",
    "JobVerdict",
    "TunedCheckpoint",
    "TunedModel",
    "completion_result",
    "job_summary",
    "judge_job",
    "progress_text",
    "rule_for_state",
    "select_reusable_job",
    "state_name",
]


class JobOutcome(StrEnum):
    """What the pipeline does with a job in a given state."""

    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def _read_outcome(data: Mapping[str, object], where: str) -> JobOutcome:
    value = read_str(data, "outcome", where)
    try:
        return JobOutcome(value)
    except ValueError:
        raise RecordFieldError(
            f"{where}: field 'outcome' must be one of {[outcome.value for outcome in JobOutcome]}, got {value!r}."
        ) from None


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

    def to_json(self) -> JsonObject:
        return {"state": self.state, "outcome": self.outcome.value, "reusable": self.reusable, "reason": self.reason}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "job state rule"
        return cls(
            state=read_str(data, "state", where),
            outcome=_read_outcome(data, where),
            reusable=read_bool(data, "reusable", where),
            reason=read_str(data, "reason", where),
        )


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

_UNKNOWN_STATE_REASON = (
    "a state this package does not know (newer API?); keep waiting, logged as a warning, bounded by the sensor timeout."
)


def state_name(state: object) -> str:
    """A job state (SDK enum, its name, or ``None``) as its name; ``None`` is ``JOB_STATE_UNSPECIFIED``."""
    if state is None:
        return "JOB_STATE_UNSPECIFIED"
    if isinstance(state, Enum):
        return str(state.value)
    return str(state)


def rule_for_state(state: object) -> JobStateRule:
    """The rule for a job state (enum or its name). Unknown states wait rather than crash."""
    name = state_name(state)
    rule = JOB_STATE_RULES.get(name)
    if rule is None:
        return JobStateRule(name, JobOutcome.WAITING, False, _UNKNOWN_STATE_REASON)
    return rule


def _create_time_key(job: Any) -> float:
    created = getattr(job, "create_time", None)
    return created.timestamp() if created is not None else 0.0


def select_reusable_job(jobs: Iterable[Any]) -> Any | None:
    """The job a launch should reuse among jobs with its identity labels, or ``None``.

    ``jobs`` are ``types.TuningJob`` (anything with ``state`` and ``create_time``). A succeeded job wins
    over a live one (its model already exists); among equals the newest wins.
    """
    reusable = [job for job in jobs if rule_for_state(getattr(job, "state", None)).reusable]
    if not reusable:
        return None

    def preference(job: Any) -> tuple[int, float]:
        succeeded = rule_for_state(job.state).outcome is JobOutcome.SUCCEEDED
        return (1 if succeeded else 0, _create_time_key(job))

    return max(reusable, key=preference)


# --------------------------------------------------------------------------- checkpoints
@dataclass(frozen=True)
class TunedCheckpoint:
    """One checkpoint a tuning job exported (``tunedModel.checkpoints[]``), on its own endpoint.

    Vertex saves about one checkpoint per epoch (at most ~10) unless the job was created with
    ``export_last_checkpoint_only``; the tuned model's own endpoint serves the model's *default*
    checkpoint (https://cloud.google.com/vertex-ai/generative-ai/docs/models/tuning-checkpoints).
    """

    checkpoint_id: str
    epoch: int | None
    step: int | None
    endpoint: str | None

    @classmethod
    def from_sdk(cls, checkpoint: Any) -> Self:
        """The record of a ``google.genai.types.TunedModelCheckpoint`` (int64 fields may arrive as text)."""
        return cls(
            checkpoint_id=str(getattr(checkpoint, "checkpoint_id", None) or ""),
            epoch=_optional_int(getattr(checkpoint, "epoch", None)),
            step=_optional_int(getattr(checkpoint, "step", None)),
            endpoint=getattr(checkpoint, "endpoint", None),
        )

    def to_json(self) -> JsonObject:
        return {"checkpoint_id": self.checkpoint_id, "epoch": self.epoch, "step": self.step, "endpoint": self.endpoint}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "tuned model checkpoint"
        return cls(
            checkpoint_id=read_str(data, "checkpoint_id", where),
            epoch=read_optional_int(data, "epoch", where),
            step=read_optional_int(data, "step", where),
            endpoint=read_optional_str(data, "endpoint", where),
        )


def _optional_int(value: object) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        return None


def _checkpoints_from_sdk(tuned_model: Any) -> tuple[TunedCheckpoint, ...]:
    checkpoints = getattr(tuned_model, "checkpoints", None) or []
    return tuple(TunedCheckpoint.from_sdk(checkpoint) for checkpoint in checkpoints)


def _read_checkpoints(data: Mapping[str, object], where: str) -> tuple[TunedCheckpoint, ...]:
    """The ``checkpoints`` list; absent (records written before checkpoints were kept) reads as none."""
    value = data.get("checkpoints")
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise RecordFieldError(f"{where}: field 'checkpoints' must be a list of objects, got {value!r}.")
    return tuple(TunedCheckpoint.from_json(item) for item in value)


# --------------------------------------------------------------------------- snapshot
@dataclass(frozen=True)
class JobSnapshot:
    """What the pipeline reads from one ``types.TuningJob``: state, progress, results, error, data statistics.

    Built by :meth:`from_sdk` (or :func:`job_summary`); travels as JSON in trigger events and XComs.
    """

    job_name: str | None
    state: str
    detail_state: str | None = None
    base_model: str | None = None
    tuned_model: str | None = None
    endpoint: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    completed_epochs: int | None = None
    epochs: int | None = None
    billable_tokens: int | None = None
    example_count: int | None = None
    tuning_steps: int | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    checkpoints: tuple[TunedCheckpoint, ...] = ()

    @classmethod
    def from_sdk(cls, job: Any) -> Self:
        """The snapshot of a ``google.genai.types.TuningJob`` (missing parts stay ``None``)."""
        tuned_model = getattr(job, "tuned_model", None)
        error = getattr(job, "error", None)
        stats = getattr(getattr(job, "tuning_data_stats", None), "supervised_tuning_data_stats", None)
        metadata = getattr(job, "tuning_job_metadata", None)
        hyper_parameters = getattr(getattr(job, "supervised_tuning_spec", None), "hyper_parameters", None)
        detail_state = getattr(job, "tuning_job_state", None)
        return cls(
            job_name=getattr(job, "name", None),
            state=state_name(getattr(job, "state", None)),
            detail_state=state_name(detail_state) if detail_state is not None else None,
            base_model=getattr(job, "base_model", None),
            tuned_model=getattr(tuned_model, "model", None),
            endpoint=getattr(tuned_model, "endpoint", None),
            error_code=getattr(error, "code", None),
            error_message=getattr(error, "message", None),
            completed_epochs=getattr(metadata, "completed_epoch_count", None),
            epochs=getattr(hyper_parameters, "epoch_count", None),
            billable_tokens=getattr(stats, "total_billable_token_count", None),
            example_count=getattr(stats, "tuning_dataset_example_count", None),
            tuning_steps=getattr(stats, "tuning_step_count", None),
            labels=dict(getattr(job, "labels", None) or {}),
            checkpoints=_checkpoints_from_sdk(tuned_model),
        )

    @property
    def rule(self) -> JobStateRule:
        """The rule for this job's state."""
        return rule_for_state(self.state)

    def to_json(self) -> JsonObject:
        labels: dict[str, JsonValue] = dict(self.labels)
        return {
            "job_name": self.job_name,
            "state": self.state,
            "detail_state": self.detail_state,
            "base_model": self.base_model,
            "tuned_model": self.tuned_model,
            "endpoint": self.endpoint,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "completed_epochs": self.completed_epochs,
            "epochs": self.epochs,
            "billable_tokens": self.billable_tokens,
            "example_count": self.example_count,
            "tuning_steps": self.tuning_steps,
            "labels": labels,
            "checkpoints": [checkpoint.to_json() for checkpoint in self.checkpoints],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "tuning job snapshot"
        return cls(
            job_name=read_optional_str(data, "job_name", where),
            state=read_str(data, "state", where),
            detail_state=read_optional_str(data, "detail_state", where),
            base_model=read_optional_str(data, "base_model", where),
            tuned_model=read_optional_str(data, "tuned_model", where),
            endpoint=read_optional_str(data, "endpoint", where),
            error_code=read_optional_int(data, "error_code", where),
            error_message=read_optional_str(data, "error_message", where),
            completed_epochs=read_optional_int(data, "completed_epochs", where),
            epochs=read_optional_int(data, "epochs", where),
            billable_tokens=read_optional_int(data, "billable_tokens", where),
            example_count=read_optional_int(data, "example_count", where),
            tuning_steps=read_optional_int(data, "tuning_steps", where),
            labels=read_str_map(data, "labels", where),
            checkpoints=_read_checkpoints(data, where),
        )


def job_summary(job: Any) -> JobSnapshot:
    """The :class:`JobSnapshot` of a ``types.TuningJob`` (kept under its old name; see :meth:`JobSnapshot.from_sdk`)."""
    return JobSnapshot.from_sdk(job)


def progress_text(snapshot: JobSnapshot) -> str:
    """A short human description of the job's progress (may be empty)."""
    parts = []
    if snapshot.detail_state:
        parts.append(f"detail {snapshot.detail_state}")
    if snapshot.completed_epochs is not None:
        total = snapshot.epochs
        parts.append(f"epoch {snapshot.completed_epochs}/{total if total is not None else '?'}")
    if snapshot.example_count is not None:
        parts.append(f"{snapshot.example_count} examples")
    if snapshot.billable_tokens is not None:
        parts.append(f"{snapshot.billable_tokens} billable tokens")
    return ", ".join(parts)


# --------------------------------------------------------------------------- verdict and result
@dataclass(frozen=True)
class JobVerdict:
    """What to do with a job now: its outcome and a message for the log or the task failure."""

    outcome: JobOutcome
    message: str

    def to_json(self) -> JsonObject:
        return {"outcome": self.outcome.value, "message": self.message}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "job verdict"
        return cls(outcome=_read_outcome(data, where), message=read_str(data, "message", where))


def judge_job(snapshot: JobSnapshot) -> JobVerdict:
    """Apply :data:`JOB_STATE_RULES` to a job, with messages that say what to do next.

    A success state without a tuned model endpoint is a failure: there would be nothing to evaluate.
    """
    name = snapshot.job_name or "<unnamed job>"
    state = snapshot.state or "JOB_STATE_UNSPECIFIED"
    rule = rule_for_state(state)
    link = console_url_or_name(name)
    if rule.outcome is JobOutcome.SUCCEEDED:
        if not snapshot.endpoint:
            return JobVerdict(
                JobOutcome.FAILED,
                f"Tuning job {name} reports {state} but no tuned model endpoint, so there is nothing to "
                f"evaluate. Inspect it at {link}; re-run the launch task to create a new job.",
            )
        caveat = " (partially succeeded: some results are missing)" if state != "JOB_STATE_SUCCEEDED" else ""
        return JobVerdict(
            JobOutcome.SUCCEEDED,
            f"Tuning job {name} {state}{caveat}: model {snapshot.tuned_model}, endpoint {snapshot.endpoint}.",
        )
    if rule.outcome is JobOutcome.FAILED:
        error = snapshot.error_message or "Vertex gave no error message"
        code = snapshot.error_code
        return JobVerdict(
            JobOutcome.FAILED,
            f"Tuning job {name} ended {state}: {error}"
            f"{f' (code {code})' if code is not None else ''}. Details: {link}. A {state} job is never "
            "reused: fix the cause, then re-run the launch task to create a new job.",
        )
    return JobVerdict(JobOutcome.WAITING, f"Tuning job {name} is {state}: {rule.reason}")


@dataclass(frozen=True)
class TunedModel:
    """What a finished tuning job produced, and what it cost (the sensor's result).

    ``checkpoints`` are the job's exported checkpoints in Vertex's order (empty when Vertex lists none,
    and in records written before they were kept); ``endpoint`` serves the model's default checkpoint.
    """

    job_name: str | None
    state: str
    tuned_model: str | None
    endpoint: str | None
    billable_tokens: int | None
    epochs: int | None
    actual_cost_usd: float | None
    checkpoints: tuple[TunedCheckpoint, ...] = ()

    def to_json(self) -> JsonObject:
        return {
            "job_name": self.job_name,
            "state": self.state,
            "tuned_model": self.tuned_model,
            "endpoint": self.endpoint,
            "billable_tokens": self.billable_tokens,
            "epochs": self.epochs,
            "actual_cost_usd": self.actual_cost_usd,
            "checkpoints": [checkpoint.to_json() for checkpoint in self.checkpoints],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "tuned model"
        return cls(
            job_name=read_optional_str(data, "job_name", where),
            state=read_str(data, "state", where),
            tuned_model=read_optional_str(data, "tuned_model", where),
            endpoint=read_optional_str(data, "endpoint", where),
            billable_tokens=read_optional_int(data, "billable_tokens", where),
            epochs=read_optional_int(data, "epochs", where),
            actual_cost_usd=read_optional_float(data, "actual_cost_usd", where),
            checkpoints=_read_checkpoints(data, where),
        )


def completion_result(
    snapshot: JobSnapshot, price_per_million: float | None = None, catalog: ModelCatalog | None = None
) -> TunedModel:
    """The tuned model of a finished job and its actual cost at ``price_per_million`` (else the list price)."""
    price = resolve_price(price_per_million, snapshot.base_model, catalog)
    return TunedModel(
        job_name=snapshot.job_name,
        state=snapshot.state,
        tuned_model=snapshot.tuned_model,
        endpoint=snapshot.endpoint,
        billable_tokens=snapshot.billable_tokens,
        epochs=snapshot.epochs,
        actual_cost_usd=tuning_cost_usd(snapshot.billable_tokens, snapshot.epochs, price),
        checkpoints=snapshot.checkpoints,
    )
