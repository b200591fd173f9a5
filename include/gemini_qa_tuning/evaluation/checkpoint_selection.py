"""Choose the tuned model's best checkpoint on the **validation** split, never on the test split.

A Vertex tuning job exports about one checkpoint per epoch, each deployed to its own endpoint, and the
tuned model's endpoint serves the model's *default* checkpoint (the last one unless changed;
https://cloud.google.com/vertex-ai/generative-ai/docs/models/tuning-checkpoints). An over-fitted last
epoch is common on small QA sets, so every checkpoint answers the same seeded sample of validation
questions (:func:`validation_questions`), is scored with the official SQuAD EM/F1 through the same runner
as the test evaluation (:func:`~gemini_qa_tuning.evaluation.runner.run_predictions`, resumable), and
:func:`choose_checkpoint` picks one. The pipeline then makes it the model's default checkpoint, so the
tuned endpoint that the test comparison (and serving) uses is the chosen one. The test split only judges
the chosen checkpoint against the base model and the champion: choosing on it would bias that comparison.

**The rule** (:func:`choose_checkpoint`): the highest validation F1 wins; F1 values within
:data:`F1_TIE_TOLERANCE` points are a tie, and a tie goes to the **later** checkpoint (higher epoch, then
step), because the later one is what Vertex serves by default and saw the most training.

No selection is made (:attr:`CheckpointSelection.chosen` is ``None``, nothing is asked, the default
checkpoint stays) when the job exported fewer than two checkpoints (``export_last_checkpoint_only``), the
dataset has no validation split, or the question cap is 0.

The validation file is in Gemini tuning format (prompt, normalized first answer); its prompt is the same
template as the test prompts, so the answers are comparable. No Airflow import here.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

from gemini_qa_tuning import storage
from gemini_qa_tuning.gemini_format import TuningRecordError, dumps_compact, parse_tuning_line
from gemini_qa_tuning.json_types import (
    JsonObject,
    RecordFieldError,
    read_bool,
    read_float,
    read_int,
    read_object,
    read_optional_str,
    read_str,
)
from gemini_qa_tuning.tuning.states import TunedCheckpoint, TunedModel

__all__ = [
    "F1_TIE_TOLERANCE",
    "QUESTIONS_FILE",
    "CheckpointScore",
    "CheckpointSelection",
    "CheckpointSelectionError",
    "PredictionRunner",
    "checkpoint_slug",
    "choose_checkpoint",
    "no_selection",
    "score_checkpoints",
    "selection_not_needed",
    "validation_questions",
    "write_validation_questions",
]

logger = logging.getLogger(__name__)

#: F1 points within which two checkpoints count as equally good (float noise, not a real difference).
F1_TIE_TOLERANCE = 1e-6
QUESTIONS_FILE = "validation_questions.jsonl"
RULE = "highest validation F1; a tie (within 1e-6 points) goes to the later checkpoint (higher epoch, then step)"


class CheckpointSelectionError(ValueError):
    """The checkpoints or the validation file cannot be used to choose (the message says what to fix)."""


@dataclass(frozen=True)
class CheckpointScore:
    """One checkpoint's validation scores (SQuAD EM/F1 in percent) and where its answers are."""

    checkpoint: TunedCheckpoint
    questions: int
    exact_match: float
    f1: float
    errors: int
    predictions_uri: str

    def to_json(self) -> JsonObject:
        return {
            "checkpoint": self.checkpoint.to_json(),
            "questions": self.questions,
            "exact_match": self.exact_match,
            "f1": self.f1,
            "errors": self.errors,
            "predictions_uri": self.predictions_uri,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "checkpoint score"
        return cls(
            checkpoint=TunedCheckpoint.from_json(read_object(data, "checkpoint", where)),
            questions=read_int(data, "questions", where),
            exact_match=read_float(data, "exact_match", where),
            f1=read_float(data, "f1", where),
            errors=read_int(data, "errors", where),
            predictions_uri=read_str(data, "predictions_uri", where),
        )


@dataclass(frozen=True)
class CheckpointSelection:
    """Which checkpoint of a tuned model the pipeline chose on validation, and every checkpoint's scores.

    ``chosen_checkpoint_id`` is ``None`` when no choice was made (``reason`` says why) and the model's
    default checkpoint was left as it was. ``default_checkpoint_set`` is true once the chosen checkpoint
    is the model's default (so the tuned endpoint serves it). ``questions_uri`` is the validation sample
    every checkpoint answered (``None`` when nothing was asked).
    """

    tuned_model: str | None
    checkpoints: tuple[TunedCheckpoint, ...]
    scores: tuple[CheckpointScore, ...]
    chosen_checkpoint_id: str | None
    reason: str
    question_limit: int
    seed: int
    questions_uri: str | None = None
    default_checkpoint_set: bool = False
    rule: str = RULE

    @property
    def chosen(self) -> CheckpointScore | None:
        """The chosen checkpoint's scores, or ``None`` when no choice was made."""
        return next(
            (score for score in self.scores if score.checkpoint.checkpoint_id == self.chosen_checkpoint_id), None
        )

    @property
    def requests_needed(self) -> int:
        """Validation questions asked in all (0 when no choice was made)."""
        return sum(score.questions for score in self.scores)

    def describe(self) -> str:
        """One line per checkpoint for a log or a summary."""
        if not self.scores:
            return f"No checkpoint selection: {self.reason}"
        lines = [f"Checkpoint selection on {self.scores[0].questions} validation questions ({self.rule}):"]
        for score in self.scores:
            marker = "  <- chosen" if score.checkpoint.checkpoint_id == self.chosen_checkpoint_id else ""
            lines.append(
                f"  checkpoint {score.checkpoint.checkpoint_id} (epoch {score.checkpoint.epoch}, step "
                f"{score.checkpoint.step}): EM {score.exact_match:6.2f}  F1 {score.f1:6.2f}{marker}"
            )
        lines.append(f"  {self.reason}")
        return "\n".join(lines)

    def to_json(self) -> JsonObject:
        return {
            "tuned_model": self.tuned_model,
            "checkpoints": [checkpoint.to_json() for checkpoint in self.checkpoints],
            "scores": [score.to_json() for score in self.scores],
            "chosen_checkpoint_id": self.chosen_checkpoint_id,
            "reason": self.reason,
            "question_limit": self.question_limit,
            "seed": self.seed,
            "questions_uri": self.questions_uri,
            "default_checkpoint_set": self.default_checkpoint_set,
            "rule": self.rule,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "checkpoint selection"
        return cls(
            tuned_model=read_optional_str(data, "tuned_model", where),
            checkpoints=tuple(TunedCheckpoint.from_json(item) for item in _objects(data, "checkpoints", where)),
            scores=tuple(CheckpointScore.from_json(item) for item in _objects(data, "scores", where)),
            chosen_checkpoint_id=read_optional_str(data, "chosen_checkpoint_id", where),
            reason=read_str(data, "reason", where),
            question_limit=read_int(data, "question_limit", where),
            seed=read_int(data, "seed", where),
            questions_uri=read_optional_str(data, "questions_uri", where),
            default_checkpoint_set=read_bool(data, "default_checkpoint_set", where),
            rule=read_optional_str(data, "rule", where) or RULE,
        )


def _objects(data: Mapping[str, object], key: str, where: str) -> list[Mapping[str, object]]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise RecordFieldError(f"{where}: field {key!r} must be a list of objects, got {value!r}.")
    return list(value)


# --------------------------------------------------------------------------- the rule
def _later_first_key(score: CheckpointScore) -> tuple[int, int]:
    return (score.checkpoint.epoch or 0, score.checkpoint.step or 0)


def choose_checkpoint(scores: Sequence[CheckpointScore]) -> CheckpointScore:
    """The best checkpoint by the module's rule: highest F1; a tie goes to the later checkpoint."""
    if not scores:
        raise CheckpointSelectionError("No checkpoint was scored, so none can be chosen.")
    best_f1 = max(score.f1 for score in scores)
    tied = [score for score in scores if best_f1 - score.f1 <= F1_TIE_TOLERANCE]
    return max(tied, key=_later_first_key)


def selection_not_needed(tuned: TunedModel, validation_uri: str | None, question_limit: int) -> str | None:
    """Why no checkpoint has to be chosen (nothing is asked then), or ``None`` when a choice is needed."""
    if len(tuned.checkpoints) < 2:
        count = len(tuned.checkpoints)
        return (
            f"the tuning job exported {count} checkpoint{'s' if count != 1 else ''} (export_last_checkpoint_only, "
            "or a single epoch): nothing to choose, the tuned endpoint serves the model as trained."
        )
    if question_limit <= 0:
        return "checkpoint_eval_questions is 0: selection is off, the model's default (last) checkpoint is kept."
    if not validation_uri:
        return "the dataset has no validation split: the model's default (last) checkpoint is kept."
    missing = [checkpoint.checkpoint_id for checkpoint in tuned.checkpoints if not checkpoint.endpoint]
    if missing:
        raise CheckpointSelectionError(
            f"Tuning job {tuned.job_name} lists checkpoints {missing} without an endpoint, so they cannot be "
            "evaluated. Inspect the job in the Vertex AI console; set checkpoint_eval_questions to 0 to keep "
            "the default checkpoint."
        )
    return None


# --------------------------------------------------------------------------- the validation sample
def _sample_key(seed: int, prompt: str) -> str:
    return hashlib.sha256(f"{seed}\n{prompt}".encode()).hexdigest()


def validation_questions(validation_uri: str, limit: int, seed: int) -> list[str]:
    """Up to ``limit`` validation examples as ``test.jsonl``-style lines, a seeded sample in file order.

    Each line is ``{"id": "validation-<line>", "prompt", "answers": [the tuning target]}``: the same
    shape :func:`~gemini_qa_tuning.evaluation.questions.load_test_questions` reads. The sample depends
    only on the file and ``seed``, so a retry asks the same questions (and resumes its answers).
    """
    examples: list[tuple[int, str, str]] = []
    for line_number, line in enumerate(storage.iter_lines(validation_uri), start=1):
        if not line.strip():
            continue
        try:
            prompt, answer = parse_tuning_line(line)
        except TuningRecordError as error:
            raise CheckpointSelectionError(
                f"{validation_uri} line {line_number} is not a Gemini tuning record ({error}); re-export the dataset."
            ) from error
        examples.append((line_number, prompt, answer))
    chosen = sorted(examples, key=lambda example: _sample_key(seed, example[1]))[:limit]
    return [
        dumps_compact({"id": f"validation-{line_number}", "prompt": prompt, "answers": [answer]})
        for line_number, prompt, answer in sorted(chosen)
    ]


def write_validation_questions(validation_uri: str, output_uri: str, limit: int, seed: int) -> int:
    """Write the seeded validation sample to ``output_uri``; return how many questions it holds."""
    lines = validation_questions(validation_uri, limit, seed)
    if not lines:
        raise CheckpointSelectionError(
            f"{validation_uri} holds no validation example; raise max_validation_examples or set "
            "checkpoint_eval_questions to 0."
        )
    storage.write_bytes(output_uri, ("\n".join(lines) + "\n").encode("utf-8"), content_type="application/jsonl")
    return len(lines)


# --------------------------------------------------------------------------- scoring every checkpoint
#: Answers the questions at ``questions_uri`` with ``model`` into ``<output>/<slug>/``; returns the run
#: (``evaluation.runner.run_predictions`` with the pipeline's client, settings and output prefix bound).
PredictionRunner = Callable[[str, str, str], Any]


def checkpoint_slug(checkpoint: TunedCheckpoint) -> str:
    """The output folder of one checkpoint's validation answers."""
    safe = "".join(
        character if character.isalnum() or character in "._-" else "-" for character in checkpoint.checkpoint_id
    )
    return f"checkpoint-{safe or 'unnamed'}"


def score_checkpoints(
    tuned: TunedModel,
    questions_uri: str,
    run_predictions: PredictionRunner,
    *,
    question_limit: int,
    seed: int,
) -> CheckpointSelection:
    """Ask every checkpoint's endpoint the validation questions and choose the best one.

    ``run_predictions(model, questions_uri, slug)`` returns a
    :class:`~gemini_qa_tuning.evaluation.runner.PredictionRun`; its errors propagate.
    """
    scores: list[CheckpointScore] = []
    for checkpoint in tuned.checkpoints:
        assert checkpoint.endpoint is not None  # selection_not_needed refuses checkpoints without one
        run = run_predictions(checkpoint.endpoint, questions_uri, checkpoint_slug(checkpoint))
        scores.append(
            CheckpointScore(
                checkpoint=checkpoint,
                questions=run.scores.questions,
                exact_match=run.scores.exact_match,
                f1=run.scores.f1,
                errors=run.scores.errors,
                predictions_uri=run.predictions_uri,
            )
        )
        logger.info(
            "Checkpoint %s (epoch %s): validation EM %.2f, F1 %.2f on %d questions",
            checkpoint.checkpoint_id,
            checkpoint.epoch,
            run.scores.exact_match,
            run.scores.f1,
            run.scores.questions,
        )
    best = choose_checkpoint(scores)
    last = max(scores, key=_later_first_key)
    if best is last:
        reason = f"checkpoint {best.checkpoint.checkpoint_id} (the last) is the best on validation (F1 {best.f1:.2f})."
    else:
        reason = (
            f"checkpoint {best.checkpoint.checkpoint_id} (epoch {best.checkpoint.epoch}) beats the last checkpoint "
            f"{last.checkpoint.checkpoint_id} on validation: F1 {best.f1:.2f} vs {last.f1:.2f}."
        )
    return CheckpointSelection(
        tuned_model=tuned.tuned_model,
        checkpoints=tuned.checkpoints,
        scores=tuple(scores),
        chosen_checkpoint_id=best.checkpoint.checkpoint_id,
        reason=reason,
        question_limit=question_limit,
        seed=seed,
        questions_uri=questions_uri,
    )


def no_selection(tuned: TunedModel, reason: str, *, question_limit: int, seed: int) -> CheckpointSelection:
    """The record of a run that chose no checkpoint (nothing asked, the default checkpoint kept)."""
    return CheckpointSelection(
        tuned_model=tuned.tuned_model,
        checkpoints=tuned.checkpoints,
        scores=(),
        chosen_checkpoint_id=None,
        reason=reason,
        question_limit=question_limit,
        seed=seed,
    )
