"""The runner against an emulated quota it is not told (issue 13), on a shortened quota window so that a
run takes seconds: the quota is reached, no question fails, also when the quota is halved mid-run."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from gemini_qa_tuning import storage
from gemini_qa_tuning.evaluation import EvaluationSettings, ThinkingChoice, predict_async

BASE_MODEL = "gemini-3.5-flash-lite"
WINDOW = 2.0  # seconds; the emulator's quota is QUOTA calls per WINDOW
QUOTA = 24  # 12 requests/s
SETTINGS = EvaluationSettings(
    concurrency=8,
    error_share_limit=0.0,
    empty_share_limit=1.0,  # these tests count requests and failures, not answers
    quota_period_seconds=WINDOW,  # the period of the quota is known (a minute on Vertex), not its size
    thinking=ThinkingChoice(level="MINIMAL", budget=None, reserved_tokens=256, reason="lowest in this test"),
)


def write_questions(uri: str, count: int) -> str:
    lines = []
    for index in range(count):
        prompt = f"Context:\nItem {index} was made by Maker {index}.\n\nQuestion:\nWho made item {index}?"
        record = {"id": f"q-{index:04d}", "title": "t", "question": prompt, "prompt": prompt, "answers": ["Maker"]}
        lines.append(json.dumps(record) + "\n")
    storage.write_text(uri, "".join(lines))
    return uri


@pytest.mark.integration
async def test_unknown_quota_is_found_without_failures(
    genai_client: Any, vertex_emulator: Any, gcs_bucket_uri: str
) -> None:
    total = 144  # six windows' worth
    test_uri = write_questions(f"{gcs_bucket_uri}/test.jsonl", total)
    vertex_emulator.configure(
        latency_seconds=0.05, requests_per_minute=QUOTA, quota_window_seconds=WINDOW, fault_methods=["generateContent"]
    )
    started = time.monotonic()
    run = await predict_async(genai_client, BASE_MODEL, test_uri, f"{gcs_bucket_uri}/eval", SETTINGS)
    seconds = time.monotonic() - started

    counts = vertex_emulator.request_counts()
    ideal = total / (QUOTA / WINDOW)
    assert run.scores.errors == 0
    assert counts["generateContent.ok"] == total
    assert counts["generateContent"] > total  # it did meet the quota (429s, no Retry-After) ...
    assert ideal / seconds >= 0.8  # ... and used most of it (the benchmark's longer run: >= 90 %)


@pytest.mark.integration
async def test_a_quota_halved_mid_run_still_ends_without_failures(
    genai_client: Any, vertex_emulator: Any, gcs_bucket_uri: str
) -> None:
    total = 120
    test_uri = write_questions(f"{gcs_bucket_uri}/test.jsonl", total)
    vertex_emulator.configure(
        latency_seconds=0.05, requests_per_minute=QUOTA, quota_window_seconds=WINDOW, fault_methods=["generateContent"]
    )

    def halve_midway() -> None:  # a thread, as an operator lowering the quota would be
        deadline = time.monotonic() + 60
        while vertex_emulator.request_counts().get("generateContent.ok", 0) < total // 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        vertex_emulator.set_quota(QUOTA // 2)

    halving = asyncio.create_task(asyncio.to_thread(halve_midway))
    run = await predict_async(genai_client, BASE_MODEL, test_uri, f"{gcs_bucket_uri}/eval", SETTINGS)
    await halving

    assert vertex_emulator.config()["requests_per_minute"] == QUOTA // 2
    assert run.scores.errors == 0
    assert vertex_emulator.request_counts()["generateContent.ok"] == total
