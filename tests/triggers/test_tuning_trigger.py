"""TuningJobTrigger: serialization, one event per run, every job state, transient errors, timeout."""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from airflow.triggers.base import TriggerEvent

from gemini_qa_tuning.triggers.tuning import TuningJobTrigger

JOB = "projects/local-project/locations/us-central1/tuningJobs/42"


async def collect(trigger: TuningJobTrigger, limit: float = 15.0) -> list[dict[str, Any]]:
    """Every event the trigger yields (the triggerer stops after the first; we check there is one)."""

    async def run() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    return await asyncio.wait_for(run(), timeout=limit)


def fast_trigger(job_name: str, **overrides: Any) -> TuningJobTrigger:
    return TuningJobTrigger(
        **{"job_name": job_name, "poll_interval": 0.05, "max_backoff": 0.1, "deadline": time.time() + 10, **overrides}
    )


# --------------------------------------------------------------------------- serialization
def test_serialize_round_trips_and_is_json() -> None:
    from airflow.sdk.module_loading import import_string

    trigger = TuningJobTrigger(
        job_name=JOB,
        gcp_conn_id="my_conn",
        impersonation_chain=("a@x.iam.gserviceaccount.com", "b@x.iam.gserviceaccount.com"),
        base_url="http://127.0.0.1:9",
        poll_interval=12,
        deadline=1_900_000_000.5,
        max_backoff=30,
        max_transient_error_seconds=60,
        cancel_on_kill=True,
    )
    path, kwargs = trigger.serialize()
    assert path == "gemini_qa_tuning.triggers.tuning.TuningJobTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    rebuilt = import_string(path)(**kwargs)
    assert rebuilt.serialize() == (path, kwargs)
    assert set(kwargs) == set(inspect.signature(TuningJobTrigger).parameters)  # every argument, nothing else
    assert kwargs["cancel_on_kill"] is True and kwargs["deadline"] == 1_900_000_000.5
    assert kwargs["impersonation_chain"] == ["a@x.iam.gserviceaccount.com", "b@x.iam.gserviceaccount.com"]


def test_constructor_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="is not a tuning job resource name"):
        TuningJobTrigger(job_name="tuningJobs/42")
    with pytest.raises(ValueError, match="poll_interval must be > 0"):
        TuningJobTrigger(job_name=JOB, poll_interval=0)


# --------------------------------------------------------------------------- every state (scripted API)
class ScriptedHook:
    """Stands in for GenAIVertexHook: answers ``aget_tuning_job`` from a script of jobs or errors."""

    def __init__(self, script: list[Any]) -> None:
        self.script = list(script)
        self.reads = 0
        self.closed = False

    async def aget_tuning_job(self, name: str) -> Any:
        from google.genai import types

        self.reads += 1
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, BaseException):
            raise step
        return types.TuningJob.model_validate({"name": name, **step})

    async def aclose(self) -> None:
        self.closed = True


def scripted(monkeypatch: pytest.MonkeyPatch, script: list[Any]) -> ScriptedHook:
    hook = ScriptedHook(script)
    monkeypatch.setattr(TuningJobTrigger, "_build_hook", lambda self: hook)
    return hook


MODEL = {"model": "projects/p/locations/l/models/1@1", "endpoint": "projects/p/locations/l/endpoints/2"}
STILL_WAITING = [
    {"state": state}
    for state in (
        "JOB_STATE_UNSPECIFIED",
        "JOB_STATE_QUEUED",
        "JOB_STATE_PENDING",
        "JOB_STATE_RUNNING",
        "JOB_STATE_UPDATING",
        "JOB_STATE_PAUSED",
        "JOB_STATE_CANCELLING",
    )
]


@pytest.mark.parametrize(
    ("final", "status"),
    [
        ({"state": "JOB_STATE_SUCCEEDED", "tuned_model": MODEL}, "success"),
        ({"state": "JOB_STATE_PARTIALLY_SUCCEEDED", "tuned_model": MODEL}, "success"),
        ({"state": "JOB_STATE_PARTIALLY_SUCCEEDED"}, "failed"),
        ({"state": "JOB_STATE_SUCCEEDED"}, "failed"),
        ({"state": "JOB_STATE_FAILED", "error": {"code": 3, "message": "bad data in line 7"}}, "failed"),
        ({"state": "JOB_STATE_CANCELLED", "error": {"code": 1, "message": "cancelled"}}, "failed"),
        ({"state": "JOB_STATE_EXPIRED", "error": {"code": 4, "message": "not scheduled within 7 days"}}, "failed"),
        ({"state": "JOB_STATE_EXPIRED"}, "failed"),
    ],
)
async def test_every_waiting_state_then_each_final_state(
    monkeypatch: pytest.MonkeyPatch, final: dict[str, Any], status: str
) -> None:
    hook = scripted(monkeypatch, [*STILL_WAITING, final])
    events = await collect(fast_trigger(JOB, poll_interval=0.001))
    assert len(events) == 1
    event = events[0]
    assert (event["status"], event["state"], event["job_name"]) == (status, final["state"], JOB)
    assert hook.reads == len(STILL_WAITING) + 1 and hook.closed
    if status == "success":
        assert (event["tuned_model"], event["endpoint"]) == (MODEL["model"], MODEL["endpoint"])
    if "error" in final:
        assert final["error"]["message"] in event["message"]


async def test_unknown_future_state_keeps_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    scripted(
        monkeypatch, [{"state": "JOB_STATE_RUNNING"}] * 2 + [{"state": "JOB_STATE_SUCCEEDED", "tuned_model": MODEL}]
    )
    (event,) = await collect(fast_trigger(JOB, poll_interval=0.001))
    assert event["status"] == "success"


async def test_logs_state_changes_and_progress(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    running = {
        "state": "JOB_STATE_RUNNING",
        "tuning_job_metadata": {"completed_epoch_count": 1},
        "supervised_tuning_spec": {"hyper_parameters": {"epoch_count": 3}},
        "tuning_data_stats": {"supervised_tuning_data_stats": {"total_billable_token_count": 1234}},
    }
    scripted(
        monkeypatch,
        [
            {"state": "JOB_STATE_QUEUED"},
            running,
            running,
            {"state": "JOB_STATE_PAUSED"},
            {"state": "JOB_STATE_EXPIRED"},
        ],
    )
    caplog.set_level("INFO")
    (event,) = await collect(fast_trigger(JOB, poll_interval=0.001))
    assert event["status"] == "failed"
    text = caplog.text + capsys.readouterr().out  # Airflow's structlog may print instead of logging
    assert "first read -> JOB_STATE_QUEUED" in text
    assert "JOB_STATE_QUEUED -> JOB_STATE_RUNNING" in text
    assert "epoch 1/3" in text and "1234 billable tokens" in text
    assert text.count("epoch 1/3") == 1  # unchanged progress is not logged again
    assert re.search(r"warning.*-> JOB_STATE_PAUSED", text, re.IGNORECASE)


async def test_transient_errors_are_retried_then_succeed(monkeypatch: pytest.MonkeyPatch) -> None:
    from google.genai import errors

    hook = scripted(
        monkeypatch,
        [
            errors.ClientError(429, {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}),
            errors.ServerError(503, {"error": {"code": 503, "message": "down", "status": "UNAVAILABLE"}}),
            ConnectionResetError("reset by peer"),
            {"state": "JOB_STATE_SUCCEEDED", "tuned_model": MODEL},
        ],
    )
    (event,) = await collect(fast_trigger(JOB))
    assert event["status"] == "success" and hook.reads == 4


async def test_permanent_api_error_yields_one_error_event(monkeypatch: pytest.MonkeyPatch) -> None:
    from google.genai import errors

    scripted(monkeypatch, [errors.ClientError(403, {"error": {"code": 403, "message": "permission denied"}})])
    (event,) = await collect(fast_trigger(JOB))
    assert event["status"] == "error"
    assert "permission denied" in event["message"] and "aiplatform.tuningJobs.get" in event["message"]


async def test_gives_up_after_the_transient_error_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    from google.genai import errors

    scripted(monkeypatch, [errors.ServerError(503, {"error": {"code": 503, "message": "down"}})])
    (event,) = await collect(fast_trigger(JOB, max_transient_error_seconds=0.2, max_backoff=0.02))
    assert event["status"] == "error" and "Gave up" in event["message"] and "re-run this sensor" in event["message"]


async def test_deadline_during_transient_errors_is_a_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    from google.genai import errors

    scripted(monkeypatch, [errors.ServerError(503, {"error": {"code": 503, "message": "down"}})])
    (event,) = await collect(fast_trigger(JOB, deadline=time.time() + 0.2, max_backoff=0.05))
    assert event["status"] == "timeout"


async def test_hook_construction_failure_becomes_an_error_event(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: TuningJobTrigger) -> Any:
        raise RuntimeError("connection 'google_cloud_default' not found")

    monkeypatch.setattr(TuningJobTrigger, "_build_hook", broken)
    (event,) = await collect(fast_trigger(JOB))
    assert event["status"] == "error" and "not found" in event["message"]


async def test_run_does_not_block_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """While the trigger waits between polls, other coroutines keep running."""
    scripted(monkeypatch, [{"state": "JOB_STATE_RUNNING"}])
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    (event,) = await collect(fast_trigger(JOB, poll_interval=0.2, deadline=time.time() + 0.5))
    ticking.cancel()
    assert event["status"] == "timeout"
    assert ticks >= 10  # ~50 expected; a loaded machine still clears 10 only if the loop is not blocked


# --------------------------------------------------------------------------- against the emulator (real SDK)
pytest_integration = pytest.mark.integration


@pytest_integration
async def test_succeeded_job(create_job: Callable[..., str], vertex_emulator: Any) -> None:
    job_name = create_job("succeed")
    (event,) = await collect(fast_trigger(job_name))
    assert event["status"] == "success" and event["state"] == "JOB_STATE_SUCCEEDED"
    assert re.match(r"projects/[0-9]+/locations/us-central1/endpoints/", event["endpoint"])  # project number
    assert event["job"]["billable_tokens"] > 0
    assert vertex_emulator.request_counts()["tuningJobs.cancel"] == 0


@pytest_integration
@pytest.mark.parametrize(("outcome", "state"), [("fail", "JOB_STATE_FAILED"), ("cancel", "JOB_STATE_CANCELLED")])
async def test_failed_and_cancelled_jobs(create_job: Callable[..., str], outcome: str, state: str) -> None:
    (event,) = await collect(fast_trigger(create_job(outcome)))
    assert (event["status"], event["state"]) == ("failed", state)
    assert "never reused" in event["message"]


@pytest_integration
async def test_timeout_leaves_the_job_alone(create_job: Callable[..., str], vertex_emulator: Any) -> None:
    """The trigger only reports the timeout; cancelling is the sensor's job (no side effects here)."""
    job_name = create_job("never_finish")
    (event,) = await collect(fast_trigger(job_name, deadline=time.time() + 0.6))
    assert (event["status"], event["state"]) == ("timeout", "JOB_STATE_RUNNING")
    assert vertex_emulator.request_counts()["tuningJobs.cancel"] == 0


@pytest_integration
@pytest.mark.parametrize("cancel_on_kill", [True, False])
async def test_on_kill_cancels_only_when_configured(
    create_job: Callable[..., str], vertex_emulator: Any, cancel_on_kill: bool
) -> None:
    """What the triggerer calls when a user marks the deferred task failed or clears it."""
    job_name = create_job("never_finish")
    await fast_trigger(job_name, cancel_on_kill=cancel_on_kill).on_kill()
    assert vertex_emulator.request_counts()["tuningJobs.cancel"] == (1 if cancel_on_kill else 0)


async def test_on_kill_failure_is_logged_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(self: TuningJobTrigger) -> Any:
        raise RuntimeError("connection 'google_cloud_default' not found")

    monkeypatch.setattr(TuningJobTrigger, "_build_hook", broken)
    await fast_trigger(JOB, cancel_on_kill=True).on_kill()  # raising would only reach the triggerer's log
    text = caplog.text + capsys.readouterr().out
    assert "Could not cancel tuning job" in text and "console.cloud.google.com" in text


@pytest_integration
async def test_survives_503s_while_polling(create_job: Callable[..., str], vertex_emulator: Any) -> None:
    job_name = create_job("succeed", state="JOB_STATE_RUNNING")  # held: it runs until the test ends it
    vertex_emulator.configure(error_rate_503=0.5, fault_methods=["tuningJobs.get"])
    waiting = asyncio.create_task(collect(fast_trigger(job_name, poll_interval=0.05, max_backoff=0.05)))
    while vertex_emulator.request_counts()["tuningJobs.get"] < 4:  # some of them answered 503
        assert not waiting.done(), await waiting
        await asyncio.sleep(0.05)
    vertex_emulator.advance_job(job_name, "JOB_STATE_SUCCEEDED")
    (event,) = await waiting
    assert event["status"] == "success"
    assert vertex_emulator.request_counts()["tuningJobs.get"] >= 4


@pytest_integration
async def test_survives_429_quota_while_polling(create_job: Callable[..., str], vertex_emulator: Any) -> None:
    """Past the quota every read is a 429 with Retry-After; once the quota frees up the wait completes."""
    job_name = create_job("succeed", state="JOB_STATE_RUNNING")  # held: it runs until the test ends it
    vertex_emulator.configure(requests_per_minute=2, fault_methods=["tuningJobs.get"])
    waiting = asyncio.create_task(collect(fast_trigger(job_name, poll_interval=0.05, max_backoff=0.05)))
    while vertex_emulator.request_counts()["tuningJobs.get"] < 8:  # 2 admitted, then 429s
        assert not waiting.done(), await waiting
        await asyncio.sleep(0.05)
    assert not waiting.done()
    vertex_emulator.configure(requests_per_minute=None)  # the quota window frees up
    vertex_emulator.advance_job(job_name, "JOB_STATE_SUCCEEDED")
    (event,) = await waiting
    assert event["status"] == "success"


@pytest_integration
async def test_missing_job_is_an_error(vertex_emulator: Any, local_airflow_env: dict) -> None:
    vertex_emulator.reset()
    (event,) = await collect(fast_trigger("projects/local-project/locations/us-central1/tuningJobs/404"))
    assert event["status"] == "error"


def test_event_payloads_are_trigger_events() -> None:
    """A TriggerEvent carries the payload dict the sensor's execute_complete receives."""
    assert TriggerEvent({"status": "success"}).payload == {"status": "success"}
