"""The best-checkpoint rule, the validation sample and the selection record (no servers)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gemini_qa_tuning.evaluation.checkpoint_selection import (
    CheckpointScore,
    CheckpointSelection,
    CheckpointSelectionError,
    checkpoint_slug,
    choose_checkpoint,
    no_selection,
    score_checkpoints,
    selection_not_needed,
    validation_questions,
    write_validation_questions,
)
from gemini_qa_tuning.evaluation.questions import load_test_questions
from gemini_qa_tuning.gemini_format import tuning_line
from gemini_qa_tuning.tuning import TunedCheckpoint, TunedModel

ENDPOINT = "projects/1/locations/us-central1/endpoints/{}"


def checkpoint(epoch: int, checkpoint_id: str | None = None) -> TunedCheckpoint:
    return TunedCheckpoint(
        checkpoint_id=checkpoint_id or str(epoch), epoch=epoch, step=epoch * 2, endpoint=ENDPOINT.format(100 + epoch)
    )


def score(epoch: int, f1: float, exact_match: float = 0.0) -> CheckpointScore:
    return CheckpointScore(
        checkpoint=checkpoint(epoch), questions=10, exact_match=exact_match, f1=f1, errors=0, predictions_uri="x"
    )


def tuned_model(epochs: int) -> TunedModel:
    return TunedModel(
        job_name="projects/1/locations/us-central1/tuningJobs/9",
        state="JOB_STATE_SUCCEEDED",
        tuned_model="projects/1/locations/us-central1/models/5@1",
        endpoint=ENDPOINT.format(1),
        billable_tokens=100,
        epochs=epochs,
        actual_cost_usd=None,
        checkpoints=tuple(checkpoint(epoch) for epoch in range(1, epochs + 1)),
    )


# --------------------------------------------------------------------------- the rule
def test_the_highest_validation_f1_wins_even_when_it_is_not_the_last() -> None:
    chosen = choose_checkpoint([score(1, 60.0), score(2, 75.5), score(3, 70.0)])
    assert chosen.checkpoint.checkpoint_id == "2"


def test_a_tie_goes_to_the_later_checkpoint_whatever_the_order_or_the_exact_match() -> None:
    assert choose_checkpoint([score(3, 70.0), score(1, 70.0, exact_match=90.0), score(2, 50.0)]).checkpoint.epoch == 3
    # Float noise below the tolerance is a tie, too.
    assert choose_checkpoint([score(1, 70.0 + 1e-9), score(2, 70.0)]).checkpoint.epoch == 2
    assert choose_checkpoint([score(1, 70.01), score(2, 70.0)]).checkpoint.epoch == 1


def test_choosing_among_no_checkpoint_is_an_error() -> None:
    with pytest.raises(CheckpointSelectionError, match="No checkpoint"):
        choose_checkpoint([])


@given(st.lists(st.floats(min_value=0, max_value=100), min_size=1, max_size=12))
def test_the_chosen_one_has_the_best_f1_and_is_the_latest_of_the_best(f1s: list[float]) -> None:
    scores = [score(epoch, f1) for epoch, f1 in enumerate(f1s, start=1)]
    chosen = choose_checkpoint(scores)
    assert chosen.f1 >= max(f1s) - 1e-6
    later = [other for other in scores if (other.checkpoint.epoch or 0) > (chosen.checkpoint.epoch or 0)]
    assert all(other.f1 < max(f1s) - 1e-6 for other in later)


# --------------------------------------------------------------------------- when nothing is chosen
def test_no_selection_with_one_checkpoint_a_zero_cap_or_no_validation_split() -> None:
    assert "1 checkpoint" in str(selection_not_needed(tuned_model(1), "gs://b/v.jsonl", 100))
    assert "0 checkpoints" in str(selection_not_needed(tuned_model(0), "gs://b/v.jsonl", 100))
    assert "checkpoint_eval_questions is 0" in str(selection_not_needed(tuned_model(3), "gs://b/v.jsonl", 0))
    assert "no validation split" in str(selection_not_needed(tuned_model(3), None, 100))
    assert selection_not_needed(tuned_model(3), "gs://b/v.jsonl", 100) is None


def test_a_checkpoint_without_an_endpoint_cannot_be_judged() -> None:
    from dataclasses import replace

    model = tuned_model(2)
    broken = replace(model, checkpoints=(model.checkpoints[0], replace(model.checkpoints[1], endpoint=None)))
    with pytest.raises(CheckpointSelectionError, match=r"checkpoints \['2'\] without an endpoint"):
        selection_not_needed(broken, "gs://b/v.jsonl", 10)


# --------------------------------------------------------------------------- the validation sample
def write_validation(path: Path, count: int) -> str:
    path.write_text("".join(tuning_line(f"prompt {index}", f"answer {index}") + "\n" for index in range(count)))
    return str(path)


def test_the_sample_is_capped_seeded_and_in_file_order(tmp_path: Path) -> None:
    uri = write_validation(tmp_path / "validation.jsonl", 50)
    sample = validation_questions(uri, 10, seed=7)
    assert len(sample) == 10
    assert sample == validation_questions(uri, 10, seed=7)
    assert sample != validation_questions(uri, 10, seed=8)
    records = [json.loads(line) for line in sample]
    line_numbers = [int(record["id"].removeprefix("validation-")) for record in records]
    assert line_numbers == sorted(line_numbers)
    assert all(record["answers"] == [record["prompt"].replace("prompt", "answer")] for record in records)
    assert len(validation_questions(uri, 500, seed=7)) == 50


def test_the_written_sample_is_what_the_test_question_loader_reads(tmp_path: Path) -> None:
    uri = write_validation(tmp_path / "validation.jsonl", 5)
    output = str(tmp_path / "out" / "questions.jsonl")
    assert write_validation_questions(uri, output, 3, seed=0) == 3
    questions = load_test_questions(output)
    assert len(questions) == 3 and all(question.answers for question in questions)


def test_an_empty_or_malformed_validation_file_fails_saying_what_to_do(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(CheckpointSelectionError, match="checkpoint_eval_questions to 0"):
        write_validation_questions(str(empty), str(tmp_path / "q.jsonl"), 3, seed=0)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"contents": []}\n')
    with pytest.raises(CheckpointSelectionError, match="line 1 is not a Gemini tuning record"):
        validation_questions(str(bad), 3, seed=0)


# --------------------------------------------------------------------------- scoring every checkpoint
@dataclass(frozen=True)
class FakeScores:
    questions: int
    exact_match: float
    f1: float
    errors: int = 0


@dataclass(frozen=True)
class FakeRun:
    scores: FakeScores
    predictions_uri: str


def test_every_checkpoint_answers_the_same_questions_and_the_best_is_chosen() -> None:
    asked: list[tuple[str, str, str]] = []
    f1_by_endpoint = {ENDPOINT.format(101): 50.0, ENDPOINT.format(102): 80.0, ENDPOINT.format(103): 65.0}

    def run(model: str, questions_uri: str, slug: str) -> FakeRun:
        asked.append((model, questions_uri, slug))
        return FakeRun(FakeScores(questions=20, exact_match=10.0, f1=f1_by_endpoint[model]), f"gs://b/{slug}/p.jsonl")

    selection = score_checkpoints(tuned_model(3), "gs://b/q.jsonl", run, question_limit=20, seed=0)

    assert [model for model, _, _ in asked] == list(f1_by_endpoint)
    assert {questions for _, questions, _ in asked} == {"gs://b/q.jsonl"}
    assert [slug for _, _, slug in asked] == ["checkpoint-1", "checkpoint-2", "checkpoint-3"]
    assert selection.chosen_checkpoint_id == "2"
    assert selection.chosen is not None and selection.chosen.f1 == 80.0
    assert "beats the last checkpoint 3" in selection.reason
    assert selection.requests_needed == 60
    assert not selection.default_checkpoint_set  # the pipeline sets it, then records it
    assert "<- chosen" in selection.describe()


def test_the_selection_record_round_trips_through_json() -> None:
    selection = CheckpointSelection(
        tuned_model="projects/1/locations/us-central1/models/5@1",
        checkpoints=tuned_model(2).checkpoints,
        scores=(score(1, 40.0, 30.0), score(2, 60.0, 50.0)),
        chosen_checkpoint_id="2",
        reason="why",
        question_limit=100,
        seed=3,
        questions_uri="gs://b/q.jsonl",
        default_checkpoint_set=True,
    )
    assert CheckpointSelection.from_json(json.loads(json.dumps(selection.to_json()))) == selection
    nothing = no_selection(tuned_model(1), "one checkpoint", question_limit=100, seed=0)
    assert CheckpointSelection.from_json(nothing.to_json()) == nothing
    assert nothing.chosen is None and nothing.requests_needed == 0
    assert nothing.describe().startswith("No checkpoint selection")


def test_checkpoint_slugs_are_path_safe() -> None:
    assert checkpoint_slug(checkpoint(1, "a/b c")) == "checkpoint-a-b-c"


def test_the_run_summary_carries_the_selection_and_reads_older_summaries_without_it() -> None:
    from gemini_qa_tuning.contracts import RunSummary

    selection = no_selection(tuned_model(1), "one checkpoint", question_limit=100, seed=0)
    summary = RunSummary.from_task_results(
        run_id="r",
        exported=None,
        plan=None,
        job=None,
        tuned=None,
        comparison=None,
        decision=None,
        promoted=None,
        checkpoint_selection=selection.to_json(),
    )
    assert RunSummary.from_json(summary.to_json()).checkpoint_selection == selection
    older = summary.to_json()
    del older["checkpoint_selection"]
    assert RunSummary.from_json(older).checkpoint_selection is None
