"""The promotion rule: when a freshly tuned model becomes the serving champion.

The tuned model is promoted only when, on the same held-out questions, it beats **every** model it
is compared with in ``metrics.json`` — the base model, and the current champion when one was
evaluated — by at least ``min_f1_gain`` F1 points, and (with ``require_significance``) the lower
end of the bootstrap 95 % interval of that F1 difference is above zero, so the gain is not noise.
Otherwise nothing moves.

Nothing is promoted either when the report rests on fewer than ``min_test_questions`` questions: on a
handful of questions the bootstrap interval of two equal models excludes zero far more often than its
nominal 2.5 %, so a "significant" gain there is mostly noise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

from gemini_qa_tuning.json_types import JsonObject

if TYPE_CHECKING:
    from gemini_qa_tuning.evaluation.report import MetricsReport

# The smallest number of test questions a promotion may rest on, unless the policy says otherwise.
DEFAULT_MIN_TEST_QUESTIONS = 100


@dataclass(frozen=True)
class PromotionPolicy:
    """How much better the tuned model must be, on how many questions.

    ``min_f1_gain`` is in F1 points (0-100 scale); ``min_test_questions`` (at least 1) is the smallest
    number of test questions a promotion may rest on.
    """

    min_f1_gain: float = 1.0
    require_significance: bool = True
    min_test_questions: int = DEFAULT_MIN_TEST_QUESTIONS

    def __post_init__(self) -> None:
        if not 0 <= self.min_f1_gain <= 100:
            raise ValueError(f"min_f1_gain must be between 0 and 100 F1 points, not {self.min_f1_gain}")
        if isinstance(self.min_test_questions, bool) or self.min_test_questions < 1:
            raise ValueError(f"min_test_questions must be a whole number of at least 1, not {self.min_test_questions}")


@dataclass(frozen=True)
class PromotionDecision:
    """Whether the tuned model becomes the champion, and why (one sentence per comparison)."""

    promote: bool
    reasons: tuple[str, ...] = ()

    def to_json(self) -> JsonObject:
        return {"promote": self.promote, "reasons": list(self.reasons)}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        promote, reasons = data.get("promote"), data.get("reasons", [])
        if not isinstance(promote, bool) or not isinstance(reasons, list):
            raise ValueError(f"a promotion decision needs a boolean 'promote' and a list of 'reasons', not {data!r}")
        return cls(promote=promote, reasons=tuple(str(reason) for reason in reasons))


def decide_promotion(report: MetricsReport, policy: PromotionPolicy) -> PromotionDecision:
    """Judge a metrics report (``evaluation.write_metrics_report``) against the policy."""
    comparisons = report.comparisons
    if "tuned_vs_base" not in comparisons:
        return PromotionDecision(False, ("the report has no tuned-vs-base comparison; nothing to judge",))
    reasons: list[str] = []
    promote = True
    if report.questions < policy.min_test_questions:
        promote = False
        reasons.append(
            f"only {report.questions} test questions; a promotion needs at least {policy.min_test_questions} "
            "(promotion_min_test_questions)"
        )
    for name in ("tuned_vs_base", "tuned_vs_champion"):
        if name not in comparisons:
            continue
        other = name.removeprefix("tuned_vs_")
        comparison = comparisons[name]
        diff, low, high = comparison.f1_diff, comparison.f1_ci_low, comparison.f1_ci_high
        verdict = f"F1 {diff:+.2f} over the {other} (95 % CI {low:+.2f} .. {high:+.2f})"
        if diff < policy.min_f1_gain:
            promote = False
            reasons.append(f"{verdict}: below the required gain of {policy.min_f1_gain:.2f}")
        elif policy.require_significance and low <= 0:
            promote = False
            reasons.append(f"{verdict}: the interval reaches zero, the gain may be noise")
        else:
            reasons.append(f"{verdict}: enough")
    return PromotionDecision(promote, tuple(reasons))
