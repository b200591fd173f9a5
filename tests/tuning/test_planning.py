"""Skip-when-unchanged, the cost guard, and the plan that combines them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from gemini_qa_tuning.tuning import (
    DATASET_LABEL_KEY,
    MANAGED_BY_LABEL_KEY,
    MANAGED_BY_LABEL_VALUE,
    PIPELINE_LABEL_KEY,
    TrainingBudgetExceededError,
    TrainingPriceUnknownError,
    TuningPlan,
    TuningPlanError,
    check_training_budget,
    decide_skip,
    plan_tuning,
    succeeded_dataset_fingerprints,
)

JOB = "projects/local-project/locations/us-central1/tuningJobs/123"


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


def test_budget_guard_returns_the_cost_or_stops_with_a_clear_message() -> None:
    assert check_training_budget(1_000_000, 2, 5.0, max_training_cost=10.0) == pytest.approx(10.0)
    assert check_training_budget(10**9, 5, 5.0, max_training_cost=None) == pytest.approx(25_000.0)
    with pytest.raises(
        TrainingBudgetExceededError, match=r"10\.50 .* exceeds max_training_cost 10\.00.*Nothing was launched"
    ):
        check_training_budget(1_050_000, 2, 5.0, max_training_cost=10.0)


# --------------------------------------------------------------------------- plan_tuning
def plan(**overrides: Any) -> TuningPlan:
    arguments: dict[str, Any] = {
        "fingerprint": "new",
        "champion_fingerprint": "old",
        "succeeded": [],
        "force_retrain": False,
        "training_tokens": 1_000_000,
        "epochs": 2,
        "price": 5.0,
        "budget": 20.0,
        **overrides,
    }
    return plan_tuning(**arguments)


def test_plan_launches_new_data_within_budget_with_its_estimate() -> None:
    assert plan() == TuningPlan(
        launch=True, reason="dataset new is new (champion's dataset: old); tuning", estimated_cost_usd=10.0
    )
    assert plan(budget=None, training_tokens=123_457, price=3.0).estimated_cost_usd == 0.7407


def test_plan_skips_known_data_without_pricing_it() -> None:
    skipped = plan(succeeded=["new"], price=None, budget=1.0)  # no price needed to skip
    assert not skipped.launch and skipped.estimated_cost_usd is None and "already succeeded" in skipped.reason
    assert not plan(champion_fingerprint="new").launch
    assert plan(champion_fingerprint="new", force_retrain=True).launch


def test_plan_refuses_what_is_over_budget() -> None:
    with pytest.raises(TrainingBudgetExceededError, match=r"exceeds max_training_cost 9.99"):
        plan(budget=9.99)
    assert plan(budget=10.0).launch  # exactly the budget is within it


def test_plan_without_a_price() -> None:
    unpriced = plan(price=None, budget=None)
    assert unpriced.launch and unpriced.estimated_cost_usd is None
    with pytest.raises(TrainingPriceUnknownError, match=r"base model 'gemini-9'.*cannot be checked.*model catalog"):
        plan(price=None, budget=5.0, base_model="gemini-9")
    assert issubclass(TrainingPriceUnknownError, TuningPlanError)
    assert issubclass(TrainingBudgetExceededError, TuningPlanError)


def test_plan_round_trips_through_json() -> None:
    for record in (plan(), plan(succeeded=["new"]), TuningPlan(True, "r", None)):
        assert TuningPlan.from_json(json.loads(json.dumps(record.to_json()))) == record
    with pytest.raises(ValueError, match="tuning plan: field 'launch' must be true or false, got 'yes'"):
        TuningPlan.from_json({"launch": "yes", "reason": "r"})


# --------------------------------------------------------------------------- succeeded fingerprints
def sdk_job(**fields: Any) -> Any:
    from google.genai import types

    return types.TuningJob.model_validate({"name": JOB, **fields})


class JobsByLabels:
    def __init__(self, *jobs: Any) -> None:
        self.jobs = jobs
        self.asked: list[Mapping[str, str]] = []

    def list_tuning_jobs_by_labels(self, labels: Mapping[str, str]) -> list[Any]:
        self.asked.append(labels)
        return list(self.jobs)


def test_succeeded_dataset_fingerprints_needs_a_model_of_this_pipeline_on_this_data() -> None:
    """The skip decision's "already tuned on": any config, but only this pipeline's job with an endpoint."""
    model = {"model": "m", "endpoint": "e"}
    hook = JobsByLabels(sdk_job(state="JOB_STATE_FAILED"), sdk_job(state="JOB_STATE_SUCCEEDED", tuned_model=model))
    assert succeeded_dataset_fingerprints(hook, "FP-1", pipeline_id="Nightly QA") == {"FP-1"}
    assert hook.asked == [
        {DATASET_LABEL_KEY: "fp-1", PIPELINE_LABEL_KEY: "nightly-qa", MANAGED_BY_LABEL_KEY: MANAGED_BY_LABEL_VALUE}
    ]
    running_or_empty = JobsByLabels(sdk_job(state="JOB_STATE_RUNNING"), sdk_job(state="JOB_STATE_SUCCEEDED"))
    assert succeeded_dataset_fingerprints(running_or_empty, "fp-1", pipeline_id="p") == set()
    assert succeeded_dataset_fingerprints(JobsByLabels(), "fp-1", pipeline_id="p") == set()


def test_succeeded_dataset_fingerprints_needs_a_pipeline() -> None:
    with pytest.raises(ValueError, match="pipeline_id '' is empty after label normalisation"):
        succeeded_dataset_fingerprints(JobsByLabels(), "fp-1", pipeline_id="")
    with pytest.raises(TypeError):
        succeeded_dataset_fingerprints(JobsByLabels(), "fp-1", "p")  # type: ignore[call-arg]
