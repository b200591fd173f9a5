"""The three plan states (skip judged, evaluate paid, launch new), keyed by data and tuning config."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from gemini_qa_tuning.tuning import TuningConfig
from gemini_qa_tuning.tuning.planning import (
    PaidJob,
    PlanAction,
    TrainingBudgetExceededError,
    TrainingPriceUnknownError,
    TuningPlan,
    decide_plan_action,
    find_paid_job,
    plan_tuning_run,
)

JOB = "projects/123/locations/us-central1/tuningJobs/7"
SUCCEEDED = PaidJob(job_name=JOB, state="JOB_STATE_SUCCEEDED", succeeded=True)
RUNNING = PaidJob(job_name=JOB, state="JOB_STATE_RUNNING", succeeded=False)


def action(judged: str | None = None, paid_job: PaidJob | None = None, force_retrain: bool = False) -> Any:
    return decide_plan_action(
        fingerprint="fp1", config_hash="abc123", judged=judged, paid_job=paid_job, force_retrain=force_retrain
    )


def test_judged_is_skipped_whatever_the_jobs() -> None:
    for paid_job in (None, SUCCEEDED, RUNNING):
        state, reason = action(judged="rejected by run r1", paid_job=paid_job)
        assert state is PlanAction.SKIP
        assert "dataset fp1 with tuning config abc123 was tuned and judged already (rejected by run r1)" in reason
        assert "force_retrain" in reason


def test_tuned_and_not_judged_evaluates_that_job_and_pays_nothing_new() -> None:
    state, reason = action(paid_job=SUCCEEDED)
    assert state is PlanAction.EVALUATE_EXISTING
    assert f"was tuned and never judged: evaluating the model of job {JOB}; no new tuning job" in reason


def test_still_running_and_not_judged_waits_for_that_job() -> None:
    state, reason = action(paid_job=RUNNING)
    assert state is PlanAction.EVALUATE_EXISTING
    assert "still JOB_STATE_RUNNING: waiting for it" in reason


def test_never_tuned_launches() -> None:
    assert action() == (
        PlanAction.LAUNCH,
        "dataset fp1 with tuning config abc123 was never tuned by this pipeline; tuning",
    )


def test_force_retrain_judges_again_and_only_launches_when_no_job_is_left() -> None:
    state, reason = action(judged="promoted by run r1", paid_job=SUCCEEDED, force_retrain=True)
    assert state is PlanAction.EVALUATE_EXISTING and "judging it again" in reason
    state, reason = action(judged="promoted by run r1", force_retrain=True)
    assert state is PlanAction.LAUNCH and "no job of it is left" in reason


def test_the_key_needs_both_halves() -> None:
    with pytest.raises(ValueError, match="fingerprint and tuning config hash"):
        decide_plan_action(fingerprint="fp1", config_hash="", judged=None, paid_job=None, force_retrain=False)


# --------------------------------------------------------------------------- the key's config half
def test_every_setting_that_changes_the_model_changes_the_key_and_cosmetics_do_not() -> None:
    base = TuningConfig(epochs=3)
    champion = "projects/123/locations/us-central1/models/9@1"
    changed = [
        TuningConfig(epochs=4),
        TuningConfig(epochs=3, adapter_size=8),
        TuningConfig(epochs=3, learning_rate_multiplier=0.5),
        TuningConfig(epochs=3, base_model="gemini-3.5-flash"),
        TuningConfig(epochs=3, tune_from="champion", pre_tuned_model=champion),
    ]
    hashes = {config.config_hash() for config in [base, *changed]}
    assert len(hashes) == 6
    assert TuningConfig(epochs=3, tuned_model_display_name="x", description="y").config_hash() == base.config_hash()
    # Which champion is continued is not part of the key: a new champion on unchanged data is no reason to pay.
    other_champion = TuningConfig(epochs=3, tune_from="champion", pre_tuned_model=champion.replace("9@1", "10@1"))
    assert other_champion.config_hash() == changed[-1].config_hash()
    # tune_from "base" hashes as before the setting existed: jobs launched earlier are still found.
    assert "tune_from" not in base.hashed_settings()


def test_tune_from_champion_needs_a_tuned_model_and_base_refuses_one() -> None:
    problems = TuningConfig(training_uri="gs://b/t.jsonl", tune_from="champion").problems()
    assert any("needs the champion's tuned model resource" in problem for problem in problems)
    problems = TuningConfig(training_uri="gs://b/t.jsonl", pre_tuned_model="projects/p/locations/l/models/1").problems()
    assert any("apply to tune_from 'champion' only" in problem for problem in problems)
    assert any("use one of ['base', 'champion']" in p for p in TuningConfig(tune_from="x").problems())


def test_a_continuous_request_sends_the_tuned_model_as_the_sdk_base_model() -> None:
    from gemini_qa_tuning.tuning import TuningRequest

    parent = "projects/123/locations/us-central1/models/9@1"
    config = TuningConfig(
        training_uri="gs://b/t.jsonl", tune_from="champion", pre_tuned_model=parent, pre_tuned_checkpoint_id="2"
    )
    request = config.request("fp1", pipeline_id="p")
    assert request.base_model == "gemini-3.5-flash-lite" and request.sdk_base_model == parent
    assert request.as_dict()["base_model"] == parent
    assert request.config_kwargs()["pre_tuned_model_checkpoint_id"] == "2"
    _, sdk_config = request.to_sdk()
    assert sdk_config.pre_tuned_model_checkpoint_id == "2"
    assert TuningRequest.from_json(json.loads(json.dumps(request.to_json()))) == request
    plain = TuningConfig(training_uri="gs://b/t.jsonl").request("fp1", pipeline_id="p")
    assert plain.sdk_base_model == plain.base_model and "pre_tuned_model_checkpoint_id" not in plain.config_kwargs()


# --------------------------------------------------------------------------- plan records
def run(state: PlanAction, **overrides: Any) -> TuningPlan:
    arguments: dict[str, Any] = {
        "action": state,
        "reason": "why",
        "config_hash": "abc123",
        "paid_job": SUCCEEDED if state is PlanAction.EVALUATE_EXISTING else None,
        "training_tokens": 1_000_000,
        "epochs": 2,
        "price": 5.0,
        "budget": 20.0,
        "base_model": "gemini-3.5-flash-lite",
        **overrides,
    }
    return plan_tuning_run(**arguments)


def test_only_a_launch_is_priced_and_budgeted() -> None:
    launch = run(PlanAction.LAUNCH)
    assert launch.launch and launch.estimated_cost_usd == 10.0 and launch.job_name is None
    with pytest.raises(TrainingBudgetExceededError):
        run(PlanAction.LAUNCH, budget=1.0)
    with pytest.raises(TrainingPriceUnknownError):
        run(PlanAction.LAUNCH, price=None)
    # The paid job costs nothing more: no budget or price can stop judging it.
    existing = run(PlanAction.EVALUATE_EXISTING, budget=0.0, price=None)
    assert existing.launch and existing.job_name == JOB and existing.estimated_cost_usd is None
    skipped = run(PlanAction.SKIP, budget=0.0)
    assert not skipped.launch and skipped.estimated_cost_usd is None


def test_plans_round_trip_and_older_plans_still_read() -> None:
    for state in PlanAction:
        plan = run(state, tune_from="champion", pre_tuned_model="projects/1/locations/l/models/2@1", warnings=("w",))
        assert TuningPlan.from_json(json.loads(json.dumps(plan.to_json()))) == plan
    old = TuningPlan.from_json({"launch": True, "reason": "r", "estimated_cost_usd": None})
    assert old.action is None and old.config_hash is None and old.tune_from == "base"
    with pytest.raises(ValueError, match="'action' 'later' is not one of"):
        TuningPlan.from_json({"launch": True, "reason": "r", "action": "later"})


# --------------------------------------------------------------------------- the paid job
def sdk_job(name: str, state: str, create_time: str = "2026-12-01T00:00:00Z") -> Any:
    from google.genai import types

    return types.TuningJob.model_validate({"name": name, "state": state, "create_time": create_time})


class Jobs:
    def __init__(self, *jobs: Any) -> None:
        self.jobs = jobs
        self.asked: list[Mapping[str, str]] = []

    def list_tuning_jobs_by_labels(self, labels: Mapping[str, str]) -> list[Any]:
        self.asked.append(labels)
        return list(self.jobs)


def test_the_paid_job_is_the_one_the_launch_would_reuse() -> None:
    failed = sdk_job("projects/1/locations/l/tuningJobs/1", "JOB_STATE_FAILED")
    running = sdk_job("projects/1/locations/l/tuningJobs/2", "JOB_STATE_RUNNING", "2026-12-01T02:00:00Z")
    succeeded = sdk_job("projects/1/locations/l/tuningJobs/3", "JOB_STATE_SUCCEEDED", "2026-12-01T01:00:00Z")
    identity = TuningConfig().identity_labels("fp1", pipeline_id="p")
    hook = Jobs(failed, running, succeeded)
    assert find_paid_job(hook, identity) == PaidJob(succeeded.name, "JOB_STATE_SUCCEEDED", succeeded=True)
    assert hook.asked == [identity]
    assert find_paid_job(Jobs(failed, running), identity) == PaidJob(running.name, "JOB_STATE_RUNNING", succeeded=False)
    assert find_paid_job(Jobs(failed), identity) is None
