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


def small_report(questions: int, **comparisons: PairedComparison) -> MetricsReport:
    return MetricsReport(
        questions=questions,
        question_set_sha256="0" * 64,
        models={},
        comparisons=comparisons,
        bootstrap=BootstrapSettings(resamples=1000, seed=0, confidence=0.95),
    )


@pytest.mark.parametrize("questions", [1, 2, 3, 4, 5])
def test_a_handful_of_questions_never_promotes(questions: int) -> None:
    """On 1-5 questions two equal models often look "significantly" different: the bootstrap interval of
    a few identical-looking differences excludes zero. Below the minimum nothing is promoted."""
    lucky = comparison(50.0, 10.0, 90.0)  # what noise looks like on a handful of questions
    decision = decide_promotion(small_report(questions, tuned_vs_base=lucky), PromotionPolicy())
    assert not decision.promote
    assert decision.reasons[0] == (
        f"only {questions} test questions; a promotion needs at least 100 (promotion_min_test_questions)"
    )


def test_equal_models_on_two_questions_look_significant_far_too_often_but_are_never_promoted() -> None:
    """Two equally good models (each answers each question right with probability 1/2), scored on 2
    questions: the bootstrap interval excludes zero in about 1 of 16 trials (both questions favour the
    tuned model), well above the nominal 2.5 %. The minimum keeps every one of them from promoting."""
    import random

    from gemini_qa_tuning.evaluation.scoring import QuestionScore, compare_paired

    rng = random.Random(0)

    def answers(count: int) -> list[QuestionScore]:
        return [
            QuestionScore(exact_match=score, f1=score) for score in (float(rng.random() < 0.5) for _ in range(count))
        ]

    without_minimum = PromotionPolicy(min_f1_gain=0.0, min_test_questions=1)
    trials = 400
    looked_significant = promoted = 0
    for _ in range(trials):
        result = compare_paired(answers(2), answers(2), resamples=200, seed=0)
        measured = small_report(2, tuned_vs_base=result)
        looked_significant += decide_promotion(measured, without_minimum).promote
        promoted += decide_promotion(measured, PromotionPolicy(min_f1_gain=0.0)).promote
    assert looked_significant / trials > 0.025 * 1.5
    assert promoted == 0


def test_the_minimum_is_met_exactly_at_its_value() -> None:
    policy = PromotionPolicy(min_f1_gain=2.0, min_test_questions=5)
    assert decide_promotion(small_report(5, tuned_vs_base=comparison(5.0, 1.0, 9.0)), policy).promote
    assert not decide_promotion(small_report(4, tuned_vs_base=comparison(5.0, 1.0, 9.0)), policy).promote


@pytest.mark.parametrize("minimum", [0, -1, True])
def test_the_minimum_is_a_whole_number_of_at_least_one(minimum: int) -> None:
    with pytest.raises(ValueError, match="min_test_questions must be a whole number of at least 1"):
        PromotionPolicy(min_test_questions=minimum)
