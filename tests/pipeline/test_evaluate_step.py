"""The pipeline's evaluation step against the emulators: thinking per model from the catalog, failures no
retry fixes as AirflowFailException with what to change."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from gemini_qa_tuning import storage
from gemini_qa_tuning.pipeline import steps
from gemini_qa_tuning.pipeline.params import PipelineParams

pytestmark = pytest.mark.integration

QUESTIONS = [
    ("q1", "The bridge opened in 1911 after four years of work.", "When did the bridge open?", ["1911"]),
    ("q2", "Rollo agreed to swear fealty to King Charles III.", "Who did Rollo swear fealty to?", ["Charles III"]),
]


def exported_test_set(prefix: str, count: int = 6) -> Any:
    """A stand-in for the export step's record: the evaluation reads only its ``test_uri``."""
    lines = []
    for index in range(count):
        question_id, context, question, answers = QUESTIONS[index % len(QUESTIONS)]
        prompt = f"Answer the question.\n\nContext:\n{context}\n\nQuestion:\n{question} ({index})"
        lines.append(json.dumps({"id": f"{question_id}-{index}", "prompt": prompt, "answers": answers}))
    test_uri = f"{prefix}/test.jsonl"
    storage.write_text(test_uri, "\n".join(lines) + "\n")
    return SimpleNamespace(test_uri=test_uri)


@pytest.fixture
def emulators(local_airflow_env: dict, vertex_emulator: Any, with_thinking_catalog: Any) -> Any:
    vertex_emulator.reset()
    return vertex_emulator


def test_a_thinking_by_default_model_answers_with_the_default_params(emulators: Any, gcs_bucket_uri: str) -> None:
    params = PipelineParams(gcs_prefix=gcs_bucket_uri, base_model="gemini-3.5-flash")
    run = steps.evaluate_base(exported_test_set(gcs_bucket_uri), params, "run-1")

    assert run.thinking is not None and run.thinking.level == "MINIMAL"
    assert run.scores.answered == 6 and run.scores.empty == 0 and run.scores.max_tokens_finishes == 0
    assert run.scores.thinking_tokens > 0 and run.scores.mean_thinking_tokens > 0


def test_too_many_cut_off_answers_fail_the_step_saying_which_params_to_change(
    emulators: Any, gcs_bucket_uri: str
) -> None:
    # A budget spends exactly what it reserves in the emulator, so an answer cap of 1 token cuts every
    # answer: a retry would get the same, so the task fails for good.
    params = PipelineParams(
        gcs_prefix=gcs_bucket_uri, base_model="gemini-3.5-flash-lite", eval_max_output_tokens=1, eval_thinking="64"
    )
    with pytest.raises(AirflowFailException) as raised:
        steps.evaluate_base(exported_test_set(gcs_bucket_uri), params, "run-1")
    message = str(raised.value)
    assert "6 of 6 answers (100.0%) came back empty or cut off at the output cap" in message
    assert "maxOutputTokens 65 (answer cap 1) with thinking_budget 64" in message
    assert "raise the Param eval_max_output_tokens (now 1) or lower eval_thinking (now '64'" in message


def test_a_thinking_override_the_model_refuses_fails_before_any_request(emulators: Any, gcs_bucket_uri: str) -> None:
    params = PipelineParams(gcs_prefix=gcs_bucket_uri, base_model="gemini-3.5-flash", eval_thinking="0")
    with pytest.raises(AirflowFailException, match=r"Param eval_thinking: gemini-3.5-flash cannot turn thinking off"):
        steps.evaluate_base(exported_test_set(gcs_bucket_uri), params, "run-1")
    assert emulators.request_counts().get("generateContent", 0) == 0
