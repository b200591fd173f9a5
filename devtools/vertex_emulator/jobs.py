"""Tuning jobs: request validation, the state timeline, the TuningJob JSON and list filtering/paging.

A job's state is computed from wall-clock time when it is read: PENDING for ``pending_seconds``, then
QUEUED for ``queued_seconds``, RUNNING for ``running_seconds``, then the planned outcome (SUCCEEDED;
FAILED; CANCELLING → CANCELLED; or RUNNING forever). A dataset problem fails the job when PENDING ends.
A client's cancel turns any unfinished job CANCELLING for ``cancelling_seconds``, then CANCELLED.

Tests that must not race the clock use the emulator-only admin control instead (not a Vertex API): a
job held in a state (``hold_jobs_at`` for new jobs, or ``hold``) goes no further by the clock, and
``advance`` moves it to the next or a given state at once, after which it moves only when advanced again
(or cancelled).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re
from collections.abc import Container
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from devtools.vertex_emulator.errors import (
    BAD_REQUEST_TYPE,
    RPC_CANCELLED,
    RPC_INTERNAL,
    ApiError,
    bad_request,
    failed_precondition,
    invalid_argument,
)
from devtools.vertex_emulator.models import ModelFacts, ModelTable
from devtools.vertex_emulator.store import Store, TuningJobRecord, resource_name

PENDING = "JOB_STATE_PENDING"
QUEUED = "JOB_STATE_QUEUED"
RUNNING = "JOB_STATE_RUNNING"
SUCCEEDED = "JOB_STATE_SUCCEEDED"
FAILED = "JOB_STATE_FAILED"
CANCELLING = "JOB_STATE_CANCELLING"
CANCELLED = "JOB_STATE_CANCELLED"
TERMINAL_STATES = frozenset({SUCCEEDED, FAILED, CANCELLED})
# Every path runs forward in this order; a hold keeps a job in one of the unfinished states.
STATE_ORDER = {PENDING: 0, QUEUED: 1, RUNNING: 2, CANCELLING: 3, SUCCEEDED: 4, FAILED: 4, CANCELLED: 4}
HOLDABLE_STATES = (PENDING, QUEUED, RUNNING, CANCELLING)

ADAPTER_SIZE_VALUES = {
    "ADAPTER_SIZE_ONE": 1,
    "ADAPTER_SIZE_TWO": 2,
    "ADAPTER_SIZE_FOUR": 4,
    "ADAPTER_SIZE_EIGHT": 8,
    "ADAPTER_SIZE_SIXTEEN": 16,
    "ADAPTER_SIZE_THIRTY_TWO": 32,
}
ADAPTER_SIZES = tuple(ADAPTER_SIZE_VALUES)
MIN_EPOCHS, MAX_EPOCHS = 1, 100
DEFAULT_EPOCHS = 3  # used for billing when the request leaves epochCount to the service
MAX_LABELS = 64
MAX_LABEL_LENGTH = 63
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Transition:
    """The job entered ``state`` at ``at`` (epoch seconds); ``error`` is set for FAILED/CANCELLED."""

    state: str
    at: float
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class CreateRequest:
    """A validated create request."""

    base_model: str
    training_dataset_uri: str
    validation_dataset_uri: str | None
    epochs: int
    echoed: dict[str, Any]  # the request fields a TuningJob echoes back
    export_last_checkpoint_only: bool = False


def timestamp(seconds: float) -> str:
    """RFC 3339 UTC with microseconds, as Google APIs print timestamps."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _cancelled_error() -> dict[str, Any]:
    return {"code": RPC_CANCELLED, "message": "The tuning job was cancelled."}


def _training_failed_error() -> dict[str, Any]:
    return {
        "code": RPC_INTERNAL,
        "message": "Tuning failed while training (emulator fault injection: job_outcome=fail). "
        "Create a new tuning job to try again.",
    }


def _admin_failed_error() -> dict[str, Any]:
    return {
        "code": RPC_INTERNAL,
        "message": "Tuning failed while training (emulator admin: advanced to JOB_STATE_FAILED). "
        "Create a new tuning job to try again.",
    }


def planned_path(job: TuningJobRecord) -> list[Transition]:
    """The states the job was created to go through by the clock, ignoring holds and a client's cancel."""
    start = job.create_time
    transitions = [Transition(PENDING, start)]
    queued_at = start + job.pending_seconds
    if job.data_error is not None:
        transitions.append(Transition(FAILED, queued_at, job.data_error))
        return transitions
    running_at = queued_at + job.queued_seconds
    ends_at = running_at + job.running_seconds
    transitions += [Transition(QUEUED, queued_at), Transition(RUNNING, running_at)]
    if job.outcome == "succeed":
        transitions.append(Transition(SUCCEEDED, ends_at))
    elif job.outcome == "fail":
        transitions.append(Transition(FAILED, ends_at, _training_failed_error()))
    elif job.outcome == "cancel":
        transitions += [
            Transition(CANCELLING, ends_at),
            Transition(CANCELLED, ends_at + job.cancelling_seconds, _cancelled_error()),
        ]
    # "never_finish": RUNNING until a client cancels it.
    return transitions


def timeline(job: TuningJobRecord) -> list[Transition]:
    """Every state the job enters, in order, including ones still in the future.

    A job moved by the admin API (``advance``) follows only the transitions recorded then; otherwise it
    follows its planned path, cut at its hold state. A client's cancel applies on top of either (a hold
    never keeps a job from being cancelled); held in CANCELLING, a cancelled job stays CANCELLING.
    """
    if job.admin_transitions is not None:
        transitions = [Transition(**transition) for transition in job.admin_transitions]
    else:
        transitions = planned_path(job)
        if job.hold_state is not None:
            transitions = held_path(transitions, job.hold_state)
    if job.cancel_time is not None:
        transitions = [transition for transition in transitions if transition.at < job.cancel_time]
        transitions += [
            Transition(CANCELLING, job.cancel_time),
            Transition(CANCELLED, job.cancel_time + job.cancelling_seconds, _cancelled_error()),
        ]
        if job.hold_state == CANCELLING:
            transitions.pop()
    return transitions


def held_path(transitions: list[Transition], hold_state: str) -> list[Transition]:
    """The path up to the last state that does not come after ``hold_state``: the job stays there.

    A job whose path skips the hold state (a dataset problem fails it straight from PENDING) is held in
    the last state before it, so a held job never ends by the clock.
    """
    return [transition for transition in transitions if STATE_ORDER[transition.state] <= STATE_ORDER[hold_state]]


def reached(job: TuningJobRecord, now: float) -> list[Transition]:
    """The transitions that have happened by ``now`` (never empty: a job starts PENDING)."""
    transitions = timeline(job)
    return [transitions[0]] + [transition for transition in transitions[1:] if transition.at <= now]


def current_state(job: TuningJobRecord, now: float) -> str:
    return reached(job, now)[-1].state


# ------------------------------------------------------------------------------------------ admin control
def hold(job: TuningJobRecord, state: str | None, now: float) -> None:
    """Keep the job in ``state`` (default: the state it is in now) once it gets there, until advanced.

    Raises a 400 ``ApiError`` for a final state, an unknown state, or a job that has ended or moved past it.
    """
    current = current_state(job, now)
    target = current if state is None else state
    if target not in HOLDABLE_STATES:
        raise invalid_argument(
            f"Cannot hold {job.name} in {target!r}: a hold keeps a job in one of {list(HOLDABLE_STATES)}; "
            "end a job with :advance and a final state."
        )
    if current in TERMINAL_STATES:
        raise failed_precondition(f"Cannot hold {job.name}: it has already ended in state {current}.")
    if STATE_ORDER[current] > STATE_ORDER[target]:
        raise failed_precondition(
            f"Cannot hold {job.name} in {target}: it is already {current}; a job only moves forward."
        )
    job.hold_state = target


def advance(job: TuningJobRecord, state: str | None, now: float) -> None:
    """Move the job now to ``state``, or to the next state of its planned path; it then stays there.

    States in between (e.g. QUEUED and RUNNING on the way to SUCCEEDED) are entered at the same instant, so
    the job's history stays one Vertex AI could show. Raises a 400 ``ApiError`` for a move Vertex could not
    make: backwards, out of a final state, or to SUCCEEDED (or through RUNNING) with training data that
    failed its check.
    """
    history = reached(job, now)
    current = history[-1].state
    if current in TERMINAL_STATES:
        raise failed_precondition(f"Cannot advance {job.name}: it has already ended in state {current}.")
    target = _next_state(job, current) if state is None else state
    if target not in STATE_ORDER:
        raise invalid_argument(f"Cannot advance {job.name} to {target!r}: use one of {list(STATE_ORDER)}.")
    steps = _steps(job, current, target)
    job.admin_transitions = [dataclasses.asdict(transition) for transition in history]
    job.admin_transitions += [
        dataclasses.asdict(Transition(step, now, _error_on_entering(job, step))) for step in steps
    ]
    job.cancel_time = None  # a cancel already under way is part of the recorded history now


def _next_state(job: TuningJobRecord, current: str) -> str:
    if current == CANCELLING:
        return CANCELLED
    later = [t.state for t in planned_path(job) if STATE_ORDER[t.state] > STATE_ORDER[current]]
    if not later:
        raise failed_precondition(
            f"{job.name} was created with job_outcome=never_finish: it has no next state after {current}; "
            f'advance it to a final state, e.g. {{"state": "{SUCCEEDED}"}}.'
        )
    return later[0]


def _steps(job: TuningJobRecord, current: str, target: str) -> list[str]:
    """The states entered on the way from ``current`` to ``target``, ``target`` last."""
    if STATE_ORDER[target] <= STATE_ORDER[current]:
        raise failed_precondition(f"Cannot advance {job.name} from {current} to {target}: a job only moves forward.")
    if current == CANCELLING and target != CANCELLED:
        raise failed_precondition(
            f"Cannot advance {job.name} from {CANCELLING} to {target}: it can only be {CANCELLED}."
        )
    if job.data_error is not None and target in (QUEUED, RUNNING, SUCCEEDED):
        raise failed_precondition(
            f"Cannot advance {job.name} to {target}: its training data failed the check "
            f"({job.data_error['message']}), so it can only become {FAILED} (or be cancelled)."
        )
    if target in (QUEUED, RUNNING, SUCCEEDED):
        on_the_way = [
            state for state in (QUEUED, RUNNING) if STATE_ORDER[current] < STATE_ORDER[state] < STATE_ORDER[target]
        ]
        return [*on_the_way, target]
    if target == CANCELLED and current != CANCELLING:
        return [CANCELLING, CANCELLED]
    return [target]  # FAILED (from any unfinished state) or CANCELLING


def _error_on_entering(job: TuningJobRecord, state: str) -> dict[str, Any] | None:
    if state == CANCELLED:
        return _cancelled_error()
    if state != FAILED:
        return None
    planned_failure = [t.error for t in planned_path(job) if t.state == FAILED]
    return planned_failure[0] if planned_failure else _admin_failed_error()


# The share of RUNNING spent validating data before the first epoch, and post-processing after the last.
PROCESSING_SHARE = POST_PROCESSING_SHARE = 0.1
# Examples per step, for checkpoint steps and tuningStepCount (an assumption: Vertex picks its own).
EXAMPLES_PER_STEP = 16


def completed_epochs(job: TuningJobRecord, now: float) -> int:
    """Epochs finished by ``now``: evenly spread over the tuning part of RUNNING (all of them on success)."""
    history = reached(job, now)
    if history[-1].state == SUCCEEDED:
        return job.epochs
    running = [transition for transition in history if transition.state == RUNNING]
    if not running:
        return 0
    until = now if history[-1].state == RUNNING else history[-1].at
    tuning_seconds = job.running_seconds * (1 - PROCESSING_SHARE - POST_PROCESSING_SHARE)
    elapsed = until - running[0].at - job.running_seconds * PROCESSING_SHARE
    if tuning_seconds <= 0:
        return job.epochs if elapsed >= 0 else 0
    return max(0, min(job.epochs, int(job.epochs * elapsed / tuning_seconds)))


def tuning_job_state(job: TuningJobRecord, now: float) -> str | None:
    """The v1beta1 detail state (``tuningJobState``) of an unfinished job; None once it has ended."""
    history = reached(job, now)
    state = history[-1].state
    if state == PENDING:
        return "TUNING_JOB_STATE_WAITING_FOR_QUOTA"
    if state == QUEUED:
        return "TUNING_JOB_STATE_WAITING_FOR_CAPACITY"
    if state != RUNNING:
        return None
    if now - history[-1].at < job.running_seconds * PROCESSING_SHARE:
        return "TUNING_JOB_STATE_PROCESSING_DATASET"
    if completed_epochs(job, now) < job.epochs:
        return "TUNING_JOB_STATE_TUNING"
    return "TUNING_JOB_STATE_POST_PROCESSING"


def experiment_name(job: TuningJobRecord) -> str:
    """The Vertex AI Experiment (a metadata context) a tuning job records its metrics in."""
    return resource_name(
        job.name_project, job.location, "metadataStores", f"default/contexts/tuning-experiment-{job.job_id}"
    )


def job_json(job: TuningJobRecord, now: float, api_version: str = "v1beta1") -> dict[str, Any]:
    """The TuningJob resource as the REST API returns it, at time ``now``.

    ``tuningJobState`` and ``tuningJobMetadata`` exist only in v1beta1 (discovery documents rev 20261106).
    """
    history = reached(job, now)
    latest = history[-1]
    body: dict[str, Any] = {"name": job.name, **job.request, "state": latest.state}
    body["createTime"] = timestamp(job.create_time)
    body["updateTime"] = timestamp(latest.at)
    body["experiment"] = experiment_name(job)
    running = [transition for transition in history if transition.state == RUNNING]
    if running:
        body["startTime"] = timestamp(running[0].at)
    if latest.state in TERMINAL_STATES:
        body["endTime"] = timestamp(latest.at)
    if latest.error is not None:
        body["error"] = latest.error
    if api_version == "v1beta1":
        detail_state = tuning_job_state(job, now)
        if detail_state is not None:
            body["tuningJobState"] = detail_state
        if running:
            body["tuningJobMetadata"] = {"completedEpochCount": str(completed_epochs(job, now))}
    if job.data_stats is not None and latest.state != PENDING:
        body["tuningDataStats"] = job.data_stats
    if latest.state == SUCCEEDED:
        assert job.model_id is not None and job.endpoint_id is not None  # only a job with valid data succeeds
        body["tunedModel"] = {
            "model": resource_name(job.name_project, job.location, "models", job.model_id) + "@1",
            "endpoint": resource_name(job.name_project, job.location, "endpoints", job.endpoint_id),
        }
        checkpoints = [
            {
                "checkpointId": str(checkpoint["epoch"]),
                "epoch": str(checkpoint["epoch"]),
                "step": str(checkpoint["epoch"] * job.steps_per_epoch),
                "endpoint": resource_name(job.name_project, job.location, "endpoints", checkpoint["endpoint_id"]),
            }
            for checkpoint in job.checkpoint_endpoints
        ]
        if checkpoints:  # only "for tuning jobs that enable intermediate checkpoints" (discovery doc)
            body["tunedModel"]["checkpoints"] = checkpoints
    return body


# ------------------------------------------------------------------------------------------ validation
def _label_characters_ok(text: str) -> bool:
    return all(character in "_-" or character.isdigit() or character.islower() for character in text)


def _validate_labels(labels: Any) -> None:
    if not isinstance(labels, dict):
        raise invalid_argument("labels must be an object of string keys to string values.")
    if len(labels) > MAX_LABELS:
        raise invalid_argument(f"labels has {len(labels)} entries; at most {MAX_LABELS} are allowed.")
    for key, value in labels.items():
        if not (1 <= len(key) <= MAX_LABEL_LENGTH and key[0].islower() and _label_characters_ok(key)):
            raise invalid_argument(
                f"Label key {key!r} is invalid: keys must be 1-{MAX_LABEL_LENGTH} characters, start with a "
                "lowercase letter and contain only lowercase letters, digits, '_' and '-'."
            )
        if not isinstance(value, str) or len(value) > MAX_LABEL_LENGTH or not _label_characters_ok(value):
            raise invalid_argument(
                f"Label value {value!r} of key {key!r} is invalid: values must be at most {MAX_LABEL_LENGTH} "
                "characters of lowercase letters, digits, '_' and '-'."
            )


# Field names of the TuningJob body (v1beta1, a superset of v1) and of the nested messages the emulator
# reads, from the aiplatform discovery documents (revision 20261106, google-api-python-client 2.202.0).
# Proto JSON parsing refuses any other name, so a misspelt field is a 400, not silently ignored.
TUNING_JOB_FIELDS = frozenset(
    [
        "baseModel",
        "createTime",
        "customBaseModel",
        "description",
        "distillationSpec",
        "encryptionSpec",
        "endTime",
        "error",
        "evaluateDatasetRuns",
        "experiment",
        "fullFineTuningSpec",
        "gcsMetricsUri",
        "labels",
        "name",
        "outputUri",
        "partnerModelTuningSpec",
        "pipelineJob",
        "preTunedModel",
        "preferenceOptimizationSpec",
        "reinforcementTuningSpec",
        "satisfiesPzi",
        "satisfiesPzs",
        "serviceAccount",
        "startTime",
        "state",
        "supervisedTuningSpec",
        "tunedModel",
        "tunedModelDisplayName",
        "tuningDataStats",
        "tuningJobMetadata",
        "tuningJobState",
        "updateTime",
        "veoLoraTuningSpec",
        "veoTuningSpec",
    ]
)
SUPERVISED_TUNING_SPEC_FIELDS = frozenset(
    [
        "evaluationConfig",
        "exportLastCheckpointOnly",
        "hyperParameters",
        "trainingDatasetUri",
        "tuningMode",
        "validationDatasetUri",
    ]
)
HYPER_PARAMETER_FIELDS = frozenset(["adapterSize", "batchSize", "epochCount", "learningRate", "learningRateMultiplier"])
_SPEC_PATH = "tuning_job.supervised_tuning_spec"
_HYPER_PATH = f"{_SPEC_PATH}.hyper_parameters"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _strict_fields(message: dict[str, Any], known: frozenset[str], path: str) -> dict[str, Any]:
    """The message with camelCase keys; raises a 400 naming the first unknown field, as proto JSON parsing does.

    Proto JSON accepts a field's lowerCamelCase JSON name and its original snake_case name.
    """
    normalized: dict[str, Any] = {}
    for key, value in message.items():
        name = key if key in known else _camel(key)
        if name not in known:
            description = f"Invalid JSON payload received. Unknown name \"{key}\" at '{path}': Cannot find field."
            raise ApiError(
                400,
                "INVALID_ARGUMENT",
                description,
                details=[{"@type": BAD_REQUEST_TYPE, "fieldViolations": [{"field": path, "description": description}]}],
            )
        normalized[name] = value
    return normalized


def _dataset_uri(spec: dict[str, Any], key: str, violations: list[tuple[str, str]]) -> str | None:
    """A dataset URI Vertex accepts: a gs:// object ending in .jsonl (it answers 400 at create otherwise)."""
    uri = spec.get(key)
    field = f"{_SPEC_PATH}.{_snake(key)}"
    if uri is None:
        return None
    if not isinstance(uri, str) or not uri.startswith("gs://") or not uri.lower().endswith(".jsonl"):
        # Vertex's own words (GoogleCloudPlatform/generative-ai #2081), plus the camelCase name callers use.
        violations.append(
            (field, f"{_snake(key)} should be a GCS object of type JSONL (supervisedTuningSpec.{key} {uri!r}).")
        )
        return None
    bucket, _, name = uri.removeprefix("gs://").partition("/")
    if not bucket or not name:
        violations.append((field, f"{_snake(key)} {uri!r} must look like gs://bucket/object.jsonl."))
        return None
    return uri


def _epochs(hyper_parameters: dict[str, Any], violations: list[tuple[str, str]]) -> int:
    value = hyper_parameters.get("epochCount")
    if value is None:
        return DEFAULT_EPOCHS
    field = f"{_HYPER_PATH}.epoch_count"
    try:
        epochs = int(value)
        if isinstance(value, bool) or epochs != float(value):
            raise ValueError
    except (TypeError, ValueError):
        violations.append((field, f"hyperParameters.epochCount must be an integer, got {value!r}."))
        return DEFAULT_EPOCHS
    if not MIN_EPOCHS <= epochs <= MAX_EPOCHS:
        violations.append(
            (field, f"hyperParameters.epochCount must be between {MIN_EPOCHS} and {MAX_EPOCHS}, got {epochs}.")
        )
    return epochs


def _base_model(body: dict[str, Any], table: ModelTable, today: date, violations: list[tuple[str, str]]) -> str:
    base_model = body.get("baseModel")
    field = "tuning_job.base_model"
    if not base_model:
        if body.get("preTunedModel"):
            raise invalid_argument("Tuning a tuned model (preTunedModel) is not supported by the emulator.")
        violations.append((field, "baseModel is required, e.g. 'gemini-3.5-flash-lite'."))
        return ""
    tunable = ", ".join(table.tunable_now(today))
    facts = table.get(base_model) if isinstance(base_model, str) else None
    if facts is None or not facts.tunable:
        violations.append(
            (field, f"Base model {base_model!r} is not supported for tuning. Tunable models today: {tunable}.")
        )
    elif facts.retired(today):
        violations.append((field, f"Base model {base_model!r} was retired on {facts.retires}; use one of: {tunable}."))
    elif facts.new_access_blocked(today):
        violations.append(
            (
                field,
                f"Base model {base_model!r} retires on {facts.retires}; new tuning jobs are blocked since "
                f"{facts.blocked_from()}. Use one of: {tunable}.",
            )
        )
    return str(base_model)


def _adapter_size(
    hyper_parameters: dict[str, Any], facts: ModelFacts | None, violations: list[tuple[str, str]]
) -> None:
    adapter_size = hyper_parameters.get("adapterSize")
    if adapter_size is None or adapter_size == "ADAPTER_SIZE_UNSPECIFIED":
        return
    field = f"{_HYPER_PATH}.adapter_size"
    if adapter_size not in ADAPTER_SIZES:
        violations.append(
            (field, f"hyperParameters.adapterSize {adapter_size!r} is invalid; use one of {list(ADAPTER_SIZES)}.")
        )
        return
    size = ADAPTER_SIZE_VALUES[adapter_size]
    if facts is not None and size not in facts.adapter_sizes:
        # Vertex's message (googleapis/python-genai #908), with what the model supports.
        violations.append(
            (
                field,
                f"The adapter size is not supported for this base model: {facts.model_id} supports adapter "
                f"sizes {list(facts.adapter_sizes)}, got {size} ({adapter_size}).",
            )
        )


def validate_create_request(body: Any, table: ModelTable, today: date) -> CreateRequest:
    """Check a ``POST …/tuningJobs`` body; raises a 400 ``ApiError`` that says what is wrong.

    Unknown field names fail first (as proto JSON parsing does); every other problem is collected into
    one ``google.rpc.BadRequest`` with a field violation each.
    """
    if not isinstance(body, dict):
        raise invalid_argument("The request body must be a TuningJob JSON object.")
    body = _strict_fields(body, TUNING_JOB_FIELDS, "tuning_job")
    violations: list[tuple[str, str]] = []
    base_model = _base_model(body, table, today, violations)
    spec = body.get("supervisedTuningSpec")
    if not isinstance(spec, dict):
        raise bad_request(
            [
                *violations,
                ("tuning_job.supervised_tuning_spec", "supervisedTuningSpec is required (with trainingDatasetUri)."),
            ]
        )
    spec = _strict_fields(spec, SUPERVISED_TUNING_SPEC_FIELDS, _SPEC_PATH)
    training_uri = _dataset_uri(spec, "trainingDatasetUri", violations)
    if spec.get("trainingDatasetUri") is None:
        violations.append(
            (
                f"{_SPEC_PATH}.training_dataset_uri",
                "supervisedTuningSpec.trainingDatasetUri is required: the gs:// URI of a JSONL file.",
            )
        )
    validation_uri = _dataset_uri(spec, "validationDatasetUri", violations)
    hyper_parameters = spec.get("hyperParameters") or {}
    if not isinstance(hyper_parameters, dict):
        raise bad_request([*violations, (_HYPER_PATH, "supervisedTuningSpec.hyperParameters must be an object.")])
    hyper_parameters = _strict_fields(hyper_parameters, HYPER_PARAMETER_FIELDS, _HYPER_PATH)
    epochs = _epochs(hyper_parameters, violations)
    _adapter_size(hyper_parameters, table.get(base_model) if base_model else None, violations)
    multiplier = hyper_parameters.get("learningRateMultiplier")
    if multiplier is not None and (
        isinstance(multiplier, bool) or not isinstance(multiplier, int | float) or multiplier <= 0
    ):
        violations.append(
            (
                f"{_HYPER_PATH}.learning_rate_multiplier",
                f"hyperParameters.learningRateMultiplier must be > 0, got {multiplier!r}.",
            )
        )
    if "labels" in body:
        _validate_labels(body["labels"])
    for key in ("tunedModelDisplayName", "description"):
        if key in body and not isinstance(body[key], str):
            violations.append((f"tuning_job.{_snake(key)}", f"{key} must be a string."))
    if violations:
        raise bad_request(violations)
    assert training_uri is not None  # a missing or bad URI is a violation above
    echoed_keys = ("baseModel", "supervisedTuningSpec", "tunedModelDisplayName", "description", "labels")
    echoed = {key: body[key] for key in echoed_keys if key in body}
    echoed["supervisedTuningSpec"] = (
        {**spec, "hyperParameters": hyper_parameters} if "hyperParameters" in spec else spec
    )
    return CreateRequest(
        base_model=base_model,
        training_dataset_uri=training_uri,
        validation_dataset_uri=validation_uri,
        epochs=epochs,
        echoed=echoed,
        export_last_checkpoint_only=bool(spec.get("exportLastCheckpointOnly")),
    )


# ------------------------------------------------------------------------------------------ listing
_FILTER_TERM = re.compile(r'^labels\.(?P<key>[^\s=:"]+)\s*(?P<op>=|:)\s*(?P<value>"[^"]*"|[^\s"]+)$')


def parse_label_filter(text: str | None) -> list[tuple[str, str | None]]:
    """Parse an AIP-160 filter of label terms joined by AND.

    Supported terms: ``labels.key="value"``, ``labels.key=value`` and ``labels.key:*`` (the key is set);
    returns (key, value or None for "any value") pairs. Raises a 400 ``ApiError`` for anything else.
    """
    if text is None or not text.strip():
        return []
    terms = []
    for term in re.split(r"\s+AND\s+", text.strip()):
        match = _FILTER_TERM.match(term.strip())
        if match is None:
            raise invalid_argument(
                f'Unsupported filter term {term!r} in {text!r}: the emulator supports labels.KEY="VALUE", '
                "labels.KEY=VALUE and labels.KEY:* joined by AND."
            )
        value = match.group("value").strip('"')
        if match.group("op") == ":" and value != "*":
            raise invalid_argument(f"Unsupported filter term {term!r}: use labels.KEY:* to test a key is set.")
        terms.append((match.group("key"), None if match.group("op") == ":" else value))
    return terms


def matches_filter(job: TuningJobRecord, terms: list[tuple[str, str | None]]) -> bool:
    labels = job.request.get("labels") or {}
    return all(key in labels and (value is None or labels[key] == value) for key, value in terms)


def _page_token(job: TuningJobRecord) -> str:
    return base64.urlsafe_b64encode(json.dumps([job.create_time, job.job_id]).encode()).decode()


def _after_token(token: str) -> tuple[float, str]:
    try:
        create_time, job_id = json.loads(base64.urlsafe_b64decode(token.encode()))
        return float(create_time), str(job_id)
    except (ValueError, TypeError, binascii.Error):
        raise invalid_argument(f"pageToken {token!r} is invalid: pass nextPageToken of the previous page.") from None


def list_jobs(
    store: Store,
    project: str,
    location: str,
    filter_text: str | None,
    page_size_text: str | None,
    page_token: str | None,
    now: float,
    api_version: str = "v1beta1",
    hidden: Container[str] = frozenset(),
) -> dict[str, Any]:
    """A ListTuningJobsResponse page: newest first, with ``nextPageToken`` when more jobs match.

    ``hidden``: ids of jobs not visible yet (the ``slow_create_seconds`` fault).
    """
    terms = parse_label_filter(filter_text)
    try:
        page_size = int(page_size_text) if page_size_text else DEFAULT_PAGE_SIZE
    except ValueError:
        raise invalid_argument(f"pageSize must be an integer, got {page_size_text!r}.") from None
    if page_size < 0:
        raise invalid_argument(f"pageSize must be >= 0, got {page_size}.")
    page_size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    jobs = sorted(
        (
            job
            for job in store.jobs.values()
            if job.in_project(project)
            and job.location == location
            and job.job_id not in hidden
            and matches_filter(job, terms)
        ),
        key=lambda job: (job.create_time, job.job_id),
        reverse=True,
    )
    if page_token:
        after = _after_token(page_token)
        jobs = [job for job in jobs if (job.create_time, job.job_id) < after]
    page = jobs[:page_size]
    body: dict[str, Any] = {"tuningJobs": [job_json(job, now, api_version) for job in page]}
    if len(jobs) > page_size:
        body["nextPageToken"] = _page_token(page[-1])
    return body
