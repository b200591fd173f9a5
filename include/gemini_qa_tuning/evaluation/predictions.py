"""One model's scored answers: the lines of ``predictions.jsonl`` and the scores they add up to.

A :class:`PredictionLine` is a checkpointed answer scored against the question's references (SQuAD
EM/F1, :mod:`gemini_qa_tuning.evaluation.scoring`); :class:`ModelScores` is what a model's lines add
up to, the same numbers in ``summary.json``, in the runner's result and per model in ``metrics.json``.
What changes this module: the prediction-file format and which statistics a model is summarized by.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Self

from gemini_qa_tuning import storage
from gemini_qa_tuning.evaluation.checkpoint import (
    MAX_TOKENS_FINISH,
    AnswerRecord,
    AnswerStatus,
    is_empty_or_truncated,
    read_answer_status,
)
from gemini_qa_tuning.evaluation.questions import EvaluationQuestion
from gemini_qa_tuning.evaluation.scoring import (
    QuestionScore,
    ResponseStatistics,
    aggregate_scores,
    response_statistics,
    score_question,
)
from gemini_qa_tuning.json_types import (
    JsonObject,
    read_bool,
    read_float,
    read_int,
    read_optional_float,
    read_optional_int,
    read_optional_str,
    read_str,
    read_str_list,
)
from gemini_qa_tuning.text import normalize_answer

__all__ = ["ModelScores", "PredictionLine", "read_predictions", "score_answer", "summarize_predictions"]


@dataclass(frozen=True)
class PredictionLine:
    """One line of ``predictions.jsonl``: the question's answer (or error), its scores and references."""

    id: str
    model: str
    prompt_sha256: str
    status: AnswerStatus
    response: str | None
    normalized_response: str | None
    exact_match: float
    f1: float
    blocked: bool
    finish_reason: str | None
    error: str | None
    attempts: int | None
    latency_seconds: float | None
    prompt_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    answers: tuple[str, ...]
    thinking_tokens: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def empty_or_truncated(self) -> bool:
        """Answered, not blocked, but with no text or cut off at the output cap (``MAX_TOKENS``)."""
        return is_empty_or_truncated(self.ok, self.blocked, self.finish_reason, self.response)

    @property
    def score(self) -> QuestionScore:
        return QuestionScore(self.exact_match, self.f1)

    def to_json(self) -> JsonObject:
        return {
            "id": self.id,
            "model": self.model,
            "prompt_sha256": self.prompt_sha256,
            "status": self.status,
            "response": self.response,
            "normalized_response": self.normalized_response,
            "exact_match": self.exact_match,
            "f1": self.f1,
            "blocked": self.blocked,
            "finish_reason": self.finish_reason,
            "error": self.error,
            "attempts": self.attempts,
            "latency_seconds": self.latency_seconds,
            "prompt_tokens": self.prompt_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "thinking_tokens": self.thinking_tokens,
            "answers": list(self.answers),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "prediction line"
        return cls(
            id=read_str(data, "id", where),
            model=read_str(data, "model", where),
            prompt_sha256=read_str(data, "prompt_sha256", where),
            status=read_answer_status(data, where),
            response=read_optional_str(data, "response", where),
            normalized_response=read_optional_str(data, "normalized_response", where),
            exact_match=read_float(data, "exact_match", where),
            f1=read_float(data, "f1", where),
            blocked=read_bool(data, "blocked", where),
            finish_reason=read_optional_str(data, "finish_reason", where),
            error=read_optional_str(data, "error", where),
            attempts=read_optional_int(data, "attempts", where),
            latency_seconds=read_optional_float(data, "latency_seconds", where),
            prompt_tokens=read_optional_int(data, "prompt_tokens", where),
            output_tokens=read_optional_int(data, "output_tokens", where),
            total_tokens=read_optional_int(data, "total_tokens", where),
            answers=tuple(read_str_list(data, "answers", where)),
            thinking_tokens=read_optional_int(data, "thinking_tokens", where),
        )


def score_answer(model: str, question: EvaluationQuestion, stored: AnswerRecord) -> PredictionLine:
    """Score one checkpointed answer: a failed or blocked request scores 0 on both measures."""
    response = stored.response if stored.ok else None
    score = score_question(None if stored.blocked or response is None else response, question.answers)
    return PredictionLine(
        id=question.id,
        model=model,
        prompt_sha256=question.prompt_sha256,
        status=stored.status,
        response=response,
        normalized_response=normalize_answer(response) if response is not None else None,
        exact_match=score.exact_match,
        f1=score.f1,
        blocked=stored.blocked,
        finish_reason=stored.finish_reason,
        error=stored.error,
        attempts=stored.attempts,
        latency_seconds=stored.latency_seconds,
        prompt_tokens=stored.prompt_tokens,
        output_tokens=stored.output_tokens,
        total_tokens=stored.total_tokens,
        answers=question.answers,
        thinking_tokens=stored.thinking_tokens,
    )


@dataclass(frozen=True)
class ModelScores(ResponseStatistics):
    """One model's response statistics over a question set, plus its EM and F1 (percent, 4 decimals).

    ``error_share`` is ``errors / questions`` (0..1). ``thinking_tokens`` sums
    ``usageMetadata.thoughtsTokenCount``; ``mean_thinking_tokens`` is per answered question.
    ``max_tokens_finishes`` counts answers cut off at the output cap; ``empty_or_truncated`` the answers
    that are empty or cut off (not blocked, not failed), and ``empty_or_truncated_share`` their share of
    the questions (0..1). These four read as 0 from files written before they existed.
    """

    exact_match: float
    f1: float
    error_share: float
    thinking_tokens: int = 0
    mean_thinking_tokens: float = 0.0
    max_tokens_finishes: int = 0
    empty_or_truncated: int = 0
    empty_or_truncated_share: float = 0.0

    def to_json(self) -> JsonObject:
        # EM and F1 first: they are what a reader of metrics.json looks for
        return {"exact_match": self.exact_match, "f1": self.f1, **self.as_dict()}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        """Read the score keys of ``data``; other keys (a run's or a report's own) are left to their reader."""
        where = "model scores"
        return cls(
            exact_match=read_float(data, "exact_match", where),
            f1=read_float(data, "f1", where),
            questions=read_int(data, "questions", where),
            answered=read_int(data, "answered", where),
            errors=read_int(data, "errors", where),
            empty=read_int(data, "empty", where),
            blocked=read_int(data, "blocked", where),
            mean_answer_tokens=read_float(data, "mean_answer_tokens", where),
            latency_mean_seconds=read_optional_float(data, "latency_mean_seconds", where),
            latency_p50_seconds=read_optional_float(data, "latency_p50_seconds", where),
            latency_p95_seconds=read_optional_float(data, "latency_p95_seconds", where),
            prompt_tokens=read_int(data, "prompt_tokens", where),
            output_tokens=read_int(data, "output_tokens", where),
            total_tokens=read_int(data, "total_tokens", where),
            error_share=read_float(data, "error_share", where),
            thinking_tokens=read_optional_int(data, "thinking_tokens", where) or 0,
            mean_thinking_tokens=read_optional_float(data, "mean_thinking_tokens", where) or 0.0,
            max_tokens_finishes=read_optional_int(data, "max_tokens_finishes", where) or 0,
            empty_or_truncated=read_optional_int(data, "empty_or_truncated", where) or 0,
            empty_or_truncated_share=read_optional_float(data, "empty_or_truncated_share", where) or 0.0,
        )


def _rounded(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def _rounded_statistics(statistics: ResponseStatistics) -> dict[str, float | None]:
    """The fractional statistics at the 4 decimals ``metrics.json`` keeps."""
    return {
        "mean_answer_tokens": round(statistics.mean_answer_tokens, 4),
        "latency_mean_seconds": _rounded(statistics.latency_mean_seconds),
        "latency_p50_seconds": _rounded(statistics.latency_p50_seconds),
        "latency_p95_seconds": _rounded(statistics.latency_p95_seconds),
    }


def summarize_predictions(lines: Sequence[PredictionLine]) -> ModelScores:
    """Scores and response statistics of one model's prediction lines."""
    scores = aggregate_scores(line.score for line in lines)
    statistics = response_statistics(
        [line.response if line.ok else None for line in lines],
        errors=sum(1 for line in lines if not line.ok),
        blocked=sum(1 for line in lines if line.blocked),
        latencies_seconds=[line.latency_seconds for line in lines if line.latency_seconds is not None],
        prompt_tokens=sum(line.prompt_tokens or 0 for line in lines),
        output_tokens=sum(line.output_tokens or 0 for line in lines),
        total_tokens=sum(line.total_tokens or 0 for line in lines),
    )
    answered = [line for line in lines if line.ok]
    thinking_tokens = sum(line.thinking_tokens or 0 for line in answered)
    empty_or_truncated = sum(1 for line in lines if line.empty_or_truncated)
    return ModelScores(
        **{**asdict(statistics), **_rounded_statistics(statistics)},
        exact_match=round(scores.exact_match, 4),
        f1=round(scores.f1, 4),
        error_share=round(statistics.errors / statistics.questions, 6) if statistics.questions else 0.0,
        thinking_tokens=thinking_tokens,
        mean_thinking_tokens=round(thinking_tokens / len(answered), 4) if answered else 0.0,
        max_tokens_finishes=sum(1 for line in answered if line.finish_reason == MAX_TOKENS_FINISH),
        empty_or_truncated=empty_or_truncated,
        empty_or_truncated_share=round(empty_or_truncated / len(lines), 6) if lines else 0.0,
    )


def read_predictions(predictions_uri: str) -> list[PredictionLine]:
    """The lines of a ``predictions.jsonl`` written by the runner."""
    lines = []
    for line_number, line in enumerate(storage.iter_lines(predictions_uri), start=1):
        if not line.strip():
            continue
        try:
            lines.append(PredictionLine.from_json(json.loads(line)))
        except ValueError as error:  # JSONDecodeError is a ValueError too
            raise ValueError(
                f"{predictions_uri} line {line_number} is not a prediction line ({error}). Re-run that "
                "model's evaluation task to write the file again."
            ) from error
    return lines
