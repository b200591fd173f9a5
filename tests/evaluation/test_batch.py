"""The pure parts of batch evaluation: mode choice, identity labels, job judgement and the wait's steps."""

from __future__ import annotations

import random

import pytest

from gemini_qa_tuning.eval_mode import choose_eval_mode
from gemini_qa_tuning.evaluation.batch import (
    BatchJobSnapshot,
    BatchOutcome,
    batch_job_labels,
    generation_config_json,
    judge_batch_job,
    next_batch_poll_step,
    select_reusable_batch_job,
)
from gemini_qa_tuning.evaluation.runner import EvaluationSettings
from gemini_qa_tuning.evaluation.thinking import ThinkingChoice
from gemini_qa_tuning.job_polling import PollPolicy, PollState, PollStatus

NAME = "projects/1/locations/us-central1/batchPredictionJobs/7"


def test_auto_is_batch_from_the_threshold_on() -> None:
    assert choose_eval_mode("auto", 999, 1000) == "online"
    assert choose_eval_mode("auto", 1000, 1000) == "batch"
    assert choose_eval_mode("batch", 1, 1000) == "batch" and choose_eval_mode("online", 10**6, 1) == "online"
    with pytest.raises(ValueError, match="eval_mode must be one of online, batch, auto"):
        choose_eval_mode("fast", 1, 1)


def test_labels_are_valid_vertex_labels_and_differ_by_file_model_and_pipeline() -> None:
    labels = batch_job_labels("a" * 64, "projects/p/locations/l/models/9@1", "My DAG.v2/" + "x" * 80)
    assert all(len(value) <= 63 and value == value.lower() for value in labels.values())
    assert labels != batch_job_labels("b" * 64, "projects/p/locations/l/models/9@1", "My DAG.v2/" + "x" * 80)
    assert labels != batch_job_labels("a" * 64, "gemini-3.5-flash-lite", "My DAG.v2/" + "x" * 80)


def test_the_request_carries_the_online_thinking_and_cap() -> None:
    level = EvaluationSettings(thinking=ThinkingChoice(level="MINIMAL", budget=None, reserved_tokens=256, reason="r"))
    assert generation_config_json(level) == {
        "temperature": 0.0,
        "maxOutputTokens": level.output_cap,
        "thinkingConfig": {"thinkingLevel": "MINIMAL"},
    }
    budget = EvaluationSettings(thinking=ThinkingChoice(level=None, budget=0, reserved_tokens=0, reason="off"))
    assert generation_config_json(budget)["thinkingConfig"] == {"thinkingBudget": 0}


def test_a_retry_reuses_a_succeeded_or_live_job_never_a_failed_one() -> None:
    failed = BatchJobSnapshot(name=f"{NAME}1", state="JOB_STATE_FAILED")
    running = BatchJobSnapshot(name=f"{NAME}2", state="JOB_STATE_RUNNING")
    done = BatchJobSnapshot(name=f"{NAME}3", state="JOB_STATE_SUCCEEDED", output_directory="gs://b/o")
    assert select_reusable_batch_job([failed, running, done]) == done
    assert select_reusable_batch_job([failed, running]) == running
    assert select_reusable_batch_job([failed]) is None
    assert BatchJobSnapshot.from_json(done.to_json()) == done


def test_a_success_without_output_is_a_failure() -> None:
    outcome, message = judge_batch_job(BatchJobSnapshot(name=NAME, state="JOB_STATE_SUCCEEDED"))
    assert outcome is BatchOutcome.FAILED and "no output directory" in message


def test_the_wait_polls_a_live_job_and_stops_on_an_ended_one() -> None:
    policy, rng = PollPolicy(poll_interval=5.0), random.Random(0)
    step, _ = next_batch_poll_step(
        BatchJobSnapshot(name=NAME, state="JOB_STATE_RUNNING"),
        PollState(),
        policy=policy,
        now=0.0,
        deadline=None,
        rng=rng,
    )
    assert step.event is None and step.sleep_seconds == 5.0
    failed = BatchJobSnapshot(name=NAME, state="JOB_STATE_CANCELLED", error_message="cancelled by a user")
    step, job = next_batch_poll_step(failed, step.state, policy=policy, now=5.0, deadline=None, rng=rng)
    assert step.event is not None and step.event.status is PollStatus.FAILED and job == failed
    assert "cancelled by a user" in step.event.message


def test_transient_read_errors_back_off_and_others_are_raised() -> None:
    from google.genai import errors

    policy, rng = PollPolicy(poll_interval=5.0), random.Random(0)
    unavailable = errors.ServerError(503, {"error": {"code": 503, "message": "busy", "status": "UNAVAILABLE"}})
    step, job = next_batch_poll_step(unavailable, PollState(), policy=policy, now=0.0, deadline=None, rng=rng)
    assert step.event is None and step.sleep_seconds is not None and job is None
    forbidden = errors.ClientError(403, {"error": {"code": 403, "message": "no", "status": "PERMISSION_DENIED"}})
    with pytest.raises(errors.ClientError):
        next_batch_poll_step(forbidden, PollState(), policy=policy, now=0.0, deadline=None, rng=rng)
