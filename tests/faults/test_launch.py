"""Fault suite, launch stage: 429 and 503 storms at create, each followed by the task's retry.

``LaunchTuningJobOperator`` tries a create ``create_attempts`` times, looking the job up by its labels
between attempts, then fails *retryably* (Airflow's retry looks the job up again before creating). Each
scenario asserts the task fails retryably naming Vertex's status (not a setting: nothing the user set is
wrong), that no job exists for the refused creates, and that the retry after the storm creates exactly
one job — and a second retry reuses it. The lost create response and the crash after create live in
``tests/operators/test_launch_tuning.py`` (see README.md).
"""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from tests.operators.test_launch_tuning import launcher, run

pytestmark = pytest.mark.integration

ATTEMPTS = 3


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gemini_qa_tuning.operators.tuning.time.sleep", lambda seconds: None)


def jobs_with_fingerprint(genai_client: Any, fingerprint: str) -> list[str]:
    from gemini_qa_tuning.tuning import DATASET_LABEL_KEY

    return [
        str(job.name) for job in genai_client.tunings.list() if (job.labels or {}).get(DATASET_LABEL_KEY) == fingerprint
    ]


def assert_retryable_storm_failure(error: BaseException, *statuses: str) -> str:
    assert isinstance(error, AirflowException) and not isinstance(error, AirflowFailException), error
    message = str(error)
    assert f"failed {ATTEMPTS} times with transient errors" in message, message
    assert any(status in message for status in statuses), message
    assert "look the job up by labels before creating again" in message, message
    for setting in ("epochs", "adapter_size", "learning_rate", "base_model", "training_uri"):
        assert setting not in message, f"a storm is not a settings problem: {message}"
    return message


def test_a_503_storm_at_create_fails_retryably_then_the_retry_creates_one_job(
    fast_vertex: Any, genai_client: Any, tuning_files: tuple[str, str], no_backoff: None
) -> None:
    fast_vertex.configure(error_rate_503=1.0, fault_methods=["tuningJobs.create"])
    with pytest.raises(AirflowException) as storm:
        run(launcher(tuning_files, dataset_fingerprint="fp-503", create_attempts=ATTEMPTS))
    assert_retryable_storm_failure(storm.value, "503", "UNAVAILABLE")
    counts = fast_vertex.request_counts()
    assert counts["tuningJobs.create"] == ATTEMPTS and counts["tuningJobs.list"] >= ATTEMPTS, counts
    assert jobs_with_fingerprint(genai_client, "fp-503") == [], "a refused create made no job"

    fast_vertex.configure(error_rate_503=0.0, fault_methods=None)  # the storm is over: Airflow's retry
    first, _ = run(launcher(tuning_files, dataset_fingerprint="fp-503", create_attempts=ATTEMPTS))
    again, _ = run(launcher(tuning_files, dataset_fingerprint="fp-503", create_attempts=ATTEMPTS))
    assert first["reused"] is False and again["reused"] is True and again["job_name"] == first["job_name"]
    assert jobs_with_fingerprint(genai_client, "fp-503") == [first["job_name"]]
    assert fast_vertex.request_counts()["tuningJobs.create"] == ATTEMPTS + 1


def test_a_429_quota_storm_at_create_without_retry_after_fails_retryably_then_one_job(
    fast_vertex: Any, genai_client: Any, tuning_files: tuple[str, str], no_backoff: None
) -> None:
    # One create a minute, the quota already spent by another pipeline's job; no Retry-After, as on Vertex.
    fast_vertex.configure(requests_per_minute=1, fault_methods=["tuningJobs.create"], retry_after_on_429=False)
    other, _ = run(launcher(tuning_files, dataset_fingerprint="fp-other-run"))
    with pytest.raises(AirflowException) as storm:
        run(launcher(tuning_files, dataset_fingerprint="fp-429", create_attempts=ATTEMPTS))
    assert_retryable_storm_failure(storm.value, "429", "RESOURCE_EXHAUSTED")
    assert fast_vertex.request_counts()["tuningJobs.create"] == 1 + ATTEMPTS
    assert jobs_with_fingerprint(genai_client, "fp-429") == [], "a refused create made no job"

    fast_vertex.configure(requests_per_minute=None)  # the quota window frees up: Airflow's retry
    retried, _ = run(launcher(tuning_files, dataset_fingerprint="fp-429", create_attempts=ATTEMPTS))
    assert retried["reused"] is False
    assert jobs_with_fingerprint(genai_client, "fp-429") == [retried["job_name"]]
    assert jobs_with_fingerprint(genai_client, "fp-other-run") == [other["job_name"]], (
        "the other run's job is untouched"
    )
