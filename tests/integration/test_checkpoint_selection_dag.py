"""Best-checkpoint selection end to end in ``dag.test()``, against the GCS and Vertex AI emulators.

The emulator's checkpoints answer best at ``best_checkpoint_epoch`` and worse the farther an epoch is from
it, so a run whose best checkpoint is not the last must choose it on validation, make it the model's
default and evaluate (and promote) the tuned endpoint serving it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from gemini_qa_tuning import storage
from gemini_qa_tuning.champion import read_champion
from tests.integration.test_pipeline_dag import pipeline_dag, run_pipeline  # noqa: F401  (fixture)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VALIDATION_QUESTIONS = 30


def _prompts(uri: str, key: str = "prompt") -> set[str]:
    return {json.loads(line)[key] for line in storage.read_text(uri).splitlines() if line.strip()}


def test_a_best_checkpoint_that_is_not_the_last_becomes_the_default_and_is_evaluated(
    genai_client: Any,  # first: it resets the emulator, which pipeline_dag then configures
    pipeline_dag: Any,  # noqa: F811
    vertex_emulator: Any,
    gcs_bucket_uri: str,
) -> None:
    vertex_emulator.configure(best_checkpoint_epoch=2)

    state, tasks, summary = run_pipeline(
        pipeline_dag, gcs_bucket_uri, epochs=3, checkpoint_eval_questions=VALIDATION_QUESTIONS
    )

    assert state == "success", tasks
    assert tasks["select_checkpoint"] == "success" and tasks["evaluate_tuned"] == "success"
    assert summary is not None
    selection = summary["checkpoint_selection"]
    scores = {score["checkpoint"]["checkpoint_id"]: score for score in selection["scores"]}
    assert list(scores) == ["1", "2", "3"]
    assert {score["questions"] for score in scores.values()} == {VALIDATION_QUESTIONS}
    assert selection["chosen_checkpoint_id"] == "2", selection
    assert scores["2"]["f1"] > scores["3"]["f1"] and scores["2"]["f1"] > scores["1"]["f1"]
    assert selection["default_checkpoint_set"] is True

    # Chosen on validation only: none of the questions the checkpoints answered is a test question.
    validation_prompts = _prompts(selection["questions_uri"])
    test_prompts = _prompts(summary["dataset"]["test_uri"])
    assert len(validation_prompts) == VALIDATION_QUESTIONS and not validation_prompts & test_prompts

    # On the emulator: the model's default checkpoint is now 2, so its own endpoint answers like checkpoint 2.
    counts = vertex_emulator.request_counts()
    assert counts["models.patch"] == 1
    checkpoints = summary["tuned_model"]["checkpoints"]
    endpoints = {checkpoint["checkpoint_id"]: checkpoint["endpoint"] for checkpoint in checkpoints}
    tuned_endpoint = summary["tuned_model"]["endpoint"]
    sample = sorted(validation_prompts)[:5]

    def answers(endpoint: str) -> list[str]:
        return [str(genai_client.models.generate_content(model=endpoint, contents=prompt).text) for prompt in sample]

    assert answers(tuned_endpoint) == answers(endpoints["2"]) != answers(endpoints["3"])

    # The test comparison evaluated that endpoint, and the champion is it.
    metrics = json.loads(storage.read_text(summary["evaluation"]["metrics_uri"]))
    assert metrics["models"]["tuned"]["model"] == tuned_endpoint
    champion, _ = read_champion(gcs_bucket_uri)
    assert champion is not None and champion.model == tuned_endpoint


def test_export_last_checkpoint_only_spends_no_validation_request(
    pipeline_dag: Any,  # noqa: F811
    vertex_emulator: Any,
    gcs_bucket_uri: str,
) -> None:
    vertex_emulator.configure(best_checkpoint_epoch=2)

    state, tasks, summary = run_pipeline(pipeline_dag, gcs_bucket_uri, epochs=3, export_last_checkpoint_only=True)

    assert state == "success", tasks
    assert tasks["select_checkpoint"] == "success"
    assert summary is not None
    selection = summary["checkpoint_selection"]
    assert selection["scores"] == [] and selection["chosen_checkpoint_id"] is None
    assert "exported 1 checkpoint" in selection["reason"]
    assert [checkpoint["epoch"] for checkpoint in summary["tuned_model"]["checkpoints"]] == [3]
    counts = vertex_emulator.request_counts()
    assert counts["models.patch"] == 0
    # Only the test questions were asked: base and tuned once each (no champion yet), no validation request.
    test_questions = summary["dataset"]["counts"]["test"]
    assert counts["generateContent"] == 2 * test_questions, counts
