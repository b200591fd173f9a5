"""What to do after each read of a tuning job while waiting for it: poll again, back off, or stop.

The deferred wait (:class:`gemini_qa_tuning.triggers.tuning.TuningJobTrigger`) reads the job, hands the read
(a job summary, or the exception the read raised) to :func:`next_poll_step`, logs the lines it returns, and
either sleeps the seconds it says or yields the one event it carries. Every rule of the wait lives here, as a
pure function of the read, what the wait remembers (:class:`PollState`), the clock and the deadline:

* a live job: wait ``poll_interval`` (never past the deadline); at the deadline, a ``timeout`` event;
* a finished job: a ``success`` event (a tuned model exists) or a ``failed`` event (see
  :func:`gemini_qa_tuning.tuning.judge_job`);
* a transient API error (429, 5xx, network): jittered exponential backoff, at least the server's
  ``Retry-After``, capped by ``max_backoff``; after ``max_transient_error_seconds`` of errors in a row,
  an ``error`` event;
* any other error (403, 404, ...): raised again at once, for the caller to report as an ``error`` event
  (it knows the connection and permissions involved).

Plain Python: no Airflow import.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from gemini_qa_tuning.api_errors import backoff_delay, is_transient_api_error, retry_after_seconds
from gemini_qa_tuning.tuning import JobOutcome, JobSnapshot, judge_job, progress_text, rule_for_state

__all__ = [
    "DEFAULT_MAX_BACKOFF",
    "DEFAULT_MAX_TRANSIENT_ERROR_SECONDS",
    "DEFAULT_POLL_INTERVAL",
    "FIRST_RETRY_DELAY",
    "LogLine",
    "PollEvent",
    "PollPolicy",
    "PollState",
    "PollStatus",
    "PollStep",
    "next_poll_step",
]

DEFAULT_POLL_INTERVAL = 60.0
DEFAULT_MAX_BACKOFF = 300.0
DEFAULT_MAX_TRANSIENT_ERROR_SECONDS = 1800.0
#: Transient errors are first retried after this delay (or ``poll_interval`` if shorter), doubling each time.
FIRST_RETRY_DELAY = 2.0

# PAUSED and CANCELLING need a person's attention (resume it / someone cancelled it).
_ATTENTION_STATES = frozenset({"JOB_STATE_PAUSED", "JOB_STATE_CANCELLING"})


class PollStatus(StrEnum):
    """The ``status`` of the wait's one event."""

    SUCCESS = "success"
    FAILED = "failed"
    TIMEOUT = "timeout"
    ERROR = "error"


@dataclass(frozen=True)
class PollPolicy:
    """How often to read, how long to back off, how long transient errors are tolerated (all seconds)."""

    poll_interval: float = DEFAULT_POLL_INTERVAL
    max_backoff: float = DEFAULT_MAX_BACKOFF
    max_transient_error_seconds: float = DEFAULT_MAX_TRANSIENT_ERROR_SECONDS

    def retry_delay(self, error: BaseException, consecutive_failures: int, rng: random.Random) -> float:
        """Seconds before reading again after the ``consecutive_failures``-th transient error in a row."""
        # Jittered, so that many waits hitting the same quota do not retry together.
        delay = backoff_delay(
            consecutive_failures,
            base_seconds=min(FIRST_RETRY_DELAY, self.poll_interval),
            cap_seconds=self.max_backoff,
            rng=rng,
        )
        server_delay = retry_after_seconds(error)
        if server_delay is not None:
            delay = max(delay, server_delay)
        return min(delay, self.max_backoff)


@dataclass(frozen=True)
class PollState:
    """What the wait remembers between two reads."""

    last_state: str | None = None
    last_progress: str = ""
    consecutive_failures: int = 0
    #: Unix time of the first transient error of the current run of errors; ``None`` after a good read.
    failing_since: float | None = None


@dataclass(frozen=True)
class LogLine:
    """A line for the wait's log; ``warning`` when a person may need to act."""

    level: str  # "info" or "warning"
    text: str


@dataclass(frozen=True)
class PollEvent:
    """The wait's one result, sent to the sensor's ``execute_complete`` as :meth:`payload`."""

    status: PollStatus
    message: str
    job_name: str
    state: str | None = None
    job: JobSnapshot | None = None  # the last read of the job, when it was read

    def payload(self) -> dict[str, Any]:
        """JSON-able event payload: ``status``, ``message``, ``job_name``, and the keys each status has."""
        values: dict[str, Any] = {"status": str(self.status), "message": self.message, "job_name": self.job_name}
        if self.status is not PollStatus.ERROR or self.state is not None:
            values["state"] = self.state
        if self.job is not None:
            values["job"] = self.job.to_json()
            if self.status is PollStatus.SUCCESS:
                values["tuned_model"] = self.job.tuned_model
                values["endpoint"] = self.job.endpoint
        return values


@dataclass(frozen=True)
class PollStep:
    """What to do after one read: sleep ``sleep_seconds`` and read again, or stop with ``event``."""

    state: PollState
    logs: tuple[LogLine, ...] = ()
    sleep_seconds: float | None = None
    event: PollEvent | None = None


def next_poll_step(
    read: JobSnapshot | BaseException,
    state: PollState,
    *,
    job_name: str,
    policy: PollPolicy,
    now: float,
    deadline: float | None,
    rng: random.Random,
) -> PollStep:
    """The next step of the wait after ``read`` (a job summary or the error of the read) at Unix time ``now``.

    ``deadline`` is the Unix time after which a live job yields a ``timeout`` event (``None``: never).
    Raises ``read`` when it is an error that no retry can fix (see :func:`~gemini_qa_tuning.api_errors.
    is_transient_api_error`).
    """
    seconds_left = None if deadline is None else deadline - now
    if isinstance(read, BaseException):
        return _after_error(read, state, job_name, policy, now, seconds_left, rng)
    return _after_read(read, state, job_name, policy, seconds_left)


def _after_error(
    error: BaseException,
    state: PollState,
    job_name: str,
    policy: PollPolicy,
    now: float,
    seconds_left: float | None,
    rng: random.Random,
) -> PollStep:
    if not is_transient_api_error(error):
        raise error  # waiting longer cannot fix it: the caller reports it (with the connection it used)
    failures = state.consecutive_failures + 1
    failing_since = state.failing_since if state.failing_since is not None else now
    failing_for = now - failing_since
    remembered = replace(state, consecutive_failures=failures, failing_since=failing_since)
    if failing_for > policy.max_transient_error_seconds:
        message = (
            f"Gave up reading tuning job {job_name} after {failures} transient errors over {failing_for:.0f} s; "
            f"last: {error}. The job itself may still be running: re-run this sensor to resume waiting."
        )
        return PollStep(remembered, event=PollEvent(PollStatus.ERROR, message, job_name, state=state.last_state))
    delay = policy.retry_delay(error, failures, rng)
    warning = LogLine(
        "warning",
        f"Transient error reading {job_name} ({failures} in a row): {error}. Retrying in {delay:.1f} s.",
    )
    if seconds_left is not None and seconds_left <= 0:
        return PollStep(remembered, (warning,), event=_timeout_event(job_name, state.last_state))
    return PollStep(remembered, (warning,), sleep_seconds=_until_deadline(delay, seconds_left))


def _after_read(
    summary: JobSnapshot, state: PollState, job_name: str, policy: PollPolicy, seconds_left: float | None
) -> PollStep:
    job_state = summary.state or "JOB_STATE_UNSPECIFIED"
    progress = progress_text(summary)
    verdict = judge_job(summary)
    logs: list[LogLine] = []
    if job_state != state.last_state:
        logs.append(
            LogLine(
                "warning" if job_state in _ATTENTION_STATES else "info",
                f"Tuning job {job_name}: {state.last_state or 'first read'} -> {job_state} "
                f"({rule_for_state(job_state).reason})",
            )
        )
    if progress and progress != state.last_progress:
        logs.append(LogLine("info", f"Tuning job {job_name} progress: {progress}"))
    remembered = PollState(last_state=job_state, last_progress=progress or state.last_progress)
    if verdict.outcome is not JobOutcome.WAITING:
        logs.append(LogLine("info", verdict.message))
        status = PollStatus.SUCCESS if verdict.outcome is JobOutcome.SUCCEEDED else PollStatus.FAILED
        event = PollEvent(status, verdict.message, job_name, state=job_state, job=summary)
        return PollStep(remembered, tuple(logs), event=event)
    if seconds_left is not None and seconds_left <= 0:
        return PollStep(remembered, tuple(logs), event=_timeout_event(job_name, job_state))
    return PollStep(remembered, tuple(logs), sleep_seconds=_until_deadline(policy.poll_interval, seconds_left))


def _until_deadline(delay: float, seconds_left: float | None) -> float:
    return delay if seconds_left is None else min(delay, seconds_left)


def _timeout_event(job_name: str, last_state: str | None) -> PollEvent:
    return PollEvent(
        PollStatus.TIMEOUT,
        f"Tuning job {job_name} was still {last_state or 'not readable'} when the sensor's timeout expired.",
        job_name,
        state=last_state,
    )
