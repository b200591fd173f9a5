"""What a launch did (the tuning job it created or reused) and how it looks for a job a create may have made.

A create that timed out, or lost its answer on the way back, may still be acted on by Vertex: seen in
production as two paid jobs with identical labels, because the lookup by labels right after the timeout
ran before Vertex had made the first job visible. :class:`CreateLookupPolicy` is the rule the launch
operator follows before it creates again: after such an *unknown outcome* it lists the jobs by labels
repeatedly, for a bounded time, and only then creates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self

from gemini_qa_tuning.api_errors import status_code
from gemini_qa_tuning.json_types import (
    JsonObject,
    read_float,
    read_int,
    read_object,
    read_optional_str,
    read_str,
)
from gemini_qa_tuning.tuning.request import TuningRequest

__all__ = [
    "DEFAULT_CREATE_LOOKUP_INTERVAL_SECONDS",
    "DEFAULT_CREATE_VISIBILITY_WAIT_SECONDS",
    "CreateLookupPolicy",
    "TuningJobLaunch",
    "create_outcome_unknown",
]

#: How long the launch keeps looking for a job an unanswered create may have made before it creates
#: again. Our bound, not a published Vertex figure: Google documents no delay between a create being
#: acted on and the job being listed, so the bound is three times the hook's 60 s request timeout (a
#: create Vertex still acts on has at most been in flight that long) and costs at most 3 minutes of a
#: worker slot once per failed create, against the price of a second tuning job.
DEFAULT_CREATE_VISIBILITY_WAIT_SECONDS = 180.0
#: Seconds between two lookups by labels while waiting (12 list calls in 180 s: far below any quota).
DEFAULT_CREATE_LOOKUP_INTERVAL_SECONDS = 15.0


def create_outcome_unknown(error: BaseException) -> bool:
    """Whether a failed create may still have been acted on by Vertex (so a job may appear later).

    True for errors without an HTTP answer (timeouts, resets, refused or dropped connections) and for
    5xx answers (a proxy or front end may answer 502/503/504 for a request the backend still runs);
    false for 4xx answers such as 429 or 408, where Vertex refused the request itself.
    """
    code = status_code(error)
    return code is None or code >= 500


@dataclass(frozen=True)
class CreateLookupPolicy:
    """When to look a job up by labels after a create failed with a transient error.

    :param visibility_wait_seconds: after an unknown outcome (see :func:`create_outcome_unknown`), keep
        looking for at least this long before creating again (0: one lookup, as after a refusal).
    :param interval_seconds: pause between two lookups while waiting (> 0).
    """

    visibility_wait_seconds: float = DEFAULT_CREATE_VISIBILITY_WAIT_SECONDS
    interval_seconds: float = DEFAULT_CREATE_LOOKUP_INTERVAL_SECONDS

    def __post_init__(self) -> None:
        if not (math.isfinite(self.visibility_wait_seconds) and self.visibility_wait_seconds >= 0):
            raise ValueError(
                f"create_visibility_wait_seconds must be a number >= 0, got {self.visibility_wait_seconds!r}."
            )
        if not (math.isfinite(self.interval_seconds) and self.interval_seconds > 0):
            raise ValueError(f"create_lookup_interval_seconds must be a number > 0, got {self.interval_seconds!r}.")

    def lookup_delays(self, first_delay: float, outcome_unknown: bool) -> tuple[float, ...]:
        """Pauses before each lookup: ``first_delay`` (the backoff), then, after an unknown outcome, one
        interval after another until together they cover ``visibility_wait_seconds``."""
        delays = [first_delay]
        if outcome_unknown:
            waited = first_delay
            while waited < self.visibility_wait_seconds:
                pause = min(self.interval_seconds, self.visibility_wait_seconds - waited)
                delays.append(pause)
                waited += pause
        return tuple(delays)


@dataclass(frozen=True)
class TuningJobLaunch:
    """The job a launch created or reused, and what it is estimated (and, once known, billed) to cost.

    ``job_name`` is ``None`` after a dry run, which validated ``request`` and sent nothing.
    """

    dry_run: bool
    base_model: str
    dataset_fingerprint: str
    config_hash: str
    labels: Mapping[str, str]
    epochs: int
    training_examples: int
    estimated_billable_tokens: int
    estimated_cost_usd: float | None
    request: TuningRequest
    job_name: str | None = None
    state: str | None = None
    reused: bool = False
    console_url: str | None = None
    billable_tokens: int | None = None
    actual_cost_usd: float | None = None

    def to_json(self) -> JsonObject:
        return {
            "job_name": self.job_name,
            "state": self.state,
            "reused": self.reused,
            "dry_run": self.dry_run,
            "console_url": self.console_url,
            "base_model": self.base_model,
            "dataset_fingerprint": self.dataset_fingerprint,
            "config_hash": self.config_hash,
            "labels": dict(self.labels),
            "epochs": self.epochs,
            "training_examples": self.training_examples,
            "estimated_billable_tokens": self.estimated_billable_tokens,
            "estimated_cost_usd": self.estimated_cost_usd,
            "billable_tokens": self.billable_tokens,
            "actual_cost_usd": self.actual_cost_usd,
            "request": self.request.to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "tuning job launch"

        def optional_number(key: str) -> float | None:
            return None if data.get(key) is None else read_float(data, key, where)

        labels = read_object(data, "labels", where)
        return cls(
            job_name=read_optional_str(data, "job_name", where),
            state=read_optional_str(data, "state", where),
            reused=data.get("reused") is True,
            dry_run=data.get("dry_run") is True,
            console_url=read_optional_str(data, "console_url", where),
            base_model=read_str(data, "base_model", where),
            dataset_fingerprint=read_str(data, "dataset_fingerprint", where),
            config_hash=read_str(data, "config_hash", where),
            labels={str(key): str(value) for key, value in labels.items()},
            epochs=read_int(data, "epochs", where),
            training_examples=read_int(data, "training_examples", where),
            estimated_billable_tokens=read_int(data, "estimated_billable_tokens", where),
            estimated_cost_usd=optional_number("estimated_cost_usd"),
            billable_tokens=None if data.get("billable_tokens") is None else read_int(data, "billable_tokens", where),
            actual_cost_usd=optional_number("actual_cost_usd"),
            request=TuningRequest.from_json(read_object(data, "request", where)),
        )
