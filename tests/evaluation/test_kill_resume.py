"""No paid answer lost: a real evaluation process killed mid-run, then rerun, counted on the emulator.

SIGKILL loses at most ``concurrency`` answers (those in flight or not yet saved); SIGTERM (how Airflow
stops a task) loses none: the run stops asking, lets the requests in flight answer and saves them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gemini_qa_tuning import storage

CHILD = Path(__file__).with_name("evaluation_child.py")
TOTAL = 240
CONCURRENCY = 4


def write_questions(uri: str, count: int) -> None:
    lines = []
    for index in range(count):
        context = f"Item {index} was made by Maker {index} in the year {1900 + index}."
        question = f"Who made item {index}?"
        prompt = f"Answer with a span of the context.\n\nContext:\n{context}\n\nQuestion:\n{question}"
        record = {
            "id": f"q-{index:04d}",
            "title": "t",
            "question": question,
            "prompt": prompt,
            "answers": [f"Maker {index}"],
        }
        lines.append(json.dumps(record) + "\n")
    storage.write_text(uri, "".join(lines))


def start_child(vertex: Any, test_uri: str, output: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, str(CHILD), vertex.base_url, test_uri, output, str(CONCURRENCY)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def answered_by_server(vertex: Any) -> int:
    return int(vertex.request_counts().get("generateContent.ok", 0))


def kill_midway(vertex: Any, test_uri: str, output: str, signum: int) -> tuple[int, str]:
    """Start the child, send ``signum`` once a third of the questions are answered; (exit code, stderr)."""
    child = start_child(vertex, test_uri, output)
    try:
        deadline = time.monotonic() + 60
        while answered_by_server(vertex) < TOTAL // 3:
            assert child.poll() is None, f"the child ended early: {child.communicate()}"
            assert time.monotonic() < deadline, "the child answered too slowly"
            time.sleep(0.02)
        child.send_signal(signum)
        _, stderr = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    time.sleep(0.5)  # requests the server was still serving at the kill finish (and count) now
    return child.returncode, stderr


def rerun(vertex: Any, test_uri: str, output: str) -> None:
    child = start_child(vertex, test_uri, output)
    _, stderr = child.communicate(timeout=120)
    assert child.returncode == 0, stderr


@pytest.mark.integration
def test_sigkill_mid_run_repeats_at_most_concurrency_answers(vertex_emulator: Any, gcs_bucket_uri: str) -> None:
    vertex_emulator.reset()
    vertex_emulator.configure(latency_seconds=0.1, fault_methods=["generateContent"])
    test_uri, output = f"{gcs_bucket_uri}/test.jsonl", f"{gcs_bucket_uri}/eval"
    write_questions(test_uri, TOTAL)

    code, _ = kill_midway(vertex_emulator, test_uri, output, signal.SIGKILL)
    assert code == -signal.SIGKILL
    first = answered_by_server(vertex_emulator)
    assert first < TOTAL  # killed mid-run
    rerun(vertex_emulator, test_uri, output)

    repeated = answered_by_server(vertex_emulator) - TOTAL  # every question was answered once, plus these
    assert 0 <= repeated <= CONCURRENCY


@pytest.mark.integration
def test_sigterm_mid_run_saves_every_answer_in_hand(vertex_emulator: Any, gcs_bucket_uri: str) -> None:
    vertex_emulator.reset()
    vertex_emulator.configure(latency_seconds=0.1, fault_methods=["generateContent"])
    test_uri, output = f"{gcs_bucket_uri}/test.jsonl", f"{gcs_bucket_uri}/eval"
    write_questions(test_uri, TOTAL)

    code, stderr = kill_midway(vertex_emulator, test_uri, output, signal.SIGTERM)
    assert code == 3, stderr  # EvaluationInterrupted, after saving
    assert "on_kill called" in stderr  # the handler it replaced (Airflow's) still ran
    assert "every answer received is checkpointed" in stderr
    first = answered_by_server(vertex_emulator)
    assert first < TOTAL
    rerun(vertex_emulator, test_uri, output)

    assert answered_by_server(vertex_emulator) == TOTAL  # nothing asked twice
    parts = storage.list_uris(f"{output}/base/checkpoint/")
    assert len(parts) == 1  # the rerun merged the small parts into one object
