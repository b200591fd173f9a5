"""Run-time configuration of the Vertex AI emulator: fault injection, tuning-job timing and holds.

The same keys are accepted as command-line flags (``--latency-seconds`` or ``--latency`` ...), as
keyword arguments of ``VertexEmulatorProcess`` and as JSON fields of ``POST /_emulator/config``.
This module (and what it imports) is standard library only, so the process launcher can import it cheaply.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from devtools.vertex_emulator.jobs import HOLDABLE_STATES

# Method keys: what the request counter reports and what ``fault_methods`` selects.
API_METHODS = (
    "tuningJobs.create",
    "tuningJobs.get",
    "tuningJobs.list",
    "tuningJobs.cancel",
    "generateContent",
    "streamGenerateContent",
    "countTokens",
    # Model Registry (registry.py)
    "models.get",
    "models.listVersions",
    "models.mergeVersionAliases",
    "models.delete",
    "models.patch",
    # Batch prediction (batch_prediction.py)
    "batchPredictionJobs.create",
    "batchPredictionJobs.get",
    "batchPredictionJobs.list",
    "batchPredictionJobs.cancel",
)
JOB_OUTCOMES = ("succeed", "fail", "cancel", "never_finish")


@dataclass(frozen=True)
class EmulatorConfig:
    """Fault injection and timing. Every field is a config key; see README.md for the meaning."""

    latency_seconds: float = 0.0
    requests_per_minute: int | None = None
    # The quota's window (Vertex: a minute). Tests shorten it so that a quota run takes seconds; the
    # quota is then requests_per_minute admitted calls per window, whatever its length.
    quota_window_seconds: float = 60.0
    error_rate_503: float = 0.0
    error_seed: int = 0
    job_outcome: str = "succeed"
    pending_seconds: float = 0.2
    queued_seconds: float = 0.2
    running_seconds: float = 1.0
    cancelling_seconds: float = 0.2
    fault_methods: tuple[str, ...] | None = None  # None: every API method
    hold_jobs_at: str | None = None  # new jobs stop in this state until advanced (emulator-only test control)
    gcs_endpoint: str | None = None
    retry_after_on_429: bool = False  # Vertex sends no Retry-After on 429; True adds one (a fault option)
    # Fidelity knobs (issue 10): the emulator's "today" for retirement checks (ISO date; None = the real
    # UTC date), the project number in returned resource names (None = echo the project as addressed),
    # whether models think as models.json says (False = no model thinks), the smallest training set.
    today: str | None = None
    project_number: str | None = "123456789012"
    model_thinking: bool = True
    min_training_examples: int | None = None  # None: models.json's tuning_limits.training_examples_min
    # Which epoch's checkpoint answers best (None = the last); others answer worse the farther they are.
    best_checkpoint_epoch: int | None = None
    # A fault option (issue 13): a create Vertex acts on while the client has already given up. The job is
    # stored at once but get/list see it only this many seconds later, and the answer comes that late too,
    # so a client whose timeout is shorter gets no answer. 0 = off.
    slow_create_seconds: float = 0.0
    # Batch prediction (issue 13): the least time a batch job spends RUNNING, and a fault option: the share
    # of its lines answered with a per-line error status instead of a response.
    batch_running_seconds: float = 0.3
    batch_line_error_rate: float = 0.0

    def today_date(self) -> date:
        """The emulator's current date for retirement checks."""
        return date.fromisoformat(self.today) if self.today else datetime.now(UTC).date()

    def faults_apply_to(self, method: str) -> bool:
        """Whether latency, 429 and 503 faults apply to the API method ``method``."""
        return self.fault_methods is None or method in self.fault_methods

    def to_json(self) -> dict[str, Any]:
        """The configuration as a JSON-friendly dict."""
        values = dataclasses.asdict(self)
        if self.fault_methods is not None:
            values["fault_methods"] = list(self.fault_methods)
        return values

    def updated(self, changes: dict[str, Any]) -> EmulatorConfig:
        """A copy with ``changes`` merged in, each validated; raises ``ValueError`` saying what is wrong."""
        unknown = sorted(set(changes) - set(CONFIG_KEYS))
        if unknown:
            raise ValueError(f"unknown config key(s) {unknown}; known keys: {sorted(CONFIG_KEYS)}")
        return dataclasses.replace(self, **{key: _validated(key, value) for key, value in changes.items()})


CONFIG_KEYS = tuple(config_field.name for config_field in dataclasses.fields(EmulatorConfig))

# TEMPORARY (issue 10): start-up config that restores the emulator's old leniency for callers not yet
# updated. (Nothing is pinned any more: the library runs on the real date with current catalog models,
# reads resource names with the project number, sends a thinking config per model and tunes files of at
# least 16 examples.) tests/conftest.py and devtools/local_stack.py still pass this empty mapping.
LIBRARY_COMPATIBILITY_PINS: dict[str, Any] = {}
_SECONDS_KEYS = frozenset(
    {"latency_seconds", "pending_seconds", "queued_seconds", "running_seconds", "cancelling_seconds"}
    | {"slow_create_seconds", "batch_running_seconds"}
)


_NULLABLE_KEYS = frozenset(
    {"requests_per_minute", "fault_methods", "gcs_endpoint", "today", "project_number", "min_training_examples"}
    | {"best_checkpoint_epoch"}
)
_PROJECT_NUMBER = re.compile(r"^[0-9]{1,20}$")


def _flag(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")
    raise ValueError(f"{key} must be true or false, got {value!r}")


def _positive_int_or_none(key: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{key} must be a positive integer or null, got {value!r}")
    return value


def _validated(key: str, value: Any) -> Any:
    if value == "" and key in _NULLABLE_KEYS:  # how a command line spells null
        value = None
    if key == "retry_after_on_429" or key == "model_thinking":
        return _flag(key, value)
    if key == "today":
        if value is None:
            return None
        try:
            return date.fromisoformat(value).isoformat()
        except (TypeError, ValueError):
            raise ValueError(f"today must be an ISO date (YYYY-MM-DD) or null, got {value!r}") from None
    if key == "project_number":
        if value is None:
            return None
        if not isinstance(value, str | int) or isinstance(value, bool) or not _PROJECT_NUMBER.match(str(value)):
            raise ValueError(f"project_number must be digits (e.g. '123456789012') or null, got {value!r}")
        return str(value)
    if key in ("min_training_examples", "best_checkpoint_epoch"):
        return _positive_int_or_none(key, value)
    if key == "quota_window_seconds":
        number = _number(key, value)
        if number <= 0:
            raise ValueError(f"quota_window_seconds must be > 0 seconds, got {value!r}")
        return number
    if key in _SECONDS_KEYS:
        number = _number(key, value)
        if number < 0:
            raise ValueError(f"{key} must be >= 0 seconds, got {value!r}")
        return number
    if key == "requests_per_minute":
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"requests_per_minute must be a positive integer or null, got {value!r}")
        return value
    if key == "batch_line_error_rate":
        number = _number(key, value)
        if not 0.0 <= number <= 1.0:
            raise ValueError(f"batch_line_error_rate must be between 0 and 1, got {value!r}")
        return number
    if key == "error_rate_503":
        number = _number(key, value)
        if not 0.0 <= number <= 1.0:
            raise ValueError(f"error_rate_503 must be between 0 and 1, got {value!r}")
        return number
    if key == "error_seed":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"error_seed must be an integer, got {value!r}")
        return value
    if key == "job_outcome":
        if value not in JOB_OUTCOMES:
            raise ValueError(f"job_outcome must be one of {list(JOB_OUTCOMES)}, got {value!r}")
        return value
    if key == "fault_methods":
        return _fault_methods(value)
    if key == "hold_jobs_at":
        if value is not None and value not in HOLDABLE_STATES:
            raise ValueError(f"hold_jobs_at must be one of {list(HOLDABLE_STATES)} or null, got {value!r}")
        return value
    if key == "gcs_endpoint":
        if value is not None and not (isinstance(value, str) and value.startswith(("http://", "https://"))):
            raise ValueError(f"gcs_endpoint must be an http(s) URL or null, got {value!r}")
        return value.rstrip("/") if value else None
    raise ValueError(f"unknown config key {key!r}")  # pragma: no cover - guarded by updated()


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{key} must be a number, got {value!r}")
    return float(value)


def _fault_methods(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"fault_methods must be a list of method keys or null, got {value!r}")
    unknown = sorted(set(value) - set(API_METHODS))
    if unknown:
        raise ValueError(f"fault_methods has unknown method key(s) {unknown}; known: {list(API_METHODS)}")
    return tuple(value)
