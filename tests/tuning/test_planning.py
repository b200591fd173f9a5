"""The cost guard and the plan record (the plan states: test_plan_states.py)."""

from __future__ import annotations

import json

import pytest

from gemini_qa_tuning.tuning import (
    TrainingBudgetExceededError,
    TrainingPriceUnknownError,
    TuningPlan,
    TuningPlanError,
    check_training_budget,
)

JOB = "projects/local-project/locations/us-central1/tuningJobs/123"


def test_budget_guard_returns_the_cost_or_stops_with_a_clear_message() -> None:
    assert check_training_budget(1_000_000, 2, 5.0, max_training_cost=10.0) == pytest.approx(10.0)
    assert check_training_budget(10**9, 5, 5.0, max_training_cost=None) == pytest.approx(25_000.0)
    with pytest.raises(
        TrainingBudgetExceededError, match=r"10\.50 .* exceeds max_training_cost 10\.00.*Nothing was launched"
    ):
        check_training_budget(1_050_000, 2, 5.0, max_training_cost=10.0)


def test_plan_round_trips_through_json() -> None:
    for record in (TuningPlan(True, "new data", 10.0), TuningPlan(False, "judged", None), TuningPlan(True, "r", None)):
        assert TuningPlan.from_json(json.loads(json.dumps(record.to_json()))) == record
    with pytest.raises(ValueError, match="tuning plan: field 'launch' must be true or false, got 'yes'"):
        TuningPlan.from_json({"launch": "yes", "reason": "r"})
    assert issubclass(TrainingPriceUnknownError, TuningPlanError)
    assert issubclass(TrainingBudgetExceededError, TuningPlanError)
