"""Skip-when-unchanged and the cost guard."""

from __future__ import annotations

import pytest

from gemini_qa_tuning.dataset import (
    TrainingBudgetExceededError,
    check_training_budget,
    decide_skip,
    estimate_training_cost,
)


def test_skip_when_the_champion_was_tuned_on_this_data() -> None:
    skip, reason = decide_skip("abc", "abc", [], force_retrain=False)
    assert skip and "current champion" in reason and "force_retrain" in reason


def test_skip_when_a_job_already_succeeded_on_this_data() -> None:
    skip, reason = decide_skip("abc", "old", ["zzz", "abc"], force_retrain=False)
    assert skip and "already succeeded" in reason


def test_new_data_is_tuned() -> None:
    skip, reason = decide_skip("new", "old", ["older"], force_retrain=False)
    assert not skip and "is new" in reason and "old" in reason
    assert decide_skip("new", None, [], force_retrain=False) == (
        False,
        "dataset new is new (champion's dataset: none yet); tuning",
    )


def test_force_retrain_overrides_and_says_what_it_overrode() -> None:
    skip, reason = decide_skip("abc", "abc", [], force_retrain=True)
    assert not skip and "force_retrain" in reason and "current champion" in reason


def test_decide_skip_needs_a_fingerprint() -> None:
    with pytest.raises(ValueError, match="fingerprint"):
        decide_skip("", "abc", [], force_retrain=False)


def test_cost_is_tokens_times_epochs_times_price_per_million() -> None:
    assert estimate_training_cost(2_000_000, 3, 8.0) == pytest.approx(48.0)
    assert estimate_training_cost(0, 1, 8.0) == 0.0


@pytest.mark.parametrize(("tokens", "epochs", "price"), [(-1, 1, 1.0), (1, 0, 1.0), (1, 1, -1.0), (1, 1, float("nan"))])
def test_cost_inputs_are_checked(tokens: int, epochs: int, price: float) -> None:
    with pytest.raises(ValueError):
        estimate_training_cost(tokens, epochs, price)


def test_budget_guard_returns_the_cost_or_stops_with_a_clear_message() -> None:
    assert check_training_budget(1_000_000, 2, 5.0, max_training_cost=10.0) == pytest.approx(10.0)
    assert check_training_budget(10**9, 5, 5.0, max_training_cost=None) == pytest.approx(25_000.0)
    with pytest.raises(
        TrainingBudgetExceededError, match=r"10\.50 .* exceeds max_training_cost 10\.00.*Nothing was launched"
    ):
        check_training_budget(1_050_000, 2, 5.0, max_training_cost=10.0)
