"""Question-answering scores as the official SQuAD v1.1 evaluation defines them, plus paired comparisons.

Definition (SQuAD v1.1, Rajpurkar et al. 2016, ``evaluate-v1.1.py``):

* **Normalization** of an answer string, in this order: lowercase; delete every ASCII punctuation
  character (Python's ``string.punctuation``); replace the whole words ``a``, ``an`` and ``the`` by a
  space (word boundaries as Python 3's ``re`` sees them: ``théa`` is one word); collapse runs of
  whitespace to single spaces and strip the ends. Non-ASCII punctuation
  (``—``, ``«``, ``’`` …) is kept, exactly as in the official script.
* **Exact match** (EM) of one prediction against one reference: 1 when the normalized strings are
  equal, else 0.
* **F1** of one prediction against one reference: the normalized strings are split on whitespace into
  tokens; with ``common`` = the size of the multiset intersection of the two token lists,
  precision = common / len(prediction tokens), recall = common / len(reference tokens) and
  F1 = 2·P·R / (P + R); F1 is 0 when nothing is shared.
* **Per question** each score is the maximum over all reference answers.
* **Per dataset** each score is the mean over questions × 100; a question without a prediction
  scores 0.

One degenerate case follows the official v1.1 script to the letter: when the prediction *and* a
reference both normalize to no tokens at all (e.g. prediction ``"The"`` and reference ``"a"``), EM is 1
(the normalized strings are equal) and F1 is 0 (no token is shared). So EM ≤ F1 holds for every question
except those whose prediction normalizes to nothing while a reference does too (then EM 1, F1 0). When
only one side is empty, F1 is 0 as well.

The module is plain Python (no Airflow, no numpy) so the evaluation runner, the promotion rule and the
report can all use it.
"""

from __future__ import annotations

import math
import random
import re
import string
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Self

from gemini_qa_tuning.json_types import JsonObject, read_float, read_int

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

_PUNCTUATION_TABLE = str.maketrans("", "", string.punctuation)
_ARTICLES = re.compile(r"\b(?:a|an|the)\b")


# --------------------------------------------------------------------------- one answer
def normalize_for_squad_metric(text: str) -> str:
    """Normalize an answer the SQuAD v1.1 way: lowercase, drop punctuation and articles, tidy spaces."""
    lowered = text.lower()
    without_punctuation = lowered.translate(_PUNCTUATION_TABLE)
    without_articles = _ARTICLES.sub(" ", without_punctuation)
    return " ".join(without_articles.split())


def answer_tokens(text: str) -> list[str]:
    """The tokens SQuAD compares: the whitespace-separated words of the normalized answer."""
    return normalize_for_squad_metric(text).split()


def _token_f1(prediction_tokens: Sequence[str], reference_tokens: Sequence[str]) -> float:
    # Nothing shared when either side normalizes to nothing, both sides included: F1 0 as in v1.1.
    shared = sum((Counter(prediction_tokens) & Counter(reference_tokens)).values())
    if shared == 0:
        return 0.0
    precision = shared / len(prediction_tokens)
    recall = shared / len(reference_tokens)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, references: Iterable[str]) -> float:
    """1.0 when the normalized prediction equals any normalized reference, else 0.0."""
    normalized_prediction = normalize_for_squad_metric(prediction)
    return float(any(normalized_prediction == normalize_for_squad_metric(reference) for reference in references))


def f1_score(prediction: str, references: Iterable[str]) -> float:
    """Best token-overlap F1 (0..1) of the prediction against any reference; 0.0 without references."""
    prediction_tokens = answer_tokens(prediction)
    return max((_token_f1(prediction_tokens, answer_tokens(ref)) for ref in references), default=0.0)


@dataclass(frozen=True)
class QuestionScore:
    """The scores of one question: ``exact_match`` is 0.0 or 1.0, ``f1`` lies in [0, 1]."""

    exact_match: float
    f1: float


def score_question(prediction: str | None, references: Sequence[str]) -> QuestionScore:
    """Score one prediction against all references of its question.

    ``None`` stands for "no answer" (a failed or blocked request) and scores 0 on both measures, even
    when a reference normalizes to nothing: a missing answer is never right.
    """
    if prediction is None or not references:
        return QuestionScore(exact_match=0.0, f1=0.0)
    return QuestionScore(exact_match=exact_match(prediction, references), f1=f1_score(prediction, references))


# --------------------------------------------------------------------------- a dataset
@dataclass(frozen=True)
class DatasetScore:
    """Dataset-level EM and F1 in percent (0..100) over ``questions`` questions."""

    questions: int
    exact_match: float
    f1: float

    def as_dict(self) -> JsonObject:
        return dict(asdict(self))


def score_dataset(
    predictions: Mapping[str, str | None], references: Mapping[str, Sequence[str]]
) -> tuple[DatasetScore, dict[str, QuestionScore]]:
    """Score every question in ``references`` (id -> reference answers) against ``predictions``.

    Returns the dataset score (means × 100) and the per-question scores keyed by id. Questions with no
    entry in ``predictions`` score 0, as in the official script; predictions for ids that are not in
    ``references`` are ignored.
    """
    per_question = {
        question_id: score_question(predictions.get(question_id), answers)
        for question_id, answers in references.items()
    }
    return aggregate_scores(per_question.values()), per_question


def aggregate_scores(scores: Iterable[QuestionScore]) -> DatasetScore:
    """Mean EM and F1 × 100 of per-question scores (0 and 0 for an empty collection)."""
    count = 0
    exact_match_total = 0.0
    f1_total = 0.0
    for score in scores:
        count += 1
        exact_match_total += score.exact_match
        f1_total += score.f1
    if count == 0:
        return DatasetScore(questions=0, exact_match=0.0, f1=0.0)
    return DatasetScore(questions=count, exact_match=100.0 * exact_match_total / count, f1=100.0 * f1_total / count)


# --------------------------------------------------------------------------- responses
def percentile(values: Sequence[float], share: float) -> float | None:
    """The ``share`` (0..1) quantile with linear interpolation between order statistics; None if empty."""
    if not values:
        return None
    return _quantile_of_sorted(sorted(values), min(max(share, 0.0), 1.0))


def _quantile_of_sorted(ordered: Sequence[float], share: float) -> float:
    """Linear interpolation between the order statistics around ``share`` of a sorted, non-empty list."""
    position = (len(ordered) - 1) * share
    lower = math.floor(position)
    upper = math.ceil(position)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


@dataclass(frozen=True)
class ResponseStatistics:
    """What a model's responses looked like, apart from whether they were right.

    ``mean_answer_tokens`` counts SQuAD tokens (words of the normalized answer) over the questions that
    got a response; latencies are seconds per successful request; token counts are those reported by
    the service (``None`` sums are reported as 0).
    """

    questions: int
    answered: int
    errors: int
    empty: int
    blocked: int
    mean_answer_tokens: float
    latency_mean_seconds: float | None
    latency_p50_seconds: float | None
    latency_p95_seconds: float | None
    prompt_tokens: int
    output_tokens: int
    total_tokens: int

    def as_dict(self) -> JsonObject:
        return dict(asdict(self))


def response_statistics(
    responses: Sequence[str | None],
    *,
    errors: int = 0,
    blocked: int = 0,
    latencies_seconds: Sequence[float] = (),
    prompt_tokens: int = 0,
    output_tokens: int = 0,
    total_tokens: int = 0,
) -> ResponseStatistics:
    """Summarize responses: ``responses`` has one entry per question, ``None`` where no response came.

    ``errors`` (requests that failed for good) and ``blocked`` (responses withheld by safety filters)
    come from the caller, who knows why an entry is missing. A response that is ``None``, empty or
    only whitespace counts as empty (so blocked responses are also empty); errors are not.
    """
    answered_texts = [text for text in responses if text is not None]
    empty = sum(1 for text in answered_texts if not text.strip())
    missing_without_error = max(len(responses) - len(answered_texts) - errors, 0)
    token_lengths = [len(answer_tokens(text)) for text in answered_texts]
    mean_tokens = sum(token_lengths) / len(token_lengths) if token_lengths else 0.0
    latencies = list(latencies_seconds)
    return ResponseStatistics(
        questions=len(responses),
        answered=len(answered_texts),
        errors=errors,
        empty=empty + missing_without_error,
        blocked=blocked,
        mean_answer_tokens=mean_tokens,
        latency_mean_seconds=sum(latencies) / len(latencies) if latencies else None,
        latency_p50_seconds=percentile(latencies, 0.50),
        latency_p95_seconds=percentile(latencies, 0.95),
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
        total_tokens=total_tokens,
    )


# --------------------------------------------------------------------------- paired comparison
@dataclass(frozen=True)
class PairedComparison:
    """Model A minus model B on the same questions, in percentage points, with bootstrap intervals.

    The intervals cover ``confidence`` (0.95 unless asked otherwise). A difference is "not noise" at
    that level when its interval excludes 0 (``*_significant``). ``*_share_not_better`` is the share of
    bootstrap resamples in which A did not beat B (difference ≤ 0), a one-sided bootstrap p-value for
    "A is better".
    """

    questions: int
    resamples: int
    seed: int
    confidence: float
    exact_match_diff: float
    exact_match_ci_low: float
    exact_match_ci_high: float
    exact_match_share_not_better: float
    f1_diff: float
    f1_ci_low: float
    f1_ci_high: float
    f1_share_not_better: float

    @property
    def exact_match_significant(self) -> bool:
        return self.exact_match_ci_low > 0.0 or self.exact_match_ci_high < 0.0

    @property
    def f1_significant(self) -> bool:
        return self.f1_ci_low > 0.0 or self.f1_ci_high < 0.0

    def to_json(self) -> JsonObject:
        """The stored form (``metrics.json`` comparisons): every field plus the two significance flags."""
        values: JsonObject = dict(asdict(self))
        values["exact_match_significant"] = self.exact_match_significant
        values["f1_significant"] = self.f1_significant
        return values

    def as_dict(self) -> JsonObject:
        return self.to_json()

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        """Read :meth:`to_json`'s form; the significance flags are derived, so they are not read back."""
        where = "paired comparison"
        return cls(
            questions=read_int(data, "questions", where),
            resamples=read_int(data, "resamples", where),
            seed=read_int(data, "seed", where),
            confidence=read_float(data, "confidence", where),
            exact_match_diff=read_float(data, "exact_match_diff", where),
            exact_match_ci_low=read_float(data, "exact_match_ci_low", where),
            exact_match_ci_high=read_float(data, "exact_match_ci_high", where),
            exact_match_share_not_better=read_float(data, "exact_match_share_not_better", where),
            f1_diff=read_float(data, "f1_diff", where),
            f1_ci_low=read_float(data, "f1_ci_low", where),
            f1_ci_high=read_float(data, "f1_ci_high", where),
            f1_share_not_better=read_float(data, "f1_share_not_better", where),
        )


# F1 differences are summed as integers in millionths: exact, and fast in CPython's summing loop.
_F1_SCALE = 1_000_000


def _aligned(
    a_scores: Mapping[str, QuestionScore] | Sequence[QuestionScore],
    b_scores: Mapping[str, QuestionScore] | Sequence[QuestionScore],
) -> tuple[list[QuestionScore], list[QuestionScore]]:
    if isinstance(a_scores, Mapping) and isinstance(b_scores, Mapping):
        only_a = a_scores.keys() - b_scores.keys()
        only_b = b_scores.keys() - a_scores.keys()
        if only_a or only_b:
            raise ValueError(
                "A paired comparison needs the same questions on both sides: "
                f"{len(only_a)} ids only in A (e.g. {sorted(only_a)[:3]}), "
                f"{len(only_b)} only in B (e.g. {sorted(only_b)[:3]}). Evaluate both models on one test set."
            )
        ids = sorted(a_scores)
        return [a_scores[i] for i in ids], [b_scores[i] for i in ids]
    if isinstance(a_scores, Mapping) or isinstance(b_scores, Mapping):
        raise TypeError("Pass both score collections as mappings keyed by question id, or both as sequences.")
    if len(a_scores) != len(b_scores):
        raise ValueError(
            f"A paired comparison needs one score per question on both sides: got {len(a_scores)} "
            f"and {len(b_scores)} scores."
        )
    return list(a_scores), list(b_scores)


def _clamped_points(value: float) -> float:
    """A difference of two percentages lies in [-100, 100]; float rounding must not push it past."""
    return min(100.0, max(-100.0, value))


def _points(total: float, denominator: int) -> float:
    """``total / denominator`` in points (x 100). Multiplying before dividing keeps a total equal to
    the denominator exactly 100 (``total * (100 / d)`` can give 100.00000000000001); then clamped."""
    return _clamped_points(100.0 * total / denominator)


def compare_paired(
    a_scores: Mapping[str, QuestionScore] | Sequence[QuestionScore],
    b_scores: Mapping[str, QuestionScore] | Sequence[QuestionScore],
    *,
    resamples: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> PairedComparison:
    """Paired bootstrap of A − B in EM and F1 points (× 100) over the same questions.

    Each resample draws n questions with replacement (``random.Random(seed)``, so the result is
    reproducible) and takes the mean per-question difference; the confidence interval is the
    percentile interval of those means. Mappings are aligned by question id (both must hold the same
    ids); sequences are aligned by position.
    """
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    a_list, b_list = _aligned(a_scores, b_scores)
    count = len(a_list)
    if count == 0:
        return PairedComparison(
            questions=0,
            resamples=resamples,
            seed=seed,
            confidence=confidence,
            exact_match_diff=0.0,
            exact_match_ci_low=0.0,
            exact_match_ci_high=0.0,
            exact_match_share_not_better=1.0,
            f1_diff=0.0,
            f1_ci_low=0.0,
            f1_ci_high=0.0,
            f1_share_not_better=1.0,
        )

    # Per question, pack both differences into one non-negative integer so that one sum per resample
    # yields both totals: the EM difference (-1, 0, 1) shifted to (0, 1, 2) in the high bits, the F1
    # difference in millionths shifted by +scale in the low bits.
    f1_diffs = [round((a.f1 - b.f1) * _F1_SCALE) for a, b in zip(a_list, b_list, strict=True)]
    em_diffs = [round(a.exact_match - b.exact_match) for a, b in zip(a_list, b_list, strict=True)]
    low_bits = (2 * _F1_SCALE * count).bit_length()
    low_mask = (1 << low_bits) - 1
    packed = [((em + 1) << low_bits) | (f1 + _F1_SCALE) for em, f1 in zip(em_diffs, f1_diffs, strict=True)]

    rng = random.Random(seed)
    em_totals: list[int] = []
    f1_totals: list[int] = []
    for _ in range(resamples):
        total = sum(rng.choices(packed, k=count))
        em_totals.append((total >> low_bits) - count)
        f1_totals.append((total & low_mask) - _F1_SCALE * count)
    em_totals.sort()
    f1_totals.sort()

    tail = (1.0 - confidence) / 2.0
    em_denominator = count
    f1_denominator = count * _F1_SCALE
    return PairedComparison(
        questions=count,
        resamples=resamples,
        seed=seed,
        confidence=confidence,
        exact_match_diff=_points(sum(em_diffs), em_denominator),
        exact_match_ci_low=_points(_quantile_of_sorted(em_totals, tail), em_denominator),
        exact_match_ci_high=_points(_quantile_of_sorted(em_totals, 1.0 - tail), em_denominator),
        exact_match_share_not_better=sum(1 for t in em_totals if t <= 0) / resamples,
        f1_diff=_clamped_points(100.0 * sum(a.f1 - b.f1 for a, b in zip(a_list, b_list, strict=True)) / count),
        f1_ci_low=_points(_quantile_of_sorted(f1_totals, tail), f1_denominator),
        f1_ci_high=_points(_quantile_of_sorted(f1_totals, 1.0 - tail), f1_denominator),
        f1_share_not_better=sum(1 for t in f1_totals if t <= 0) / resamples,
    )
