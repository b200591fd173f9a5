"""Fault suite, sense stage: the emulator restarts mid-job, responses are slow, the default timeout.

The wait runs in the triggerer (``TuningJobTrigger``); these scenarios drive the real trigger against a
real emulator process. A restart is a stop and a start of an emulator that keeps its jobs in a state file
(as Vertex keeps them while its front end is unreachable): the wait rides out the refused connections and
ends with the job's real outcome, and no job is created again. Slow answers do not stretch the deadline
into the next run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gemini_qa_tuning.triggers.tuning import TuningJobTrigger

pytestmark = pytest.mark.integration


@pytest.fixture
def own_vertex(gcs_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An emulator of this test's own (the shared one must not restart), keeping its jobs in a state file;
    the local connection points at it."""
    from devtools.local_env import local_environment
    from devtools.vertex_emulator.process import VertexEmulatorProcess
    from tests.conftest import FAST_JOBS

    with VertexEmulatorProcess(
        gcs_endpoint=gcs_emulator.endpoint,
        state_file=tmp_path / "vertex-state.json",
        log_file=tmp_path / "vertex.log",
        **FAST_JOBS,
    ) as emulator:
        for name, value in local_environment(gcs_emulator.endpoint, emulator.base_url, tmp_path).items():
            monkeypatch.setenv(name, value)
        yield emulator


def create_running_job(emulator: Any, training_uri: str) -> str:
    """A tuning job created through the SDK, held RUNNING until the test moves it on."""
    import google.oauth2.credentials
    from google import genai
    from google.genai import types

    from devtools.local_env import LOCAL_LOCATION, LOCAL_PROJECT, LOCAL_TOKEN
    from gemini_qa_tuning.tuning import TuningConfig

    emulator.configure(hold_jobs_at="JOB_STATE_PENDING")
    client = genai.Client(
        vertexai=True,
        project=LOCAL_PROJECT,
        location=LOCAL_LOCATION,
        credentials=google.oauth2.credentials.Credentials(token=LOCAL_TOKEN),
        http_options=types.HttpOptions(base_url=emulator.base_url, retry_options=types.HttpRetryOptions(attempts=1)),
    )
    try:
        request = TuningConfig(training_uri=training_uri).request("faults-restart", pipeline_id="faults")
        dataset, config = request.to_sdk()
        job = client.tunings.tune(base_model=request.base_model, training_dataset=dataset, config=config)
    finally:
        client.close()
    assert job.name
    assert emulator.advance_job(job.name, "JOB_STATE_RUNNING")["state"] == "JOB_STATE_RUNNING"
    return job.name


async def collect(trigger: TuningJobTrigger, limit: float = 30.0) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    return await asyncio.wait_for(run(), timeout=limit)


async def test_an_emulator_restart_mid_job_is_ridden_out_and_nothing_is_created_again(
    own_vertex: Any, training_uri: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    job_name = create_running_job(own_vertex, training_uri)
    trigger = TuningJobTrigger(
        job_name=job_name, base_url=own_vertex.base_url, poll_interval=0.05, max_backoff=0.2, deadline=time.time() + 30
    )
    waiting = asyncio.create_task(collect(trigger))
    while own_vertex.request_counts().get("tuningJobs.get", 0) < 2:
        assert not waiting.done(), await waiting
        await asyncio.sleep(0.05)

    own_vertex.stop()  # the front end goes away; the job lives on in the state file
    await asyncio.sleep(1.0)  # several polls meet a refused connection
    assert not waiting.done(), await waiting
    own_vertex.start()  # same port, same jobs
    # The job lived on (an unknown job would be refused with 404) and is moved on only now.
    assert own_vertex.advance_job(job_name, "JOB_STATE_SUCCEEDED")["state"] == "JOB_STATE_SUCCEEDED"

    (event,) = await waiting
    assert event["status"] == "success" and event["job_name"] == job_name, event
    assert event["endpoint"], event  # the real outcome, read after the restart
    # The refused reads were transient errors the wait said it was riding out, naming what failed.
    logged = caplog.text + capsys.readouterr().out  # the trigger's logger writes through structlog
    assert f"Transient error reading {job_name}" in logged and "Cannot connect to host" in logged, logged[-2000:]
    counts = own_vertex.request_counts()  # counts restart with the process: these are after the restart
    assert counts.get("tuningJobs.create", 0) == 0 and counts.get("tuningJobs.cancel", 0) == 0, counts
    listed = own_vertex.admin.call("GET", f"/v1/{job_name.rsplit('/tuningJobs/', 1)[0]}/tuningJobs")
    assert [job["name"] for job in listed["tuningJobs"]] == [job_name], "one job, never re-created"


async def test_slow_answers_do_not_stretch_the_deadline(create_job: Any, vertex_emulator: Any) -> None:
    """Every read takes 0.8 s; a job that never finishes still ends the wait at its deadline (plus at most
    the one read in flight), with a timeout event the sensor turns into a cancel."""
    job_name = create_job("never_finish", state="JOB_STATE_RUNNING")
    vertex_emulator.configure(latency_seconds=0.8, fault_methods=["tuningJobs.get"])
    deadline = time.time() + 2.0
    trigger = TuningJobTrigger(job_name=job_name, poll_interval=0.05, max_backoff=0.1, deadline=deadline)

    (event,) = await collect(trigger)

    assert event["status"] == "timeout", event
    assert time.time() <= deadline + 0.8 + 1.0, "the wait went on well past its deadline"
    assert f"Tuning job {job_name} was still JOB_STATE_RUNNING when the sensor's timeout expired" in event["message"]
    counts = vertex_emulator.request_counts()
    assert counts.get("tuningJobs.create") == 1 and counts.get("tuningJobs.get", 0) >= 1, counts  # slow reads met


def test_the_default_timeout_ends_before_the_next_scheduled_run() -> None:
    """Default timeout plus the sensor's deferral grace fit in one schedule interval, with the refresh and
    the evaluation still to run: a stuck job never holds the next night (``max_active_runs=1``)."""
    from airflow.dag_processing.dagbag import DagBag

    from gemini_qa_tuning.pipeline.params import PipelineParams
    from gemini_qa_tuning.sensors.tuning import DEFERRAL_GRACE

    dags = Path(__file__).resolve().parents[2] / "dags"
    dag = DagBag(dag_folder=str(dags)).dags["gemini_squad_tuning"]
    assert dag.max_active_runs == 1
    default = dag.params.get_param("tuning_timeout_hours").value
    assert default == PipelineParams().tuning_timeout_hours
    minute, hour, *every_day = dag.timetable.expression.split()
    assert every_day == ["*", "*", "*"] and minute.isdigit() and hour.isdigit(), "a daily schedule"
    interval = timedelta(days=1)
    assert timedelta(hours=default) + DEFERRAL_GRACE < interval - timedelta(hours=2), (default, interval)
