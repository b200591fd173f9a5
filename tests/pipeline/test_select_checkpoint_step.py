"""The select_checkpoint step without servers: a no-op asks nothing, a refused default fails for good."""

from __future__ import annotations

import contextlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from gemini_qa_tuning.evaluation.checkpoint_selection import CheckpointSelection
from gemini_qa_tuning.gemini_format import tuning_line
from gemini_qa_tuning.pipeline import steps
from gemini_qa_tuning.pipeline.params import PipelineParams
from gemini_qa_tuning.tuning import TunedCheckpoint, TunedModel


def tuned(epochs: int) -> TunedModel:
    return TunedModel(
        job_name="projects/1/locations/us-central1/tuningJobs/9",
        state="JOB_STATE_SUCCEEDED",
        tuned_model="projects/1/locations/us-central1/models/5@1",
        endpoint="projects/1/locations/us-central1/endpoints/1",
        billable_tokens=None,
        epochs=epochs,
        actual_cost_usd=None,
        checkpoints=tuple(
            TunedCheckpoint(str(epoch), epoch, epoch, f"projects/1/locations/us-central1/endpoints/{10 + epoch}")
            for epoch in range(1, epochs + 1)
        ),
    )


class FakeHook:
    def __init__(self, refuse_with: int | None = None) -> None:
        self.refuse_with = refuse_with
        self.defaults: list[tuple[str, str]] = []
        self.closed = False

    def get_client(self) -> Any:
        return None

    def set_default_checkpoint(self, model: str, checkpoint_id: str) -> None:
        from google.genai import errors

        if self.refuse_with is not None:
            raise errors.ClientError(self.refuse_with, {"error": {"message": "no", "status": "INVALID_ARGUMENT"}})
        self.defaults.append((model, checkpoint_id))

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def exported(tmp_path: Path) -> Any:
    validation = tmp_path / "validation.jsonl"
    validation.write_text("".join(tuning_line(f"prompt {index}", f"answer {index}") + "\n" for index in range(8)))
    return SimpleNamespace(validation_uri=str(validation))


def fake_runs(monkeypatch: pytest.MonkeyPatch, f1_by_endpoint: dict[str, float]) -> list[str]:
    """Checkpoint runs scored from ``f1_by_endpoint``; local files, so no connection is needed."""
    asked: list[str] = []
    monkeypatch.setattr(steps, "as_connection", lambda params, hook=None: contextlib.nullcontext())

    def run_predictions(client: Any, model: str, uri: str, prefix: str, settings: Any, *, slug: str) -> Any:
        asked.append(model)
        scores = SimpleNamespace(questions=4, exact_match=0.0, f1=f1_by_endpoint[model], errors=0)
        return SimpleNamespace(scores=scores, predictions_uri=f"{prefix}/{slug}/predictions.jsonl")

    monkeypatch.setattr("gemini_qa_tuning.evaluation.run_predictions", run_predictions)
    return asked


def test_one_checkpoint_asks_nothing_and_sets_nothing(monkeypatch: pytest.MonkeyPatch, exported: Any) -> None:
    hook = FakeHook()
    monkeypatch.setattr(steps, "vertex_hook", lambda params: hook)
    asked = fake_runs(monkeypatch, {})

    selection = steps.select_checkpoint(tuned(1), exported, PipelineParams(gcs_prefix="/unused"), "run-1")

    assert isinstance(selection, CheckpointSelection)
    assert selection.chosen_checkpoint_id is None and not selection.default_checkpoint_set
    assert asked == [] and hook.defaults == []


def test_the_best_checkpoint_becomes_the_default(
    monkeypatch: pytest.MonkeyPatch, exported: Any, tmp_path: Path
) -> None:
    hook = FakeHook()
    monkeypatch.setattr(steps, "vertex_hook", lambda params: hook)
    endpoints = [checkpoint.endpoint or "" for checkpoint in tuned(3).checkpoints]
    asked = fake_runs(monkeypatch, dict(zip(endpoints, (40.0, 55.0, 50.0), strict=True)))
    params = PipelineParams(gcs_prefix=str(tmp_path), checkpoint_eval_questions=4)

    selection = steps.select_checkpoint(tuned(3), exported, params, "run-1")

    assert asked == endpoints
    assert selection.chosen_checkpoint_id == "2" and selection.default_checkpoint_set
    assert hook.defaults == [("projects/1/locations/us-central1/models/5@1", "2")] and hook.closed


def test_a_refused_default_fails_the_task_without_retry(
    monkeypatch: pytest.MonkeyPatch, exported: Any, tmp_path: Path
) -> None:
    monkeypatch.setattr(steps, "vertex_hook", lambda params: FakeHook(refuse_with=400))
    endpoints = [checkpoint.endpoint or "" for checkpoint in tuned(2).checkpoints]
    fake_runs(monkeypatch, dict.fromkeys(endpoints, 10.0))
    params = PipelineParams(gcs_prefix=str(tmp_path), checkpoint_eval_questions=4)

    with pytest.raises(AirflowFailException, match="refused to make checkpoint 2 the default"):
        steps.select_checkpoint(tuned(2), exported, params, "run-1")
