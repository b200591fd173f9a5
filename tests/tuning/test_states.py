"""Job states, the job snapshot, verdicts and the tuned-model result."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from gemini_qa_tuning.tuning import (
    JOB_STATE_RULES,
    JobOutcome,
    JobSnapshot,
    JobStateRule,
    JobVerdict,
    TunedModel,
    completion_result,
    job_summary,
    judge_job,
    progress_text,
    rule_for_state,
    select_reusable_job,
)

JOB = "projects/local-project/locations/us-central1/tuningJobs/123"


def test_every_sdk_job_state_has_a_documented_rule() -> None:
    from google.genai import types

    assert set(JOB_STATE_RULES) == {state.value for state in types.JobState}
    for state in types.JobState:
        rule = rule_for_state(state)
        assert rule.state == state.value and rule.reason
    assert {s for s, r in JOB_STATE_RULES.items() if r.outcome is JobOutcome.FAILED} == {
        "JOB_STATE_FAILED",
        "JOB_STATE_CANCELLED",
        "JOB_STATE_EXPIRED",
    }
    assert {s for s, r in JOB_STATE_RULES.items() if r.outcome is JobOutcome.SUCCEEDED} == {
        "JOB_STATE_SUCCEEDED",
        "JOB_STATE_PARTIALLY_SUCCEEDED",
    }
    for waiting in ("JOB_STATE_QUEUED", "JOB_STATE_PENDING", "JOB_STATE_CANCELLING", "JOB_STATE_PAUSED"):
        assert rule_for_state(waiting).outcome is JobOutcome.WAITING
    assert not rule_for_state("JOB_STATE_CANCELLING").reusable


def test_unknown_and_missing_states_wait() -> None:
    assert rule_for_state("JOB_STATE_FROM_THE_FUTURE").outcome is JobOutcome.WAITING
    assert not rule_for_state("JOB_STATE_FROM_THE_FUTURE").reusable
    assert rule_for_state(None).state == "JOB_STATE_UNSPECIFIED"


def fake_job(state: str, created: int = 0, **fields: Any) -> Any:
    return SimpleNamespace(
        name=f"{JOB}{created}", state=state, create_time=datetime.fromtimestamp(created, UTC), **fields
    )


def test_select_reusable_job_prefers_succeeded_then_newest() -> None:
    failed, running, older_running = (
        fake_job("JOB_STATE_FAILED", 9),
        fake_job("JOB_STATE_RUNNING", 5),
        fake_job("JOB_STATE_QUEUED", 1),
    )
    assert select_reusable_job([failed, older_running, running]) is running
    succeeded = fake_job("JOB_STATE_SUCCEEDED", 0)
    assert select_reusable_job([running, succeeded]) is succeeded
    assert select_reusable_job([failed, fake_job("JOB_STATE_CANCELLED"), fake_job("JOB_STATE_EXPIRED")]) is None
    assert select_reusable_job([]) is None


def sdk_job(**fields: Any) -> Any:
    from google.genai import types

    return types.TuningJob.model_validate({"name": JOB, **fields})


def test_job_summary_and_verdicts() -> None:
    succeeded = sdk_job(
        state="JOB_STATE_SUCCEEDED",
        base_model="gemini-2.5-flash",
        tuned_model={"model": "m@1", "endpoint": "e"},
        supervised_tuning_spec={"hyper_parameters": {"epoch_count": 2}},
        tuning_data_stats={"supervised_tuning_data_stats": {"total_billable_token_count": 1_000_000}},
    )
    summary = job_summary(succeeded)
    assert isinstance(summary, JobSnapshot)
    assert (summary.tuned_model, summary.endpoint, summary.epochs) == ("m@1", "e", 2)
    assert judge_job(summary).outcome is JobOutcome.SUCCEEDED
    result = completion_result(summary)
    assert result.actual_cost_usd == 10.0  # 1M tokens x 2 epochs x $5
    assert set(result.to_json()) >= {"job_name", "state", "tuned_model", "endpoint"}

    failed = judge_job(job_summary(sdk_job(state="JOB_STATE_FAILED", error={"code": 13, "message": "boom"})))
    assert failed.outcome is JobOutcome.FAILED
    assert "boom (code 13)" in failed.message and "console.cloud.google.com" in failed.message

    partial_without_model = judge_job(job_summary(sdk_job(state="JOB_STATE_PARTIALLY_SUCCEEDED")))
    assert (
        partial_without_model.outcome is JobOutcome.FAILED
        and "no tuned model endpoint" in partial_without_model.message
    )
    partial = sdk_job(state="JOB_STATE_PARTIALLY_SUCCEEDED", tuned_model={"model": "m", "endpoint": "e"})
    assert judge_job(job_summary(partial)).outcome is JobOutcome.SUCCEEDED
    assert judge_job(job_summary(sdk_job(state="JOB_STATE_PAUSED"))).outcome is JobOutcome.WAITING


def test_completion_result_prefers_the_explicit_price() -> None:
    snapshot = JobSnapshot(
        job_name=JOB,
        state="JOB_STATE_SUCCEEDED",
        base_model="gemini-2.5-flash",
        endpoint="e",
        billable_tokens=1_000_000,
        epochs=2,
    )
    assert completion_result(snapshot).actual_cost_usd == 10.0
    assert completion_result(snapshot, price_per_million=1.0).actual_cost_usd == 2.0
    assert completion_result(JobSnapshot(job_name=JOB, state="JOB_STATE_SUCCEEDED")).actual_cost_usd is None


def test_progress_text() -> None:
    snapshot = JobSnapshot(
        job_name=JOB,
        state="JOB_STATE_RUNNING",
        detail_state="X",
        completed_epochs=1,
        epochs=3,
        example_count=10,
        billable_tokens=99,
    )
    assert progress_text(snapshot) == "detail X, epoch 1/3, 10 examples, 99 billable tokens"
    assert progress_text(JobSnapshot(job_name=JOB, state="JOB_STATE_RUNNING", completed_epochs=2)) == "epoch 2/?"
    assert progress_text(JobSnapshot(job_name=None, state="JOB_STATE_QUEUED")) == ""


# --------------------------------------------------------------------------- JSON
def round_trip(record: Any) -> Any:
    return type(record).from_json(json.loads(json.dumps(record.to_json())))


def test_every_state_record_round_trips_through_json() -> None:
    snapshot = job_summary(
        sdk_job(
            state="JOB_STATE_RUNNING",
            base_model="gemini-2.5-flash",
            labels={"team": "qa"},
            error={"code": 13, "message": "boom"},
            tuning_data_stats={"supervised_tuning_data_stats": {"total_billable_token_count": 5}},
        )
    )
    assert round_trip(snapshot) == snapshot
    assert snapshot.to_json()["labels"] == {"team": "qa"}
    result = TunedModel(JOB, "JOB_STATE_SUCCEEDED", "m@1", "e", 100, 3, 0.0015)
    assert round_trip(result) == result
    verdict = JobVerdict(JobOutcome.WAITING, "wait")
    assert round_trip(verdict) == verdict
    for rule in JOB_STATE_RULES.values():
        assert round_trip(rule) == rule


def test_from_json_names_the_bad_field() -> None:
    with pytest.raises(ValueError, match="tuning job snapshot: field 'state' is missing"):
        JobSnapshot.from_json({"job_name": JOB})
    with pytest.raises(ValueError, match="tuning job snapshot: field 'billable_tokens' must be a whole number"):
        JobSnapshot.from_json({"job_name": JOB, "state": "JOB_STATE_RUNNING", "billable_tokens": "5"})
    with pytest.raises(ValueError, match="field 'outcome' must be one of"):
        JobStateRule.from_json({"state": "S", "outcome": "maybe", "reusable": True, "reason": "r"})
    with pytest.raises(ValueError, match="tuned model: field 'actual_cost_usd' must be a number or null"):
        TunedModel.from_json({**TunedModel(JOB, "S", None, None, None, None, None).to_json(), "actual_cost_usd": "1"})
