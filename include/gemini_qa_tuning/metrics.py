"""Moved to :mod:`gemini_qa_tuning.evaluation.scoring`; this name keeps old imports working."""

from __future__ import annotations

from gemini_qa_tuning.evaluation.scoring import (
    DatasetScore,
    PairedComparison,
    QuestionScore,
    ResponseStatistics,
    aggregate_scores,
    answer_tokens,
    compare_paired,
    exact_match,
    f1_score,
    normalize_for_squad_metric,
    percentile,
    response_statistics,
    score_dataset,
    score_question,
)

__all__ = [
    "DatasetScore",
    "PairedComparison",
    "QuestionScore",
    "ResponseStatistics",
    "aggregate_scores",
    "answer_tokens",
    "compare_paired",
    "exact_match",
    "f1_score",
    "normalize_for_squad_metric",
    "percentile",
    "response_statistics",
    "score_dataset",
    "score_question",
]
