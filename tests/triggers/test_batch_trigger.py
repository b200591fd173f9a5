"""BatchPredictionJobTrigger: its own arguments on top of the shared Vertex job wait, and its events."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from gemini_qa_tuning.triggers.batch import BatchPredictionJobTrigger

JOB = "projects/local-project/locations/us-central1/batchPredictionJobs/42"
CARRY = {"evaluation": {"role": "base", "request_uri": "gs://b/requests.jsonl"}}


def test_serialize_round_trips_with_the_carry_and_the_shared_arguments() -> None:
    from airflow.sdk.module_loading import import_string

    trigger = BatchPredictionJobTrigger(
        job_name=JOB, gcp_conn_id="my_conn", impersonation_chain=("a@x.iam.gserviceaccount.com",), carry=CARRY
    )
    path, kwargs = trigger.serialize()
    assert path == "gemini_qa_tuning.triggers.batch.BatchPredictionJobTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert import_string(path)(**kwargs).serialize() == (path, kwargs)
    assert kwargs["carry"] == CARRY and kwargs["poll_interval"] == 30.0  # a batch job takes minutes, not hours
    assert kwargs["impersonation_chain"] == ["a@x.iam.gserviceaccount.com"] and kwargs["gcp_conn_id"] == "my_conn"


@pytest.mark.parametrize(
    "name",
    ["projects/p/locations/l/tuningJobs/1", "batchPredictionJobs/1", "projects/p/locations/l/batchPredictionJobs/"],
)
def test_what_is_not_a_batch_job_name_is_refused_on_the_worker(name: str) -> None:
    with pytest.raises(ValueError, match="is not a batch prediction job resource name"):
        BatchPredictionJobTrigger(job_name=name)


@pytest.mark.integration
async def test_a_missing_job_is_one_error_event_that_names_the_job_and_carries_the_carry(
    vertex_emulator: Any, local_airflow_env: dict
) -> None:
    vertex_emulator.reset()
    trigger = BatchPredictionJobTrigger(
        job_name="projects/local-project/locations/us-central1/batchPredictionJobs/404",
        poll_interval=0.05,
        max_backoff=0.1,
        deadline=time.time() + 10,
        carry=CARRY,
    )

    async def events() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    (event,) = await asyncio.wait_for(events(), timeout=15)
    assert event["status"] == "error", event
    assert event["job_name"] == trigger.job_name and event["carry"] == CARRY
