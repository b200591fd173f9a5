"""next_poll_step: every rule of the deferred wait as a pure function (no trigger, no hook, no clock)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gemini_qa_tuning.job_polling import (
    FIRST_RETRY_DELAY,
    PollPolicy,
    PollState,
    PollStatus,
    PollStep,
    next_poll_step,
)
from gemini_qa_tuning.tuning import JobSnapshot

JOB = "projects/p/locations/us-central1/tuningJobs/42"
NOW = 1_900_000_000.0
POLICY = PollPolicy(poll_interval=60.0, max_backoff=300.0, max_transient_error_seconds=1800.0)
MODEL = {"tuned_model": "projects/p/locations/l/models/1@1", "endpoint": "projects/p/locations/l/endpoints/2"}


def summary(state: str, **values: Any) -> JobSnapshot:
    return JobSnapshot(job_name=JOB, state=state, **values)


def step(read: Any, state: PollState | None = None, *, now: float = NOW, deadline: float | None = None) -> PollStep:
    return next_poll_step(
        read, state or PollState(), job_name=JOB, policy=POLICY, now=now, deadline=deadline, rng=random.Random(7)
    )


def server_error(code: int = 503, headers: dict[str, str] | None = None) -> Exception:
    from google.genai import errors

    error = (errors.ServerError if code >= 500 else errors.ClientError)(
        code, {"error": {"code": code, "message": "down"}}
    )
    if headers is not None:
        error.response = type("Response", (), {"headers": headers})()
    return error


# --------------------------------------------------------------------------- job reads
def test_live_job_waits_one_poll_interval_and_logs_the_change() -> None:
    result = step(summary("JOB_STATE_RUNNING"))
    assert result.event is None and result.sleep_seconds == 60.0
    assert result.state == PollState(last_state="JOB_STATE_RUNNING")
    assert [(line.level, line.text) for line in result.logs] == [
        ("info", f"Tuning job {JOB}: first read -> JOB_STATE_RUNNING (training is in progress.)")
    ]


def test_unchanged_state_and_progress_are_not_logged_again() -> None:
    running = summary("JOB_STATE_RUNNING", completed_epochs=1, epochs=3)
    first = step(running)
    assert any("progress: epoch 1/3" in line.text for line in first.logs)
    assert step(running, first.state).logs == ()


@pytest.mark.parametrize("state", ["JOB_STATE_PAUSED", "JOB_STATE_CANCELLING"])
def test_states_needing_a_person_are_warnings(state: str) -> None:
    (line,) = step(summary(state), PollState(last_state="JOB_STATE_RUNNING")).logs
    assert line.level == "warning" and "JOB_STATE_RUNNING -> " + state in line.text


def test_success_carries_model_endpoint_and_summary() -> None:
    result = step(summary("JOB_STATE_SUCCEEDED", **MODEL))
    assert result.event is not None and result.sleep_seconds is None
    payload = result.event.payload()
    assert json.loads(json.dumps(payload)) == payload
    assert payload["status"] == "success" and payload["state"] == "JOB_STATE_SUCCEEDED"
    assert (payload["tuned_model"], payload["endpoint"]) == (MODEL["tuned_model"], MODEL["endpoint"])
    assert payload["job"]["endpoint"] == MODEL["endpoint"] and payload["job_name"] == JOB


@pytest.mark.parametrize(
    "final",
    [
        summary("JOB_STATE_FAILED", error_message="bad data in line 7"),
        summary("JOB_STATE_CANCELLED"),
        summary("JOB_STATE_EXPIRED"),
        summary("JOB_STATE_SUCCEEDED"),  # no endpoint: nothing to evaluate
    ],
)
def test_ended_without_a_model_is_failed(final: JobSnapshot) -> None:
    result = step(final)
    assert result.event is not None and result.event.status is PollStatus.FAILED
    assert "bad data in line 7" in result.event.message or final.error_message is None


def test_deadline_turns_a_live_job_into_a_timeout_and_never_sleeps_past_it() -> None:
    assert step(summary("JOB_STATE_RUNNING"), deadline=NOW + 5).sleep_seconds == 5
    result = step(summary("JOB_STATE_RUNNING"), deadline=NOW)
    assert result.event is not None and result.event.status is PollStatus.TIMEOUT
    assert result.event.payload()["state"] == "JOB_STATE_RUNNING"
    finished = step(summary("JOB_STATE_SUCCEEDED", **MODEL), deadline=NOW - 1)  # a result beats the deadline
    assert finished.event is not None and finished.event.status is PollStatus.SUCCESS


# --------------------------------------------------------------------------- errors
def test_transient_error_backs_off_and_counts() -> None:
    first = step(server_error(503), PollState(last_state="JOB_STATE_RUNNING"))
    assert first.event is None and first.state.consecutive_failures == 1 and first.state.failing_since == NOW
    assert FIRST_RETRY_DELAY / 2 <= (first.sleep_seconds or 0) <= FIRST_RETRY_DELAY
    (line,) = first.logs
    assert line.level == "warning" and "1 in a row" in line.text
    second = step(server_error(429), first.state, now=NOW + 2)
    assert second.state.consecutive_failures == 2 and second.state.failing_since == NOW
    assert FIRST_RETRY_DELAY <= (second.sleep_seconds or 0) <= 2 * FIRST_RETRY_DELAY
    recovered = step(summary("JOB_STATE_RUNNING"), second.state)
    assert (recovered.state.consecutive_failures, recovered.state.failing_since) == (0, None)


def test_retry_after_is_honoured_up_to_max_backoff() -> None:
    assert step(server_error(429, {"Retry-After": "40"})).sleep_seconds == 40
    assert step(server_error(429, {"Retry-After": "4000"})).sleep_seconds == POLICY.max_backoff


def test_transient_errors_past_the_budget_give_up() -> None:
    failing = PollState(last_state="JOB_STATE_RUNNING", consecutive_failures=9, failing_since=NOW - 1801)
    result = step(server_error(503), failing)
    assert result.event is not None and result.event.status is PollStatus.ERROR
    assert "Gave up" in result.event.message and "re-run this sensor" in result.event.message
    assert result.event.payload()["state"] == "JOB_STATE_RUNNING"


def test_deadline_during_transient_errors_is_a_timeout() -> None:
    result = step(server_error(503), PollState(last_state="JOB_STATE_QUEUED"), deadline=NOW)
    assert result.event is not None and result.event.status is PollStatus.TIMEOUT
    assert step(server_error(503), deadline=NOW + 0.5).sleep_seconds == 0.5


def test_permanent_error_is_raised_for_the_caller_to_report() -> None:
    error = server_error(403)
    with pytest.raises(type(error)):
        step(error)
    with pytest.raises(ValueError):
        step(ValueError("not an API error"))


@given(
    failures=st.integers(min_value=0, max_value=50),
    poll_interval=st.floats(min_value=0.001, max_value=3600),
    max_backoff=st.floats(min_value=0.001, max_value=3600),
    seconds_left=st.one_of(st.none(), st.floats(min_value=0.001, max_value=1e6)),
)
def test_never_sleeps_longer_than_allowed(
    failures: int, poll_interval: float, max_backoff: float, seconds_left: float | None
) -> None:
    policy = PollPolicy(poll_interval=poll_interval, max_backoff=max_backoff, max_transient_error_seconds=1e9)
    deadline = None if seconds_left is None else NOW + seconds_left
    for read in (summary("JOB_STATE_RUNNING"), server_error(503)):
        result = next_poll_step(
            read,
            PollState(consecutive_failures=failures, failing_since=NOW if failures else None),
            job_name=JOB,
            policy=policy,
            now=NOW,
            deadline=deadline,
            rng=random.Random(failures),
        )
        assert result.event is None and result.sleep_seconds is not None and result.sleep_seconds >= 0
        assert result.sleep_seconds <= max(poll_interval, max_backoff)
        if seconds_left is not None:
            assert result.sleep_seconds <= seconds_left + 1e-6
