"""Batch evaluation through the evaluate task's operator, against the GCS and Vertex AI emulators.

The operator's ``execute`` submits (or finds) the batch job and defers; the test runs the trigger the
triggerer would run and resumes the task with its event, as Airflow does.
"""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, TaskDeferred

from gemini_qa_tuning import storage
from gemini_qa_tuning.evaluation import read_predictions
from gemini_qa_tuning.operators.evaluation import EvaluateModelOperator
from gemini_qa_tuning.pipeline import batch_steps, steps
from gemini_qa_tuning.pipeline.params import PipelineParams, PipelineParamsError
from gemini_qa_tuning.triggers.batch import BatchPredictionJobTrigger
from tests.pipeline.test_evaluate_step import exported_test_set

pytestmark = pytest.mark.integration


@pytest.fixture
def batch_vertex(local_airflow_env: dict, vertex_emulator: Any) -> Any:
    vertex_emulator.reset()
    vertex_emulator.configure(pending_seconds=0.05, batch_running_seconds=0.05, cancelling_seconds=0.05)
    return vertex_emulator


def _params(prefix: str, **overrides: Any) -> PipelineParams:
    values: dict[str, Any] = {
        "gcs_prefix": prefix,
        "pipeline_id": "gemini_squad_tuning",
        "eval_mode": "batch",
        "poll_interval_seconds": 1,
        **overrides,
    }
    return PipelineParams(**values)


def _exported(prefix: str, count: int = 6) -> Any:
    test_set = exported_test_set(prefix, count)
    counts = SimpleNamespace(test=count)
    return SimpleNamespace(test_uri=test_set.test_uri, counts=counts, test_prompt_tokens=20 * count)


def _operator(exported: Any, params: PipelineParams, role: str = "base", **kwargs: Any) -> EvaluateModelOperator:
    operator = EvaluateModelOperator(
        task_id=f"evaluate_{role}",
        role=role,  # type: ignore[arg-type]
        exported={},
        settings=params.to_json(),
        **kwargs,
    )
    operator._records = lambda: (params, exported, None, None)  # type: ignore[method-assign]
    return operator


def _run_deferred(operator: EvaluateModelOperator, run_id: str) -> dict[str, Any]:
    """execute -> TaskDeferred -> the trigger's one event -> execute_complete, as Airflow runs it."""

    with pytest.raises(TaskDeferred) as deferred:
        operator.execute({"run_id": run_id})
    return _resume(operator, run_id, deferred.value)


def _run_to_the_end(operator: EvaluateModelOperator, run_id: str) -> dict[str, Any]:
    """Like :func:`_run_deferred`, for a job that may already have ended when execute looks (no deferral)."""
    try:
        return operator.execute({"run_id": run_id})
    except TaskDeferred as deferred:
        return _resume(operator, run_id, deferred)


def _resume(operator: EvaluateModelOperator, run_id: str, deferred: TaskDeferred) -> dict[str, Any]:
    """Run the deferral's trigger to its one event and resume the task with it."""
    trigger = deferred.trigger
    assert isinstance(trigger, BatchPredictionJobTrigger)
    classpath, kwargs = trigger.serialize()
    assert classpath == "gemini_qa_tuning.triggers.batch.BatchPredictionJobTrigger"

    async def first_event() -> dict[str, Any]:
        async for event in BatchPredictionJobTrigger(**{**kwargs, "poll_interval": 0.05}).run():
            return dict(event.payload)
        raise AssertionError("the trigger yielded no event")

    event = asyncio.run(first_event())
    method = getattr(operator, deferred.method_name)
    return method({"run_id": run_id}, event=event)


def test_batch_mode_scores_equal_online_mode_on_the_same_questions(batch_vertex: Any, gcs_bucket_uri: str) -> None:
    exported = _exported(gcs_bucket_uri)
    online = steps.evaluate_base(exported, _params(gcs_bucket_uri, eval_mode="online"), "run-online")
    online_calls = batch_vertex.request_counts()["generateContent"]

    result = _run_deferred(_operator(exported, _params(gcs_bucket_uri)), "run-batch")
    batch = steps.PredictionRun.from_json(result)

    assert batch_vertex.request_counts()["generateContent"] == online_calls, "batch mode must not ask online"
    assert batch_vertex.request_counts()["batchPredictionJobs.create"] == 1
    assert batch.predictions_uri.endswith("/runs/run-batch/evaluation/base/predictions.jsonl")
    for name in (
        "exact_match",
        "f1",
        "answered",
        "errors",
        "empty",
        "thinking_tokens",
        "prompt_tokens",
        "output_tokens",
    ):
        assert getattr(batch.scores, name) == getattr(online.scores, name), name
    assert batch.thinking == online.thinking and batch.max_output_tokens == online.max_output_tokens
    online_lines = {line.id: line for line in read_predictions(online.predictions_uri)}
    for line in read_predictions(batch.predictions_uri):
        assert (line.response, line.exact_match, line.f1) == (
            online_lines[line.id].response,
            online_lines[line.id].exact_match,
            online_lines[line.id].f1,
        )
    # The request file carries the online request's settings.
    request = json.loads(
        storage.read_text(f"{gcs_bucket_uri}/runs/run-batch/evaluation/base/batch/requests.jsonl").splitlines()[0]
    )
    assert request["request"]["generationConfig"]["maxOutputTokens"] == online.max_output_tokens


def test_a_retry_finds_the_batch_job_it_created_by_its_labels(batch_vertex: Any, gcs_bucket_uri: str) -> None:

    batch_vertex.configure(pending_seconds=30)  # the first attempt's job is still pending when it "dies"
    exported, params = _exported(gcs_bucket_uri), _params(gcs_bucket_uri)
    with pytest.raises(TaskDeferred) as first:
        _operator(exported, params).execute({"run_id": "run-1"})
    with pytest.raises(TaskDeferred) as retry:
        _operator(exported, params).execute({"run_id": "run-1"})

    assert retry.value.trigger.job_name == first.value.trigger.job_name  # type: ignore[attr-defined]
    assert batch_vertex.request_counts()["batchPredictionJobs.create"] == 1


@pytest.fixture
def short_client_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The task's Vertex client gives up on a request after 1 s (the hook's default is 60 s)."""
    real_vertex_hook = steps.vertex_hook

    def vertex_hook(params: PipelineParams) -> Any:
        hook = real_vertex_hook(params)
        hook.timeout_seconds = 1.0
        return hook

    monkeypatch.setattr(steps, "vertex_hook", vertex_hook)


def _batch_job_names(gcs_bucket_uri: str) -> list[str]:
    from gemini_qa_tuning.hooks.genai import GenAIVertexHook

    hook = GenAIVertexHook()
    try:
        return [job.name or "" for job in hook.list_batch_jobs_by_labels({})]
    finally:
        hook.close()


def test_a_batch_create_answered_too_late_is_waited_for_instead_of_paid_twice(
    batch_vertex: Any, gcs_bucket_uri: str, short_client_timeout: None, caplog: pytest.LogCaptureFixture
) -> None:
    """Vertex acts on the create but answers after the client gave up, and lists the job only later
    (the emulator's slow_create_seconds): the task keeps looking by labels and uses that job."""
    batch_vertex.configure(slow_create_seconds=3.0, fault_methods=["batchPredictionJobs.create"])
    exported, params = _exported(gcs_bucket_uri), _params(gcs_bucket_uri)
    operator = _operator(exported, params, create_visibility_wait_seconds=10.0, create_lookup_interval_seconds=0.5)

    # The job may end while the task still looks for it: then execute scores it without deferring.
    run = steps.PredictionRun.from_json(_run_to_the_end(operator, "run-slow"))

    assert batch_vertex.request_counts()["batchPredictionJobs.create"] == 1
    assert len(_batch_job_names(gcs_bucket_uri)) == 1  # exactly one job exists, and it answered
    assert run.scores.answered == 6
    assert "The failed-looking create had created" in caplog.text  # the create's answer was lost, the job found


def test_a_batch_create_that_made_no_job_fails_the_task_and_its_retry_creates_one(
    batch_vertex: Any, gcs_bucket_uri: str
) -> None:
    """A 503 Vertex answers without acting: nothing appears in the lookups, the task fails saying what its
    retry does, and the retry creates the job once."""
    batch_vertex.configure(error_rate_503=1.0, fault_methods=["batchPredictionJobs.create"])
    exported, params = _exported(gcs_bucket_uri), _params(gcs_bucket_uri)
    lookup: dict[str, Any] = {"create_visibility_wait_seconds": 1.0, "create_lookup_interval_seconds": 0.25}

    with pytest.raises(AirflowException, match=r"no job with its labels appeared within 1 s; the task's retry"):
        _operator(exported, params, **lookup).execute({"run_id": "run-1"})
    assert _batch_job_names(gcs_bucket_uri) == []

    batch_vertex.configure(error_rate_503=0.0)
    with pytest.raises(TaskDeferred):
        _operator(exported, params, **lookup).execute({"run_id": "run-1"})
    assert len(_batch_job_names(gcs_bucket_uri)) == 1


def test_per_line_errors_count_as_failed_questions_under_the_error_share_limit(
    batch_vertex: Any, gcs_bucket_uri: str
) -> None:
    batch_vertex.configure(batch_line_error_rate=0.3, error_seed=1)
    exported = _exported(gcs_bucket_uri, count=10)

    tolerant = steps.PredictionRun.from_json(
        _run_deferred(_operator(exported, _params(gcs_bucket_uri, eval_max_error_share=0.9)), "run-1")
    )
    assert 0 < tolerant.scores.errors < 10
    failed = [line for line in read_predictions(tolerant.predictions_uri) if line.status == "error"]
    assert len(failed) == tolerant.scores.errors and all("batch line error" in str(line.error) for line in failed)

    with pytest.raises(AirflowFailException, match=r"per-line errors, above the limit.*eval_mode online"):
        _run_deferred(_operator(exported, _params(gcs_bucket_uri, eval_max_error_share=0.0)), "run-2")


def test_a_failed_batch_job_fails_the_task_saying_why(batch_vertex: Any, gcs_bucket_uri: str) -> None:
    # The job's input disappears before it runs: Vertex fails the job, and the task fails for good.
    batch_vertex.configure(pending_seconds=0.5)
    exported = _exported(gcs_bucket_uri)
    operator = _operator(exported, _params(gcs_bucket_uri))

    with pytest.raises(TaskDeferred) as deferred:
        operator.execute({"run_id": "r"})
    storage.delete(f"{gcs_bucket_uri}/runs/r/evaluation/base/batch/requests.jsonl")
    _, kwargs = deferred.value.trigger.serialize()

    async def first_event() -> dict[str, Any]:
        async for event in BatchPredictionJobTrigger(**{**kwargs, "poll_interval": 0.05}).run():
            return dict(event.payload)
        raise AssertionError("no event")

    event = asyncio.run(first_event())
    assert event["status"] == "failed"
    with pytest.raises(AirflowFailException, match=r"ended JOB_STATE_FAILED: Batch input file .* does not exist"):
        operator.execute_complete({"run_id": "r"}, event=event)


def test_auto_picks_batch_from_the_question_count() -> None:
    exported = SimpleNamespace(counts=SimpleNamespace(test=999))
    auto = PipelineParams(eval_mode="auto", batch_min_questions=1000)
    assert batch_steps.evaluation_mode(exported, auto) == "online"  # type: ignore[arg-type]
    exported.counts.test = 1000
    assert batch_steps.evaluation_mode(exported, auto) == "batch"  # type: ignore[arg-type]
    assert batch_steps.evaluation_mode(exported, PipelineParams()) == "online"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"eval_mode": "later"}, "eval_mode must be one of online, batch, auto, got 'later'"),
        ({"batch_min_questions": 0}, "batch_min_questions must be at least 1, got 0"),
    ],
)
def test_bad_batch_params_are_refused_with_what_to_do(values: dict[str, Any], message: str) -> None:
    with pytest.raises(PipelineParamsError, match=message):
        PipelineParams.from_params(values)


def test_batch_asks_models_not_endpoints_and_leaves_what_it_cannot_name_to_online() -> None:
    from airflow.providers.common.compat.sdk import AirflowSkipException

    from gemini_qa_tuning.champion import ChampionRecord
    from gemini_qa_tuning.contracts import CurrentChampion, TunedModel

    params = PipelineParams(base_model="gemini-3.5-flash-lite")
    endpoint, model = "projects/1/locations/l/endpoints/9", "projects/1/locations/l/models/8@1"
    tuned = TunedModel(
        job_name="projects/1/locations/l/tuningJobs/7",
        state="JOB_STATE_SUCCEEDED",
        tuned_model=model,
        endpoint=endpoint,
        billable_tokens=None,
        epochs=None,
        actual_cost_usd=None,
    )
    assert batch_steps.batch_target("base", params, None, None) == batch_steps.BatchTarget(
        "base", "gemini-3.5-flash-lite", "gemini-3.5-flash-lite"
    )
    assert batch_steps.batch_target("tuned", params, tuned, None) == batch_steps.BatchTarget("tuned", endpoint, model)

    def champion(**record: Any) -> CurrentChampion:
        return CurrentChampion(record=ChampionRecord(**record), generation=1)

    older = champion(model="projects/1/locations/l/endpoints/5", tuned_model="projects/1/locations/l/models/4@1")
    target = batch_steps.batch_target("champion", params, tuned, older)
    assert target is not None and target.batch_model == "projects/1/locations/l/models/4@1"
    assert target.model == "projects/1/locations/l/endpoints/5"  # predictions keep the online name
    record_without_model = champion(model="projects/1/locations/l/endpoints/5")
    assert batch_steps.batch_target("champion", params, tuned, record_without_model) is None
    with pytest.raises(AirflowSkipException):
        batch_steps.batch_target("champion", params, tuned, None)
    with pytest.raises(AirflowSkipException):
        batch_steps.batch_target("champion", params, tuned, champion(model=endpoint))
