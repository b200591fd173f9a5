"""Worker-slot time of "launch a tuning job and wait for it": ours (deferrable) vs the Google provider's.

Both run against the local Vertex AI emulator with an emulated tuning job of ``--minutes`` minutes (default
10). A worker slot is counted as held while a task's code runs on a worker:

* **ours** — ``LaunchTuningJobOperator.execute`` + ``TuningJobSensor.execute`` until it raises
  ``TaskDeferred`` + ``execute_complete``. The wait in between runs in ``TuningJobTrigger.run`` on an
  asyncio loop, i.e. in the triggerer, which holds no worker slot (its time is printed separately);
* **provider** — ``GenAISupervisedFineTuningTrainOperator.execute``, which creates the job and polls it
  with ``time.sleep(60)`` inside the worker until the job ends.

Compressed clock (``--compression``, default 60): the emulated job lasts ``minutes * 60 / compression``
real seconds, our poll interval is ``60 / compression`` s, and the provider's ``time.sleep(60)`` is
replaced (in its hook module only) by a sleep of ``60 / compression`` s — the same poll cadence as on
Vertex, scaled. The provider's slot time therefore scales with the job: "at 1x" multiplies it back by
the compression. Ours is API round trips that do not depend on the job's length, so it is reported as
measured. ``--compression 1`` runs the real duration.

The provider's hook reads no base URL, so ``GOOGLE_VERTEX_BASE_URL`` (which google-genai honours) points
it at the emulator. The emulated job has no QUEUED phase: the provider's loop only knows PENDING and
RUNNING, stops at QUEUED and then fails on the missing model, which would end its measurement early.

Run: ``.venv/bin/python bench/worker_slots.py [--minutes 10] [--compression 60]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # devtools/ is not installed

os.environ.setdefault("NO_GCE_CHECK", "true")
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
os.environ.pop("GOOGLE_APPLICATION_CREDENTIALS", None)

PROVIDER_POLL_SECONDS = 60.0  # the provider hook's hard-coded time.sleep(60)
PROMPT = "Answer the question.\n\nContext:\nThe bridge opened in 1911.\n\nQuestion:\nWhen did the bridge open?"


class TaskInstanceStub:
    """Accepts the XCom pushes operators make; the bench runs ``execute`` outside a scheduler."""

    def xcom_push(self, key: str, value: Any) -> None:
        pass


def stub_context() -> Any:
    """A task context holding only a :class:`TaskInstanceStub`: all the operators measured here touch.

    Typed ``Any`` because it is deliberately not a whole Airflow ``Context``.
    """
    return {"ti": TaskInstanceStub()}


class CompressedTime:
    """Stands in for the ``time`` module inside the provider's hook: ``sleep`` runs ``compression`` x faster."""

    def __init__(self, compression: float) -> None:
        self.compression = compression

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds / self.compression)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def write_training_file(bucket_uri: str) -> str:
    from gemini_qa_tuning import storage
    from gemini_qa_tuning.gemini_format import tuning_line

    uri = f"{bucket_uri}/bench-worker-slots/train.jsonl"
    storage.write_text(uri, "\n".join(tuning_line(PROMPT, "1911") for _ in range(20)) + "\n")
    return uri


def run_ours(training_uri: str, poll_seconds: float) -> dict[str, float]:
    """Launch + deferrable sensor; returns worker seconds and triggerer seconds."""
    from airflow.sdk.exceptions import TaskDeferred

    from gemini_qa_tuning.operators.tuning import LaunchTuningJobOperator
    from gemini_qa_tuning.sensors.tuning import TuningJobSensor
    from gemini_qa_tuning.tuning.launch import TuningJobLaunch

    context = stub_context()
    started = time.monotonic()
    launched = TuningJobLaunch.from_json(
        LaunchTuningJobOperator(
            task_id="launch", training_uri=training_uri, dataset_fingerprint=f"bench-{time.time_ns()}"
        ).execute(context)
    )
    launch_seconds = time.monotonic() - started

    sensor = TuningJobSensor(task_id="wait", job_name=launched.job_name or "", poll_interval=poll_seconds)
    started = time.monotonic()
    try:
        sensor.execute(context)
        raise RuntimeError("the sensor returned without deferring; the job finished too early to measure")
    except TaskDeferred as deferred:
        defer_seconds = time.monotonic() - started
        trigger = deferred.trigger

    async def wait_in_triggerer() -> dict[str, Any]:
        async for event in trigger.run():
            return event.payload
        raise RuntimeError("the trigger yielded no event")

    started = time.monotonic()
    event = asyncio.run(wait_in_triggerer())
    triggerer_seconds = time.monotonic() - started

    started = time.monotonic()
    result = sensor.execute_complete(context, event)
    complete_seconds = time.monotonic() - started
    if not result.get("endpoint"):
        raise RuntimeError(f"our run ended without a tuned model: {result}")
    return {
        "worker": launch_seconds + defer_seconds + complete_seconds,
        "launch": launch_seconds,
        "defer": defer_seconds,
        "complete": complete_seconds,
        "triggerer": triggerer_seconds,
    }


def run_provider(training_uri: str, compression: float) -> dict[str, float]:
    """The provider's blocking operator, its 60 s sleep compressed; returns worker seconds."""
    from airflow.providers.google.cloud.hooks import gen_ai as provider_hook_module
    from airflow.providers.google.cloud.operators.gen_ai import GenAISupervisedFineTuningTrainOperator
    from google.genai import types

    from devtools.local_env import LOCAL_LOCATION, LOCAL_PROJECT

    provider_tune = GenAISupervisedFineTuningTrainOperator(
        task_id="provider_tune",
        project_id=LOCAL_PROJECT,
        location=LOCAL_LOCATION,
        source_model="gemini-2.5-flash",
        training_dataset=types.TuningDataset(gcs_uri=training_uri),
        tuning_job_config=types.CreateTuningJobConfig(epoch_count=3),
    )
    original_time = provider_hook_module.time
    provider_hook_module.time = CompressedTime(compression)  # type: ignore[assignment]
    try:
        started = time.monotonic()
        result = provider_tune.execute(stub_context())
        worker_seconds = time.monotonic() - started
    finally:
        provider_hook_module.time = original_time
    if not result.get("tuned_model_endpoint_name"):
        raise RuntimeError(f"the provider's run ended without a tuned model: {result}")
    return {"worker": worker_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="emulated tuning job duration (default 10)")
    parser.add_argument(
        "--compression", type=float, default=60.0, help="emulated seconds per real second (default 60; 1 = real)"
    )
    parser.add_argument("--json", action="store_true", help="also print the numbers as one JSON line")
    arguments = parser.parse_args()
    if arguments.minutes <= 0 or arguments.compression <= 0:
        parser.error("--minutes and --compression must be > 0")

    from devtools.gcs_emulator import GcsEmulator
    from devtools.local_env import LOCAL_BUCKET, local_environment
    from devtools.vertex_emulator.process import VertexEmulatorProcess

    compression = arguments.compression
    job_real_seconds = arguments.minutes * 60.0 / compression
    poll_seconds = PROVIDER_POLL_SECONDS / compression
    with contextlib.ExitStack() as stack:
        state = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-worker-slots-")))
        os.environ.setdefault("AIRFLOW_HOME", str(state / "airflow-home"))
        gcs = stack.enter_context(GcsEmulator(backend="memory", log_file=state / "fake-gcs-server.log"))
        vertex = stack.enter_context(VertexEmulatorProcess(gcs_endpoint=gcs.endpoint, log_file=state / "vertex.log"))
        os.environ.update(local_environment(gcs.endpoint, vertex.base_url, state))
        vertex.configure(
            pending_seconds=0.05 * job_real_seconds,
            queued_seconds=0.0,
            running_seconds=0.95 * job_real_seconds,
            job_outcome="succeed",
        )
        training_uri = write_training_file(f"gs://{LOCAL_BUCKET}")

        print(
            f"Emulated tuning job: {arguments.minutes:g} min, clock compressed {compression:g}x "
            f"({job_real_seconds:.1f} s real); poll every {PROVIDER_POLL_SECONDS:g} s emulated "
            f"({poll_seconds:.2f} s real).",
            flush=True,
        )
        ours = run_ours(training_uri, poll_seconds)
        provider = run_provider(training_uri, compression)

    job_seconds_1x = arguments.minutes * 60.0
    ours_1x = ours["worker"]  # API round trips: independent of the job's length and of the clock
    provider_1x = provider["worker"] * compression
    rows = [
        ("ours: launch + deferrable sensor", ours["worker"], ours_1x),
        ("provider: GenAISupervisedFineTuningTrainOperator", provider["worker"], provider_1x),
    ]
    print()
    print(f"{'':50} {'slot s (measured)':>18} {'slot s (at 1x)':>15} {'of job time':>12}")
    for label, measured, at_1x in rows:
        print(f"{label:50} {measured:18.2f} {at_1x:15.1f} {at_1x / job_seconds_1x:12.1%}")
    print()
    print(
        f"ours, by step: launch {ours['launch']:.2f} s, sensor until deferred {ours['defer']:.2f} s, "
        f"execute_complete {ours['complete']:.2f} s; the triggerer waited {ours['triggerer']:.1f} s "
        f"({ours['triggerer'] * compression:.0f} s at 1x) holding no worker slot."
    )
    print(
        f"For a {arguments.minutes:g}-minute job: ours holds a worker slot ~{ours_1x:.1f} s, "
        f"the provider ~{provider_1x:.0f} s ({provider_1x / max(ours_1x, 1e-9):,.0f}x more)."
    )
    if arguments.json:
        print(
            json.dumps(
                {
                    "minutes": arguments.minutes,
                    "compression": compression,
                    "ours_worker_seconds": round(ours["worker"], 3),
                    "ours_triggerer_seconds": round(ours["triggerer"], 3),
                    "provider_worker_seconds": round(provider["worker"], 3),
                    "provider_worker_seconds_at_1x": round(provider_1x, 1),
                }
            )
        )


if __name__ == "__main__":
    main()
