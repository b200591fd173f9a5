"""The hook's batch prediction job calls, sync and async, against the emulators."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from gemini_qa_tuning import storage
from gemini_qa_tuning.hooks.genai import GenAIVertexHook

pytestmark = pytest.mark.integration

LINE = {"request": {"contents": [{"role": "user", "parts": [{"text": "Q?"}]}]}}


def test_batch_job_calls_sync_and_async(fast_vertex: Any, gcs_bucket_uri: str) -> None:
    fast_vertex.configure(pending_seconds=30)  # stays pending while the test looks at it
    src = f"{gcs_bucket_uri}/requests.jsonl"
    storage.write_text(src, json.dumps(LINE) + "\n")
    hook = GenAIVertexHook()
    labels = {"gemini-qa-requests": "abc", "gemini-qa-pipeline": "p"}

    created = hook.create_batch_job("gemini-3.5-flash-lite", src, f"{gcs_bucket_uri}/out", "eval-base-abc", labels)
    assert [job.name for job in hook.list_batch_jobs_by_labels(labels, "eval-base-abc")] == [created.name]
    assert hook.list_batch_jobs_by_labels(labels, "another-name") == []  # the display name is checked too
    assert hook.list_batch_jobs_by_labels({**labels, "gemini-qa-pipeline": "q"}) == []
    assert hook.get_batch_job(str(created.name)).state.value == "JOB_STATE_PENDING"

    async def async_calls() -> tuple[Any, list[Any]]:
        hook.get_client()
        try:
            second = await hook.acreate_batch_job(
                "gemini-3.5-flash-lite", src, f"{gcs_bucket_uri}/out", "eval-tuned-abc", {"gemini-qa-requests": "x"}
            )
            found = await hook.alist_batch_jobs_by_labels({"gemini-qa-requests": "x"})
            await hook.acancel_batch_job(str(second.name))
            return await hook.aget_batch_job(str(second.name)), found
        finally:
            await hook.aclose()

    cancelled, found = asyncio.run(async_calls())
    assert [job.name for job in found] == [cancelled.name]
    assert cancelled.state.value in ("JOB_STATE_CANCELLING", "JOB_STATE_CANCELLED")
    assert fast_vertex.request_counts()["batchPredictionJobs.create"] == 2
