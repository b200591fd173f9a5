"""Fault suite, evaluate stage: a worker killed mid-evaluation (SIGKILL, no chance to clean up), then rerun.

The evaluation runs in a child process with the settings the pipeline's evaluate step uses (the DAG's
defaults: ``eval_concurrency`` 8); the test kills it once the emulator has answered a good part of the
questions, reruns in this process, and counts on the emulator what was paid: every question is answered
in the end, and the answers paid twice are at most ``eval_concurrency`` (issue 13, "No paid answer lost":
each worker saves its answer before it asks the next question, so a kill loses at most the answers in
flight).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest

from gemini_qa_tuning import storage
from gemini_qa_tuning.evaluation import EvaluationSettings, read_predictions, run_predictions
from gemini_qa_tuning.pipeline.params import PipelineParams

pytestmark = pytest.mark.integration

BASE_MODEL = "gemini-3.5-flash-lite"
QUESTIONS = 240
PIPELINE_DEFAULTS = PipelineParams()
SETTINGS = EvaluationSettings(concurrency=PIPELINE_DEFAULTS.eval_concurrency)


def write_questions(uri: str, count: int) -> str:
    lines = []
    for index in range(count):
        context = f"Bridge number {index} opened in {1800 + index}. It crosses the river."
        question = f"When did bridge number {index} open?"
        prompt = f"Answer the question.\n\nContext:\n{context}\n\nQuestion:\n{question}"
        record = {"id": f"q{index:04d}", "title": "Bridges", "question": question, "prompt": prompt}
        lines.append(json.dumps({**record, "answers": [str(1800 + index)]}))
    storage.write_text(uri, "\n".join(lines) + "\n")
    return uri


CHILD = textwrap.dedent(
    """
    import sys
    import google.oauth2.credentials
    from google import genai
    from google.genai import types
    from gemini_qa_tuning.evaluation import EvaluationSettings, run_predictions

    base_url, model, test_uri, output, concurrency = sys.argv[1:6]
    client = genai.Client(
        vertexai=True, project="local-project", location="us-central1",
        credentials=google.oauth2.credentials.Credentials(token="local-emulator-token"),
        http_options=types.HttpOptions(base_url=base_url, retry_options=types.HttpRetryOptions(attempts=1)),
    )
    run_predictions(client, model, test_uri, output, EvaluationSettings(concurrency=int(concurrency)), slug="base")
    """
)


def emulator_client(base_url: str) -> Any:
    import google.oauth2.credentials
    from google import genai
    from google.genai import types

    from devtools.local_env import LOCAL_LOCATION, LOCAL_PROJECT, LOCAL_TOKEN

    return genai.Client(
        vertexai=True,
        project=LOCAL_PROJECT,
        location=LOCAL_LOCATION,
        credentials=google.oauth2.credentials.Credentials(token=LOCAL_TOKEN),
        http_options=types.HttpOptions(base_url=base_url, retry_options=types.HttpRetryOptions(attempts=1)),
    )


@pytest.fixture(scope="module")
def killed_then_rerun(vertex_emulator: Any, gcs_emulator: Any) -> dict[str, int]:
    """Kill an evaluation after more than one checkpoint batch was answered, rerun it; the counts.

    Module-scoped: the two assertions below judge the same kill (it takes a few seconds).
    """
    from devtools.local_env import LOCAL_BUCKET

    gcs_bucket_uri = f"gs://{LOCAL_BUCKET}/t-faults-kill-{os.getpid()}-{time.time_ns()}"
    vertex_emulator.reset()
    test_uri = write_questions(f"{gcs_bucket_uri}/test.jsonl", QUESTIONS)
    output = f"{gcs_bucket_uri}/evaluation"
    vertex_emulator.configure(latency_seconds=0.1)  # the kill lands mid-run, not after the last answer
    kill_after = 4 * SETTINGS.concurrency + 5
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            vertex_emulator.base_url,
            BASE_MODEL,
            test_uri,
            output,
            str(SETTINGS.concurrency),
        ],
        env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + 60
        while vertex_emulator.request_counts().get("generateContent.ok", 0) < kill_after:
            assert child.poll() is None, f"the evaluation ended (code {child.returncode}) before it could be killed"
            assert time.monotonic() < deadline, "the evaluation made no progress"
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    time.sleep(0.2)  # answers already on their way are counted by the emulator, not kept by anyone
    paid_before_kill = vertex_emulator.request_counts().get("generateContent.ok", 0)
    assert paid_before_kill < QUESTIONS, "killed too late: nothing left to resume"
    assert not storage.exists(f"{output}/base/predictions.jsonl")

    vertex_emulator.reset()
    client = emulator_client(vertex_emulator.base_url)
    try:
        rerun = run_predictions(client, BASE_MODEL, test_uri, output, SETTINGS, slug="base")
    finally:
        client.close()
    counts = vertex_emulator.request_counts()
    assert rerun.scores.errors == 0 and rerun.scores.answered == QUESTIONS, "every question answered once saved"
    assert len(read_predictions(rerun.predictions_uri)) == QUESTIONS, "no answer lost or duplicated in the file"
    assert (
        counts.get("generateContent", 0)
        == counts.get("generateContent.ok", 0)
        == QUESTIONS - rerun.resumed_from_checkpoint
    )
    return {
        "paid_before_kill": paid_before_kill,
        "resumed": rerun.resumed_from_checkpoint,
        "paid_twice": paid_before_kill + counts["generateContent.ok"] - QUESTIONS,
    }


def test_a_killed_evaluation_pays_again_at_most_eval_concurrency_answers(killed_then_rerun: dict) -> None:
    """What was answered before the kill is kept, except what was in flight (at most one per worker)."""
    assert killed_then_rerun["resumed"] >= killed_then_rerun["paid_before_kill"] - SETTINGS.concurrency, (
        killed_then_rerun
    )
    assert killed_then_rerun["paid_twice"] <= SETTINGS.concurrency, killed_then_rerun
