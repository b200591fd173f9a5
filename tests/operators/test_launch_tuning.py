"""LaunchTuningJobOperator: validation, dry run, idempotent launch, console link."""

from __future__ import annotations

import time
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from gemini_qa_tuning.hooks.genai import GenAIVertexHook
from gemini_qa_tuning.operators.tuning import (
    TUNING_JOB_NAME_XCOM_KEY,
    LaunchTuningJobOperator,
    VertexTuningJobLink,
    as_bool,
    price_argument,
)
from gemini_qa_tuning.tuning import CONFIG_LABEL_KEY, DATASET_LABEL_KEY

JOB = "projects/local-project/locations/us-central1/tuningJobs/77"


class RecordingTaskInstance:
    """The part of a task instance the operator touches: XCom pushes."""

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def run(operator: LaunchTuningJobOperator) -> tuple[dict[str, Any], dict[str, Any]]:
    """Execute the operator; returns (its XCom result, the other XComs it pushed)."""
    ti = RecordingTaskInstance()
    result = operator.execute({"ti": ti})  # type: ignore[arg-type]
    return result, ti.pushed


def launcher(tuning_files: tuple[str, str], **overrides: Any) -> LaunchTuningJobOperator:
    train, validation = tuning_files
    return LaunchTuningJobOperator(
        **{
            "task_id": "launch",
            "training_uri": train,
            "validation_uri": validation,
            "dataset_fingerprint": "fp-test",
            **overrides,
        }
    )


def wait_for_state(job_name: str, state: str, limit: float = 5.0) -> None:
    hook = GenAIVertexHook()
    deadline = time.monotonic() + limit
    while (current := hook.get_tuning_job(job_name).state.value) != state:  # type: ignore[union-attr]
        assert time.monotonic() < deadline, f"{job_name} stayed {current}, expected {state}"
        time.sleep(0.05)
    hook.close()


# --------------------------------------------------------------------------- no network needed
def test_invalid_settings_fail_without_retry_before_any_call() -> None:
    operator = LaunchTuningJobOperator(
        task_id="launch", training_uri="", epochs="0", adapter_size="5", base_model="gemini-1.5-flash-002"
    )
    with pytest.raises(AirflowFailException) as caught:
        run(operator)
    message = str(caught.value)
    assert "Task launch: Invalid tuning settings (4 problem(s))" in message
    for expected in ("training_uri is missing", "epochs is 0", "adapter_size 5", "retired by Vertex AI"):
        assert expected in message


def test_templated_fields_cover_every_setting() -> None:
    for name in ("training_uri", "validation_uri", "base_model", "epochs", "adapter_size", "labels"):
        assert name in LaunchTuningJobOperator.template_fields
    assert "dry_run_requested" in LaunchTuningJobOperator.template_fields
    assert callable(LaunchTuningJobOperator(task_id="t", training_uri="gs://b/t.jsonl").dry_run)


@pytest.mark.parametrize(("raw", "expected"), [(True, True), ("True", True), ("false", False), ("0", False)])
def test_rendered_flags(raw: Any, expected: bool) -> None:
    assert as_bool(raw, "dry_run") is expected


def test_as_bool_rejects_nonsense() -> None:
    with pytest.raises(AirflowFailException, match="dry_run must be true or false"):
        as_bool("maybe", "dry_run")


def test_link_reads_the_job_name_from_xcom(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk.execution_time.xcom import XCom

    stored = {TUNING_JOB_NAME_XCOM_KEY: JOB}
    monkeypatch.setattr(XCom, "get_value", classmethod(lambda cls, *, ti_key, key: stored.get(key)))
    link = VertexTuningJobLink()
    operator = LaunchTuningJobOperator(task_id="t", training_uri="gs://b/t.jsonl")
    assert link.name == "Vertex AI tuning job"
    assert link.get_link(operator, ti_key=None) == (  # type: ignore[arg-type]
        "https://console.cloud.google.com/vertex-ai/generative/language/locations/us-central1"
        "/tuning/tuningJob/77?project=local-project"
    )
    stored.clear()  # a dry run stores no job: no link
    assert link.get_link(operator, ti_key=None) == ""  # type: ignore[arg-type]


def test_price_and_attempt_arguments_are_checked() -> None:
    assert price_argument("2.5", "t") == 2.5 and price_argument("None", "t") is None
    with pytest.raises(AirflowFailException, match="price_per_million_tokens must be a number >= 0"):
        price_argument("cheap", "t")
    with pytest.raises(AirflowFailException, match="got -1"):
        price_argument(-1, "t")
    with pytest.raises(AirflowFailException, match="got 'nan'"):
        price_argument("nan", "t")
    with pytest.raises(ValueError, match="create_attempts must be at least 1"):
        LaunchTuningJobOperator(task_id="t", training_uri="gs://b/t.jsonl", create_attempts=0)


# --------------------------------------------------------------------------- against the emulators
pytestmark_integration = pytest.mark.integration


@pytestmark_integration
def test_dry_run_validates_and_creates_nothing(fast_vertex: Any, tuning_files: tuple[str, str]) -> None:
    result, pushed = run(launcher(tuning_files, dry_run="True", epochs="2"))
    assert result["dry_run"] is True and result["job_name"] is None and result["console_url"] is None
    assert result["training_examples"] == 4 and result["estimated_billable_tokens"] > 0
    assert result["estimated_cost_usd"] == pytest.approx(result["estimated_billable_tokens"] * 2 * 5.0 / 1e6, abs=1e-4)
    assert result["request"]["config"]["epoch_count"] == 2
    assert result["request"]["config"]["labels"][DATASET_LABEL_KEY] == "fp-test"
    assert pushed == {TUNING_JOB_NAME_XCOM_KEY: None}  # no job, no link
    counts = fast_vertex.request_counts()
    assert sum(counts.values()) == 0, counts  # not even a list call


@pytestmark_integration
def test_missing_training_file_fails_clearly(fast_vertex: Any, gcs_bucket_uri: str) -> None:
    operator = LaunchTuningJobOperator(task_id="launch", training_uri=f"{gcs_bucket_uri}/absent.jsonl")
    with pytest.raises(AirflowFailException, match="does not exist; run the export task first"):
        run(operator)
    assert fast_vertex.request_counts()["tuningJobs.create"] == 0


@pytestmark_integration
def test_malformed_training_file_fails_before_paying(fast_vertex: Any, gcs_bucket_uri: str) -> None:
    from gemini_qa_tuning import storage

    uri = f"{gcs_bucket_uri}/broken.jsonl"
    storage.write_text(uri, '{"contents": []}\n')
    with pytest.raises(AirflowFailException, match=r"broken.jsonl line 1 is not a Gemini tuning record"):
        run(LaunchTuningJobOperator(task_id="launch", training_uri=uri))
    assert fast_vertex.request_counts()["tuningJobs.create"] == 0


@pytestmark_integration
def test_launch_twice_creates_one_job_and_again_after_failure(fast_vertex: Any, tuning_files: tuple[str, str]) -> None:
    fast_vertex.configure(job_outcome="fail")
    first, pushed = run(launcher(tuning_files))
    assert first["reused"] is False and first["job_name"].startswith("projects/local-project/")
    assert pushed[TUNING_JOB_NAME_XCOM_KEY] == first["job_name"]
    assert pushed[VertexTuningJobLink().xcom_key] == first["console_url"]
    assert first["labels"][CONFIG_LABEL_KEY] == first["config_hash"]

    second, _ = run(launcher(tuning_files))  # e.g. a retry after a crash before the XCom push
    assert second["reused"] is True and second["job_name"] == first["job_name"]
    assert fast_vertex.request_counts()["tuningJobs.create"] == 1

    wait_for_state(first["job_name"], "JOB_STATE_FAILED")
    fast_vertex.configure(job_outcome="succeed")
    third, _ = run(launcher(tuning_files))
    assert third["reused"] is False and third["job_name"] != first["job_name"]
    assert fast_vertex.request_counts()["tuningJobs.create"] == 2

    wait_for_state(third["job_name"], "JOB_STATE_SUCCEEDED")
    fourth, _ = run(launcher(tuning_files))
    assert fourth["reused"] is True and fourth["job_name"] == third["job_name"]
    assert fourth["state"] == "JOB_STATE_SUCCEEDED"
    assert fourth["billable_tokens"] > 0  # Vertex's count, next to the estimate
    assert fourth["actual_cost_usd"] == pytest.approx(fourth["billable_tokens"] * 3 * 5.0 / 1e6, abs=1e-4)
    assert fast_vertex.request_counts()["tuningJobs.create"] == 2


@pytestmark_integration
def test_crash_between_create_and_xcom_push_then_retry_finds_the_job(
    fast_vertex: Any, tuning_files: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker dies right after Vertex created the job (simulated: the XCom push raises); the retry,
    a fresh execute with the same inputs, finds the job by its labels and pays nothing more."""

    def worker_dies(cls: type, context: Any, job_name: str) -> None:
        raise SystemExit(f"worker lost after creating {job_name}")

    with monkeypatch.context() as patched:
        patched.setattr(VertexTuningJobLink, "persist", classmethod(worker_dies))
        with pytest.raises(SystemExit, match="worker lost after creating projects/local-project/"):
            run(launcher(tuning_files))
    assert fast_vertex.request_counts()["tuningJobs.create"] == 1

    retried, pushed = run(launcher(tuning_files))
    assert retried["reused"] is True and pushed[TUNING_JOB_NAME_XCOM_KEY] == retried["job_name"]
    assert fast_vertex.request_counts()["tuningJobs.create"] == 1


@pytestmark_integration
def test_other_data_or_settings_get_their_own_job(fast_vertex: Any, tuning_files: tuple[str, str]) -> None:
    first, _ = run(launcher(tuning_files))
    cosmetic, _ = run(launcher(tuning_files, description="only words changed", labels={"team": "qa"}))
    other_epochs, _ = run(launcher(tuning_files, epochs=4))
    other_data, _ = run(launcher(tuning_files, dataset_fingerprint="fp-other"))
    assert cosmetic["job_name"] == first["job_name"]
    assert len({first["job_name"], other_epochs["job_name"], other_data["job_name"]}) == 3
    assert fast_vertex.request_counts()["tuningJobs.create"] == 3


@pytestmark_integration
def test_fingerprint_computed_from_content_when_not_given(fast_vertex: Any, tuning_files: tuple[str, str]) -> None:
    first, _ = run(launcher(tuning_files, dataset_fingerprint=None, dry_run=True))
    again, _ = run(launcher(tuning_files, dataset_fingerprint="", dry_run=True))
    assert first["dataset_fingerprint"] == again["dataset_fingerprint"]
    assert len(first["dataset_fingerprint"]) == 32


@pytestmark_integration
def test_lost_create_response_is_found_by_labels(
    fast_vertex: Any, tuning_files: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Vertex created the job but the answer was lost (503 to us): the next attempt finds it, pays once."""
    from google.genai import errors

    real_create = GenAIVertexHook.create_tuning_job

    def create_then_lose_the_answer(self: GenAIVertexHook, *args: Any, **kwargs: Any) -> Any:
        real_create(self, *args, **kwargs)
        raise errors.ServerError(503, {"error": {"code": 503, "message": "connection reset"}})

    monkeypatch.setattr(GenAIVertexHook, "create_tuning_job", create_then_lose_the_answer)
    monkeypatch.setattr("gemini_qa_tuning.operators.tuning.time.sleep", lambda seconds: None)
    result, _ = run(launcher(tuning_files))
    assert result["reused"] is True
    assert fast_vertex.request_counts()["tuningJobs.create"] == 1


@pytestmark_integration
def test_transient_create_errors_give_up_for_a_task_retry(
    fast_vertex: Any, tuning_files: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fast_vertex.configure(error_rate_503=1.0, fault_methods=["tuningJobs.create"])
    monkeypatch.setattr("gemini_qa_tuning.operators.tuning.time.sleep", lambda seconds: None)
    with pytest.raises(AirflowException, match="failed 2 times with transient errors") as caught:
        run(launcher(tuning_files, create_attempts=2))
    assert not isinstance(caught.value, AirflowFailException)  # retryable
    assert fast_vertex.request_counts()["tuningJobs.create"] == 2


@pytestmark_integration
def test_rejected_request_fails_with_vertex_message(fast_vertex: Any, tuning_files: tuple[str, str]) -> None:
    # The emulator, like Vertex, refuses non-Gemini base models; our validation only warns about them.
    with pytest.raises(AirflowFailException, match="Vertex AI rejected the tuning job request") as caught:
        run(launcher(tuning_files, base_model="text-bison"))
    assert "not supported for tuning" in str(caught.value)
