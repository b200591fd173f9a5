"""The promotion rule: better than base and champion by the margin, and not by noise."""

from __future__ import annotations

import pytest

from gemini_qa_tuning.evaluation.report import BootstrapSettings, MetricsReport
from gemini_qa_tuning.evaluation.scoring import PairedComparison
from gemini_qa_tuning.promotion import PromotionPolicy, decide_promotion


def comparison(diff: float, low: float, high: float) -> PairedComparison:
    # Only the F1 numbers matter to the rule; the rest are placeholders.
    return PairedComparison(
        questions=100,
        resamples=1000,
        seed=0,
        confidence=0.95,
        exact_match_diff=0.0,
        exact_match_ci_low=0.0,
        exact_match_ci_high=0.0,
        exact_match_share_not_better=1.0,
        f1_diff=diff,
        f1_ci_low=low,
        f1_ci_high=high,
        f1_share_not_better=0.0,
    )


def report(**comparisons: PairedComparison) -> MetricsReport:
    return MetricsReport(
        questions=100,
        question_set_sha256="0" * 64,
        models={},
        comparisons=comparisons,
        bootstrap=BootstrapSettings(resamples=1000, seed=0, confidence=0.95),
    )


POLICY = PromotionPolicy(min_f1_gain=2.0, require_significance=True)


def test_clear_gain_over_base_without_champion_promotes() -> None:
    decision = decide_promotion(report(tuned_vs_base=comparison(5.0, 1.0, 9.0)), POLICY)
    assert decision.promote
    assert list(decision.reasons) == ["F1 +5.00 over the base (95 % CI +1.00 .. +9.00): enough"]


def test_gain_below_the_margin_keeps_the_champion() -> None:
    decision = decide_promotion(report(tuned_vs_base=comparison(1.5, 0.5, 2.5)), POLICY)
    assert not decision.promote
    assert "below the required gain of 2.00" in decision.reasons[0]


def test_a_gain_that_may_be_noise_keeps_the_champion() -> None:
    decision = decide_promotion(report(tuned_vs_base=comparison(4.0, -0.5, 8.0)), POLICY)
    assert not decision.promote
    assert "may be noise" in decision.reasons[0]
    relaxed = PromotionPolicy(min_f1_gain=2.0, require_significance=False)
    assert decide_promotion(report(tuned_vs_base=comparison(4.0, -0.5, 8.0)), relaxed).promote


def test_must_beat_the_champion_too() -> None:
    decision = decide_promotion(
        report(tuned_vs_base=comparison(5.0, 1.0, 9.0), tuned_vs_champion=comparison(0.5, -1.0, 2.0)), POLICY
    )
    assert not decision.promote
    assert len(decision.reasons) == 2 and "champion" in decision.reasons[1]
    beats_both = report(tuned_vs_base=comparison(5.0, 1.0, 9.0), tuned_vs_champion=comparison(3.0, 0.2, 6.0))
    assert decide_promotion(beats_both, POLICY).promote


def test_no_comparison_means_no_promotion() -> None:
    assert not decide_promotion(report(), POLICY).promote


def test_margin_must_be_on_the_f1_scale() -> None:
    with pytest.raises(ValueError, match="between 0 and 100"):
        PromotionPolicy(min_f1_gain=-1)
