"""TuningJobSensor: defers by default, interprets trigger events, cancels on timeout/kill, reschedule mode."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferred,
)
from airflow.sdk import PokeReturnValue

try:
    from airflow.sdk.exceptions import AirflowRescheduleException  # Airflow 3.2+
except ImportError:  # Airflow 3.1
    from airflow.exceptions import AirflowRescheduleException  # type: ignore[no-redef]

from gemini_qa_tuning.hooks.genai import GenAIVertexHook
from gemini_qa_tuning.links.vertex_ai import tuning_job_link_values
from gemini_qa_tuning.operators.tuning import TUNING_JOB_NAME_XCOM_KEY
from gemini_qa_tuning.sensors.tuning import DEFERRAL_GRACE, TuningJobSensor
from gemini_qa_tuning.triggers.tuning import TuningJobTrigger

pytestmark = pytest.mark.integration

JOB_NAME = "projects/local-project/locations/us-central1/tuningJobs/1"
RESULT_KEYS = {
    "job_name",
    "state",
    "tuned_model",
    "endpoint",
    "billable_tokens",
    "epochs",
    "actual_cost_usd",
    "checkpoints",
}


class FakeTaskInstance:
    """XCom pushes and the reschedule bookkeeping a sensor asks its task instance for."""

    def __init__(self, first_reschedule_date: datetime | None = None) -> None:
        self.pushed: dict[str, Any] = {}
        self.first_reschedule_date = first_reschedule_date

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value

    def get_first_reschedule_date(self, context: Any) -> datetime | None:
        return self.first_reschedule_date


def context(first_reschedule_date: datetime | None = None) -> dict[str, Any]:
    return {"ti": FakeTaskInstance(first_reschedule_date)}


def sensor(job_name: str, **overrides: Any) -> TuningJobSensor:
    return TuningJobSensor(**{"task_id": "wait", "job_name": job_name, "poll_interval": 0.05, **overrides})


def job_state(job_name: str) -> str:
    hook = GenAIVertexHook()
    try:
        return str(hook.get_tuning_job(job_name).state.value)  # type: ignore[union-attr]
    finally:
        hook.close()


def wait_for(job_name: str, state: str, limit: float = 5.0) -> None:
    deadline = time.monotonic() + limit
    while (current := job_state(job_name)) != state:
        assert time.monotonic() < deadline, f"{job_name} stayed {current}, expected {state}"
        time.sleep(0.05)


def run_deferred(task: TuningJobSensor, ctx: dict[str, Any], once_deferred: Callable[[], Any] | None = None) -> Any:
    """What Airflow does with a deferrable task: execute, run the trigger, then execute_complete.

    ``once_deferred`` runs between the deferral and the trigger, e.g. to end a job the test holds.
    """
    with pytest.raises(TaskDeferred) as deferred:
        task.execute(ctx)  # type: ignore[arg-type]
    trigger = deferred.value.trigger
    assert isinstance(trigger, TuningJobTrigger)
    if once_deferred is not None:
        once_deferred()

    async def first_event() -> dict[str, Any]:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("the trigger yielded no event")

    event = asyncio.run(asyncio.wait_for(first_event(), timeout=15))
    return getattr(task, deferred.value.method_name)(ctx, event=event)


# --------------------------------------------------------------------------- deferrable (default)
def test_defers_to_the_trigger_without_holding_a_slot(create_job: Callable[..., str]) -> None:
    job_name = create_job("never_finish")
    task = sensor(job_name, timeout=600, base_url=None)
    assert task.deferrable
    ctx = context()
    started = time.time()
    with pytest.raises(TaskDeferred) as deferred:
        task.execute(ctx)  # type: ignore[arg-type]
    trigger = deferred.value.trigger
    assert isinstance(trigger, TuningJobTrigger)
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout == timedelta(seconds=600) + DEFERRAL_GRACE
    assert trigger.job_name == job_name and trigger.poll_interval == 0.05 and trigger.cancel_on_kill
    assert trigger.deadline is not None and started + 600 <= trigger.deadline <= time.time() + 600
    assert ctx["ti"].pushed[TUNING_JOB_NAME_XCOM_KEY] == job_name
    # Offline (the emulator): the link opens the emulator's job, not a console page that cannot show it.
    assert (
        ctx["ti"].pushed["_link_VertexTuningJobLink"]
        == f"{os.environ['GOOGLE_VERTEX_BASE_URL'].rstrip('/')}/v1/{job_name}"
    )
    assert task.extra_links_params == tuning_job_link_values(job_name)  # the link's fallback without an XCom


def test_success_returns_model_and_endpoint(create_job: Callable[..., str], vertex_emulator: Any) -> None:
    job_name = create_job("succeed", state="JOB_STATE_RUNNING")  # held: still running when the sensor looks
    result = run_deferred(
        sensor(job_name, price_per_million_tokens=5.0),
        context(),
        lambda: vertex_emulator.advance_job(job_name, "JOB_STATE_SUCCEEDED"),
    )
    assert set(result) == RESULT_KEYS
    assert result["state"] == "JOB_STATE_SUCCEEDED" and result["job_name"] == job_name
    assert re.match(r"projects/[0-9]+/locations/us-central1/endpoints/", result["endpoint"])  # project number
    assert re.match(r"projects/[0-9]+/locations/us-central1/models/", result["tuned_model"])
    assert result["billable_tokens"] > 0 and result["actual_cost_usd"] is not None
    assert [checkpoint["epoch"] for checkpoint in result["checkpoints"]] == list(range(1, result["epochs"] + 1))


def test_finished_job_returns_without_deferring(create_job: Callable[..., str]) -> None:
    job_name = create_job("succeed", state="JOB_STATE_SUCCEEDED")
    result = sensor(job_name).execute(context())  # type: ignore[arg-type]
    assert result["state"] == "JOB_STATE_SUCCEEDED"


@pytest.mark.parametrize(("outcome", "state"), [("fail", "JOB_STATE_FAILED"), ("cancel", "JOB_STATE_CANCELLED")])
def test_failed_or_cancelled_job_fails_the_task_with_vertex_message(
    create_job: Callable[..., str], vertex_emulator: Any, outcome: str, state: str
) -> None:
    job_name = create_job(outcome, state="JOB_STATE_RUNNING")  # held: still running when the sensor looks
    with pytest.raises(AirflowFailException) as caught:
        run_deferred(sensor(job_name), context(), lambda: vertex_emulator.advance_job(job_name, state))
    message = str(caught.value)
    assert state in message and job_name in message
    if outcome == "fail":
        assert "emulator fault injection: job_outcome=fail" in message  # Vertex's own error text


def test_timeout_cancels_the_job(create_job: Callable[..., str], vertex_emulator: Any) -> None:
    job_name = create_job("never_finish")
    with pytest.raises(AirflowSensorTimeout, match="It has been cancelled"):
        run_deferred(sensor(job_name, timeout=0.5), context())
    assert vertex_emulator.request_counts()["tuningJobs.cancel"] == 1
    wait_for(job_name, "JOB_STATE_CANCELLED")


def test_timeout_hours_is_read_when_the_task_runs_and_its_expiry_cancels_the_job(
    create_job: Callable[..., str], vertex_emulator: Any
) -> None:
    """``timeout_hours`` (the DAG passes the run's Param) replaces the parse-time ``timeout`` at execute."""
    job_name = create_job("succeed", state="JOB_STATE_RUNNING")  # held: it stays running, whatever the clock
    task = sensor(job_name, timeout_hours=0.5 / 3600)  # half a second
    assert task.timeout == 24 * 3600  # Airflow's own value when the DAG is parsed: the default
    with pytest.raises(TaskDeferred) as deferred:
        task.execute(context())  # type: ignore[arg-type]
    assert deferred.value.timeout == timedelta(seconds=0.5) + DEFERRAL_GRACE
    with pytest.raises(AirflowSensorTimeout, match="It has been cancelled"):
        run_deferred(sensor(job_name, timeout_hours=0.5 / 3600), context())
    assert vertex_emulator.request_counts()["tuningJobs.cancel"] == 1
    wait_for(job_name, "JOB_STATE_CANCELLED")


@pytest.mark.parametrize("value", ["20", 0, -1.0, True])
def test_timeout_hours_must_be_a_positive_number(local_airflow_env: dict, value: Any) -> None:
    with pytest.raises(AirflowFailException, match="timeout_hours must be a number > 0"):
        sensor(JOB_NAME, timeout_hours=value).execute(context())  # type: ignore[arg-type]


def test_timeout_without_cancel_leaves_the_job_running(create_job: Callable[..., str], vertex_emulator: Any) -> None:
    job_name = create_job("never_finish")
    with pytest.raises(AirflowSensorTimeout, match="It was left running"):
        run_deferred(sensor(job_name, timeout=0.3, cancel_on_timeout=False), context())
    assert vertex_emulator.request_counts()["tuningJobs.cancel"] == 0
    assert job_state(job_name) == "JOB_STATE_RUNNING"


def test_trigger_error_event_is_retryable(local_airflow_env: dict) -> None:
    task = sensor(JOB_NAME)
    with pytest.raises(AirflowException, match="403 permission denied") as caught:
        task.execute_complete(context(), {"status": "error", "message": "403 permission denied"})  # type: ignore[arg-type]
    assert not isinstance(caught.value, AirflowFailException)


def test_deferral_timeout_backstop_also_cancels(create_job: Callable[..., str], vertex_emulator: Any) -> None:
    """If the triggerer is stuck, Airflow's own deferral timeout fires: the job is cancelled too."""
    job_name = create_job("never_finish")
    with pytest.raises(AirflowSensorTimeout):
        sensor(job_name).resume_execution("__fail__", {"error": "Trigger timeout"}, context())  # type: ignore[arg-type]
    assert vertex_emulator.request_counts()["tuningJobs.cancel"] == 1


def test_cancel_on_kill_is_handed_to_the_trigger(create_job: Callable[..., str]) -> None:
    """While deferred the task is not on a worker: the trigger's on_kill does the cancelling."""
    with pytest.raises(TaskDeferred) as deferred:
        sensor(create_job("never_finish"), cancel_on_kill=False).execute(context())  # type: ignore[arg-type]
    assert deferred.value.trigger.cancel_on_kill is False


def test_templated_price_is_used_for_the_actual_cost(create_job: Callable[..., str]) -> None:
    job_name = create_job("succeed", state="JOB_STATE_SUCCEEDED")
    # No official tuning price is known for the default base model (the catalog's price is null).
    unpriced = sensor(job_name).execute(context())  # type: ignore[arg-type]
    assert unpriced["billable_tokens"] > 0 and unpriced["actual_cost_usd"] is None
    listed = sensor(job_name, price_per_million_tokens=5.0).execute(context())  # type: ignore[arg-type]
    priced = sensor(job_name, price_per_million_tokens=10.0).execute(context())  # type: ignore[arg-type]
    assert priced["actual_cost_usd"] == pytest.approx(2 * listed["actual_cost_usd"], abs=1e-4)
    with pytest.raises(AirflowFailException, match="price_per_million_tokens must be a number"):
        sensor(job_name, price_per_million_tokens="cheap").execute(context())  # type: ignore[arg-type]


def test_on_kill_cancels_when_configured(create_job: Callable[..., str], vertex_emulator: Any) -> None:
    job_name = create_job("never_finish")
    sensor(job_name, cancel_on_kill=False).on_kill()
    assert vertex_emulator.request_counts()["tuningJobs.cancel"] == 0
    sensor(job_name).on_kill()
    assert vertex_emulator.request_counts()["tuningJobs.cancel"] == 1
    wait_for(job_name, "JOB_STATE_CANCELLED")


def test_bad_job_name_fails_clearly() -> None:
    with pytest.raises(AirflowFailException, match="is not a tuning job resource name"):
        sensor("tuningJobs/1").execute(context())  # type: ignore[arg-type]


@pytest.mark.parametrize("job_name", [None, ""])
def test_no_job_after_a_dry_run_skips(job_name: str | None) -> None:
    with pytest.raises(AirflowSkipException, match="no tuning job to wait for"):
        sensor(job_name).execute(context())  # type: ignore[arg-type]


def test_templated_poll_interval_is_applied_at_execute(create_job: Callable[..., str]) -> None:
    task = sensor(create_job("never_finish"), poll_interval="{{ params.poll_interval_seconds }}")
    task.poll_interval = 0.25  # what rendering the template as a native object leaves
    with pytest.raises(TaskDeferred) as deferred:
        task.execute(context())  # type: ignore[arg-type]
    assert deferred.value.trigger.poll_interval == 0.25 and task.poke_interval == 0.25
    with pytest.raises(AirflowFailException, match="poll_interval must be a number > 0, got str 'often'"):
        sensor(JOB_NAME, poll_interval="often").execute(context())  # type: ignore[arg-type]
    with pytest.raises(AirflowFailException, match="poll_interval must be a number > 0, got int 0"):
        sensor(JOB_NAME, poll_interval=0).execute(context())  # type: ignore[arg-type]


def test_deferrable_by_default_whatever_the_operators_option_says(monkeypatch: pytest.MonkeyPatch) -> None:
    """Airflow ships [operators] default_deferrable = false; this sensor still waits in the triggerer."""
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "False")
    assert sensor(JOB_NAME).deferrable is True
    assert sensor(JOB_NAME, deferrable=False).deferrable is False


def test_rendered_string_price_is_refused_with_the_likely_cause() -> None:
    with pytest.raises(AirflowFailException) as caught:
        sensor(JOB_NAME, price_per_million_tokens="5.0").execute(context())  # type: ignore[arg-type]
    assert "price_per_million_tokens must be a number >= 0 or None, got str '5.0'" in str(caught.value)
    assert "render_template_as_native_obj=True" in str(caught.value)


# --------------------------------------------------------------------------- reschedule / poke mode
def test_not_deferrable_means_reschedule_mode() -> None:
    task = sensor("projects/p/locations/l/tuningJobs/1", deferrable=False)
    assert task.mode == "reschedule" and task.poke_interval == 0.05
    assert sensor("projects/p/locations/l/tuningJobs/1", deferrable=False, mode="poke").mode == "poke"


def test_poke_reports_progress_then_the_result(create_job: Callable[..., str], vertex_emulator: Any) -> None:
    job_name = create_job("succeed", state="JOB_STATE_RUNNING")  # held: the clock cannot end it before the poke
    task = sensor(job_name, deferrable=False)
    assert task.poke(context()) is False  # type: ignore[arg-type]
    vertex_emulator.advance_job(job_name, "JOB_STATE_SUCCEEDED")
    done = task.poke(context())  # type: ignore[arg-type]
    assert isinstance(done, PokeReturnValue) and done.is_done
    assert done.xcom_value["state"] == "JOB_STATE_SUCCEEDED"


def test_reschedule_mode_frees_the_slot_between_pokes(create_job: Callable[..., str]) -> None:
    job_name = create_job("never_finish")
    with pytest.raises(AirflowRescheduleException):
        sensor(job_name, deferrable=False).execute(context())  # type: ignore[arg-type]


def test_reschedule_mode_returns_the_result_of_a_finished_job(create_job: Callable[..., str]) -> None:
    job_name = create_job("succeed", state="JOB_STATE_SUCCEEDED")
    result = sensor(job_name, deferrable=False).execute(context())  # type: ignore[arg-type]
    assert set(result) == RESULT_KEYS and result["endpoint"]


def test_reschedule_mode_timeout_cancels_the_job(create_job: Callable[..., str], vertex_emulator: Any) -> None:
    """The timeout counts from the first try, which Airflow records; here it was two minutes ago."""
    job_name = create_job("never_finish")
    first_try = datetime.now(UTC) - timedelta(minutes=2)
    with pytest.raises(AirflowSensorTimeout):
        sensor(job_name, deferrable=False, timeout=60).execute(context(first_try))  # type: ignore[arg-type]
    assert vertex_emulator.request_counts()["tuningJobs.cancel"] == 1
    wait_for(job_name, "JOB_STATE_CANCELLED")


def test_reschedule_mode_timeout_without_cancel(create_job: Callable[..., str], vertex_emulator: Any) -> None:
    job_name = create_job("never_finish")
    first_try = datetime.now(UTC) - timedelta(minutes=2)
    task = sensor(job_name, deferrable=False, timeout=60, cancel_on_timeout=False)
    with pytest.raises(AirflowSensorTimeout):
        task.execute(context(first_try))  # type: ignore[arg-type]
    assert vertex_emulator.request_counts()["tuningJobs.cancel"] == 0


@pytest.mark.parametrize(("outcome", "state"), [("fail", "JOB_STATE_FAILED"), ("cancel", "JOB_STATE_CANCELLED")])
def test_reschedule_mode_fails_on_a_failed_job(create_job: Callable[..., str], outcome: str, state: str) -> None:
    job_name = create_job(outcome, state=state)
    with pytest.raises(AirflowFailException, match=state) as caught:
        sensor(job_name, deferrable=False).execute(context())  # type: ignore[arg-type]
    if outcome == "fail":
        assert "emulator fault injection: job_outcome=fail" in str(caught.value)


def test_poke_mode_timeout_cancels_the_job(create_job: Callable[..., str], vertex_emulator: Any) -> None:
    job_name = create_job("never_finish")
    with pytest.raises(AirflowSensorTimeout):
        sensor(job_name, deferrable=False, mode="poke", timeout=0.3).execute(context())  # type: ignore[arg-type]
    assert vertex_emulator.request_counts()["tuningJobs.cancel"] == 1


def test_poke_survives_transient_errors(create_job: Callable[..., str], vertex_emulator: Any) -> None:
    job_name = create_job("succeed", state="JOB_STATE_SUCCEEDED")
    vertex_emulator.configure(error_rate_503=1.0, fault_methods=["tuningJobs.get"])
    task = sensor(job_name, deferrable=False)
    task_hook = task.make_hook
    task.make_hook = lambda: _no_retry(task_hook())  # type: ignore[method-assign]
    assert task.poke(context()) is False  # type: ignore[arg-type]
    vertex_emulator.configure(error_rate_503=0.0)
    assert task.poke(context())  # type: ignore[arg-type]


def _no_retry(hook: GenAIVertexHook) -> GenAIVertexHook:
    hook.retry_attempts = 1
    return hook
