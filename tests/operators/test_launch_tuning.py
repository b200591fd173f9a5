"""LaunchTuningJobOperator: native argument types, validation, dry run, idempotent launch, link."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from gemini_qa_tuning.hooks.genai import GenAIVertexHook
from gemini_qa_tuning.operators.tuning import (
    TUNING_JOB_NAME_XCOM_KEY,
    TUNING_JOB_STATE_KEY,
    LaunchTuningJobOperator,
    VertexTuningJobLink,
)
from gemini_qa_tuning.tuning import CONFIG_LABEL_KEY, DATASET_LABEL_KEY, PIPELINE_LABEL_KEY, console_url

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
    result = operator.execute({"ti": ti})  # type: ignore[typeddict-item]
    return result, ti.pushed


def launcher(tuning_files: tuple[str, str], **overrides: Any) -> LaunchTuningJobOperator:
    train, validation = tuning_files
    return LaunchTuningJobOperator(
        **{
            "task_id": "launch",
            "training_uri": train,
            "validation_uri": validation,
            "dataset_fingerprint": "fp-test",
            # No official tuning price for the Gemini 3 models: the tests give the cost estimate one.
            "price_per_million_tokens": 5.0,
            **overrides,
        }
    )


# --------------------------------------------------------------------------- no network needed
def test_invalid_settings_fail_without_retry_before_any_call() -> None:
    operator = LaunchTuningJobOperator(
        task_id="launch", training_uri="", epochs=0, adapter_size=5, base_model="gemini-1.5-flash-002"
    )
    with pytest.raises(AirflowFailException) as caught:
        run(operator)
    message = str(caught.value)
    assert "Task launch: Invalid tuning settings (4 problem(s))" in message
    for expected in ("training_uri is missing", "epochs is 0", "adapter_size 5", "retired by Vertex AI"):
        assert expected in message


def test_templated_fields_cover_every_setting() -> None:
    for name in ("training_uri", "validation_uri", "base_model", "epochs", "adapter_size", "labels", "pipeline_id"):
        assert name in LaunchTuningJobOperator.template_fields
    assert "dry_run_requested" in LaunchTuningJobOperator.template_fields
    assert callable(LaunchTuningJobOperator(task_id="t", training_uri="gs://b/t.jsonl").dry_run)


def test_provider_conventions() -> None:
    operator = LaunchTuningJobOperator(
        task_id="t",
        training_uri="gs://b/t.jsonl",
        gcp_conn_id="c",
        impersonation_chain=["sa@p.iam.gserviceaccount.com"],
    )
    assert (operator.gcp_conn_id, operator.impersonation_chain) == ("c", ["sa@p.iam.gserviceaccount.com"])


@pytest.mark.parametrize(
    ("argument", "value", "expected"),
    [
        ("epochs", "3", "epochs must be an integer, got str '3'"),
        ("epochs", True, "epochs must be an integer, got bool True"),
        ("adapter_size", "4", "adapter_size must be an integer or None, got str '4'"),
        ("learning_rate_multiplier", "1.0", "learning_rate_multiplier must be a number, got str '1.0'"),
        ("dry_run", "True", "dry_run must be true or false (a bool), got str 'True'"),
        ("labels", '{"team": "qa"}', "labels must be a mapping of strings to strings or None, got str"),
        ("labels", {"team": 1}, "labels must be a mapping of strings to strings or None, got dict"),
        ("price_per_million_tokens", "2.5", "price_per_million_tokens must be a number >= 0 or None, got str '2.5'"),
    ],
)
def test_rendered_strings_are_refused_with_the_likely_cause(argument: str, value: Any, expected: str) -> None:
    """Templates render native values; text where a value belongs means the DAG renders strings."""
    operator = LaunchTuningJobOperator(task_id="launch", training_uri="gs://b/t.jsonl", **{argument: value})
    with pytest.raises(AirflowFailException) as caught:
        run(operator)
    message = str(caught.value)
    assert message.startswith("Task launch: 1 argument(s) of the wrong type") and expected in message
    if isinstance(value, str):
        assert "is render_template_as_native_obj=True set on the DAG?" in message


def test_every_wrong_argument_is_named_at_once() -> None:
    operator = LaunchTuningJobOperator(
        task_id="launch",
        training_uri="gs://b/t.jsonl",
        epochs="3",
        dry_run="False",
        pipeline_id=7,  # type: ignore[arg-type]
    )
    with pytest.raises(AirflowFailException, match=r"3 argument\(s\) of the wrong type") as caught:
        run(operator)
    for name in ("epochs", "dry_run", "pipeline_id"):
        assert f"{name} must be" in str(caught.value)


def test_link_reads_the_job_name_from_xcom(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk.execution_time.xcom import XCom

    stored: dict[str, Any] = {}
    monkeypatch.setattr(XCom, "get_value", classmethod(lambda cls, *, ti_key, key: stored.get(key)))
    ti = RecordingTaskInstance()
    VertexTuningJobLink.persist({"ti": ti}, job_name=JOB)  # type: ignore[typeddict-item]
    stored.update(ti.pushed)
    link = VertexTuningJobLink()
    operator = LaunchTuningJobOperator(task_id="t", training_uri="gs://b/t.jsonl")
    assert link.name == "Vertex AI tuning job"
    assert link.get_link(operator, ti_key=None) == (  # type: ignore[arg-type]
        "https://console.cloud.google.com/vertex-ai/generative/language/locations/us-central1"
        "/tuning/tuningJob/77?project=local-project"
    )
    stored.clear()  # a dry run stores no job: no link
    assert link.get_link(operator, ti_key=None) == ""  # type: ignore[arg-type]


@pytest.mark.parametrize(("price", "shown"), [(-1, "got int -1"), (float("nan"), "got float nan")])
def test_price_and_attempt_arguments_are_checked(price: float, shown: str) -> None:
    operator = LaunchTuningJobOperator(task_id="t", training_uri="gs://b/t.jsonl", price_per_million_tokens=price)
    with pytest.raises(AirflowFailException, match="price_per_million_tokens must be a number >= 0") as caught:
        run(operator)
    assert shown in str(caught.value)
    with pytest.raises(ValueError, match="create_attempts must be at least 1"):
        LaunchTuningJobOperator(task_id="t", training_uri="gs://b/t.jsonl", create_attempts=0)


# --------------------------------------------------------------------------- against the emulators
pytestmark_integration = pytest.mark.integration


@pytestmark_integration
def test_dry_run_validates_and_creates_nothing(fast_vertex: Any, tuning_files: tuple[str, str]) -> None:
    result, pushed = run(launcher(tuning_files, dry_run=True, epochs=2))
    assert result["dry_run"] is True and result["job_name"] is None and result["console_url"] is None
    assert result["training_examples"] == 16 and result["estimated_billable_tokens"] > 0  # the tuning_files fixture
    assert result["estimated_cost_usd"] == pytest.approx(result["estimated_billable_tokens"] * 2 * 5.0 / 1e6, abs=1e-4)
    assert result["request"]["epoch_count"] == 2
    assert result["request"]["labels"][DATASET_LABEL_KEY] == "fp-test"
    assert pushed == {TUNING_JOB_NAME_XCOM_KEY: ""}  # no job (empty: Airflow keeps no XCom for None), no link
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
def test_launch_twice_creates_one_job_and_again_after_failure(held_vertex: Any, tuning_files: tuple[str, str]) -> None:
    # Jobs stay PENDING until the test advances them: the second launch finds the first job unfinished.
    held_vertex.configure(job_outcome="fail")
    first, pushed = run(launcher(tuning_files))
    assert first["reused"] is False and re.match(r"projects/[0-9]+/", first["job_name"])  # project number
    assert pushed[TUNING_JOB_NAME_XCOM_KEY] == first["job_name"]
    # Offline (the emulator): the link opens the emulator's job, not a console page that cannot show it.
    assert (
        pushed[VertexTuningJobLink().xcom_key]
        == f"{os.environ['GOOGLE_VERTEX_BASE_URL'].rstrip('/')}/v1/{first['job_name']}"
    )
    assert first["console_url"] == console_url(first["job_name"])
    assert first["labels"][PIPELINE_LABEL_KEY] == "adhoc_airflow"  # no DAG: the ad-hoc DAG id
    assert first["labels"][CONFIG_LABEL_KEY] == first["config_hash"]

    second, _ = run(launcher(tuning_files))  # e.g. a retry after a crash before the XCom push
    assert second["reused"] is True and second["job_name"] == first["job_name"]
    assert held_vertex.request_counts()["tuningJobs.create"] == 1

    held_vertex.advance_job(first["job_name"], "JOB_STATE_FAILED")
    held_vertex.configure(job_outcome="succeed")
    third, _ = run(launcher(tuning_files))
    assert third["reused"] is False and third["job_name"] != first["job_name"]
    assert held_vertex.request_counts()["tuningJobs.create"] == 2

    held_vertex.advance_job(third["job_name"], "JOB_STATE_SUCCEEDED")
    fourth, _ = run(launcher(tuning_files))
    assert fourth["reused"] is True and fourth["job_name"] == third["job_name"]
    assert fourth["state"] == "JOB_STATE_SUCCEEDED"
    assert fourth["billable_tokens"] > 0  # Vertex's count, next to the estimate
    assert fourth["actual_cost_usd"] == pytest.approx(fourth["billable_tokens"] * 3 * 5.0 / 1e6, abs=1e-4)
    assert held_vertex.request_counts()["tuningJobs.create"] == 2


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
        with pytest.raises(SystemExit, match=r"worker lost after creating projects/[0-9]+/"):
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
def test_other_pipelines_never_reuse_the_job(fast_vertex: Any, tuning_files: tuple[str, str]) -> None:
    """Same data, same config, another pipeline (DAG or pipeline_id): its own job; the same pipeline reuses."""
    first, _ = run(launcher(tuning_files, pipeline_id="team-a"))
    other, _ = run(launcher(tuning_files, pipeline_id="team-b"))
    again, _ = run(launcher(tuning_files, pipeline_id="team-a"))
    assert first["labels"][PIPELINE_LABEL_KEY] == "team-a" and other["labels"][PIPELINE_LABEL_KEY] == "team-b"
    assert other["job_name"] != first["job_name"] and other["reused"] is False
    assert again["job_name"] == first["job_name"] and again["reused"] is True
    assert fast_vertex.request_counts()["tuningJobs.create"] == 2


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


# --------------------------------------------------------------------------- task_state_store (Airflow 3.3+)
class RecordingStateStore:
    """The part of Airflow 3.3's task_state_store the operator uses; values outlive one try, as there."""

    def __init__(self, values: dict[str, Any] | None = None) -> None:
        self.values: dict[str, Any] = dict(values or {})

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        assert value is not None  # Airflow refuses None
        self.values[key] = value


def run_with_store(operator: LaunchTuningJobOperator, store: RecordingStateStore) -> dict[str, Any]:
    """Execute with a task_state_store in the context, as Airflow 3.3 gives one."""
    context = {"ti": RecordingTaskInstance(), "task_state_store": store}
    return operator.execute(context)  # type: ignore[arg-type]


@pytestmark_integration
def test_job_name_is_recorded_in_task_state_store_and_read_first_on_retry(
    held_vertex: Any, tuning_files: tuple[str, str]
) -> None:
    store = RecordingStateStore()
    first = run_with_store(launcher(tuning_files), store)
    assert store.values == {TUNING_JOB_STATE_KEY: first["job_name"]}
    before = held_vertex.request_counts()

    retried = run_with_store(launcher(tuning_files), store)  # a retry of the same task instance
    after = held_vertex.request_counts()
    assert retried["reused"] is True and retried["job_name"] == first["job_name"]
    assert after["tuningJobs.get"] - before["tuningJobs.get"] == 1  # the recorded name, read first
    assert after["tuningJobs.list"] == before["tuningJobs.list"]  # so no labels lookup was needed
    assert after["tuningJobs.create"] == 1


@pytestmark_integration
def test_recorded_job_that_failed_or_belongs_elsewhere_falls_back_to_labels(
    held_vertex: Any, tuning_files: tuple[str, str]
) -> None:
    other = run_with_store(launcher(tuning_files, epochs=5), RecordingStateStore())  # other identity labels
    store = RecordingStateStore({TUNING_JOB_STATE_KEY: other["job_name"]})
    mine = run_with_store(launcher(tuning_files), store)
    assert mine["reused"] is False and mine["job_name"] != other["job_name"]
    assert store.values[TUNING_JOB_STATE_KEY] == mine["job_name"]  # the store now names this task's job

    held_vertex.advance_job(mine["job_name"], "JOB_STATE_FAILED")
    again = run_with_store(launcher(tuning_files), store)
    assert again["reused"] is False and again["job_name"] not in (mine["job_name"], other["job_name"])
    assert store.values[TUNING_JOB_STATE_KEY] == again["job_name"]

    gone = RecordingStateStore({TUNING_JOB_STATE_KEY: JOB.replace("/77", "/404404")})
    found = run_with_store(launcher(tuning_files), gone)  # a recorded job Vertex no longer knows
    assert found["reused"] is True and found["job_name"] == again["job_name"]  # found by labels
    assert held_vertex.request_counts()["tuningJobs.create"] == 3


def test_without_task_state_store_nothing_is_recorded() -> None:
    """Airflow 3.1 puts no task_state_store in the context: the launch works from the labels alone."""
    from gemini_qa_tuning.operators.tuning import task_state_store

    assert task_state_store({"ti": RecordingTaskInstance()}) is None  # type: ignore[typeddict-item]
    store = RecordingStateStore()
    assert task_state_store({"task_state_store": store}) is store  # type: ignore[typeddict-item]


# --------------------------------------------------------------------------- a create Vertex acts on late
@pytestmark_integration
def test_slow_create_is_waited_for_instead_of_paid_twice(
    fast_vertex: Any, tuning_files: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Vertex acts on the create but answers after the client gave up, and lists the job only later
    (the emulator's slow_create_seconds): the launch keeps looking instead of creating a second job."""
    fast_vertex.configure(slow_create_seconds=4.0, fault_methods=["tuningJobs.create"])
    real_make_hook = LaunchTuningJobOperator.make_hook

    def hook_with_short_timeout(self: LaunchTuningJobOperator) -> GenAIVertexHook:
        hook = real_make_hook(self)
        hook.timeout_seconds = 1.0  # the client gives up long before the create is answered
        return hook

    monkeypatch.setattr(LaunchTuningJobOperator, "make_hook", hook_with_short_timeout)
    operator = launcher(tuning_files, create_visibility_wait_seconds=10.0, create_lookup_interval_seconds=0.5)
    result, _ = run(operator)
    assert result["reused"] is True  # found by labels once Vertex showed it
    assert fast_vertex.request_counts()["tuningJobs.create"] == 1
    listed = GenAIVertexHook().list_tuning_jobs_by_labels({DATASET_LABEL_KEY: "fp-test"})
    assert [job.name for job in listed] == [result["job_name"]]  # exactly one job exists
