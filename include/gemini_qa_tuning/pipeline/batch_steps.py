"""The evaluate_* tasks' batch mode: one Vertex batch prediction job per model, scored like online answers.

The evaluation operator (:mod:`gemini_qa_tuning.operators.evaluation`) asks :func:`evaluation_mode` how
to evaluate; online it runs the online steps unchanged (:func:`gemini_qa_tuning.pipeline.steps.evaluate_base`
…). In batch mode :func:`start_batch_evaluation` writes the request file, finds the batch job a previous
attempt created (by labels: fingerprint of the request file + model + pipeline id) or creates it, the
operator defers to :class:`~gemini_qa_tuning.triggers.batch.BatchPredictionJobTrigger` until it ends, and
:func:`finish_batch_evaluation` reads Vertex's output files and scores them into the same
:class:`~gemini_qa_tuning.contracts.PredictionRun` the online path returns, so compare_models, the report
and promotion read both alike.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Self

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, AirflowSkipException

from gemini_qa_tuning import storage
from gemini_qa_tuning.contracts import CurrentChampion, ExportedDataset, PipelineParams, PredictionRun, TunedModel
from gemini_qa_tuning.create_lookup import CreateLookupPolicy
from gemini_qa_tuning.eval_mode import choose_eval_mode
from gemini_qa_tuning.json_types import JsonObject, read_float, read_int, read_optional_str, read_str
from gemini_qa_tuning.run_summary import run_uri

if TYPE_CHECKING:
    from gemini_qa_tuning.evaluation.batch import BatchJobSnapshot
    from gemini_qa_tuning.hooks.genai import GenAIVertexHook

__all__ = [
    "BatchEvaluation",
    "BatchTarget",
    "batch_target",
    "evaluation_mode",
    "finish_batch_evaluation",
    "start_batch_evaluation",
]

logger = logging.getLogger(__name__)

Role = Literal["base", "tuned", "champion"]


def evaluation_mode(exported: ExportedDataset, params: PipelineParams) -> Literal["online", "batch"]:
    """``eval_mode`` applied to this run's test questions (``auto``: batch from ``batch_min_questions``)."""
    return choose_eval_mode(params.eval_mode, exported.counts.test, params.batch_min_questions)


@dataclass(frozen=True)
class BatchTarget:
    """Who a role's evaluation asks: ``model`` as online names it (predictions and comparison keep that
    name), ``batch_model`` the Model a batch job takes, ``facts_model`` the publisher model whose thinking
    facts apply."""

    role: Role
    model: str
    batch_model: str
    facts_model: str | None = None


def batch_target(
    role: Role, params: PipelineParams, tuned: TunedModel | None, champion: CurrentChampion | None
) -> BatchTarget | None:
    """The role's batch target; skips as the online step does; ``None`` when only online can ask it.

    A batch job takes a Model, not an endpoint: the tuned model is asked as its Model Registry model
    (``…/models/M@1``, which serves its default checkpoint, the one its endpoint serves).
    """
    if role == "base":
        return BatchTarget("base", params.base_model, params.base_model)
    if tuned is None or not tuned.endpoint:
        raise AirflowFailException("The tuning job reports no endpoint; there is nothing to evaluate.")
    if role == "tuned":
        return BatchTarget("tuned", tuned.endpoint, tuned.tuned_model) if tuned.tuned_model else None
    if champion is None:
        raise AirflowSkipException("No champion yet: nothing to evaluate besides the base and tuned models.")
    if champion.model in (params.base_model, tuned.endpoint):
        raise AirflowSkipException(f"The champion {champion.model} is the base or the tuned model, evaluated once.")
    record = champion.record
    facts = record.base_model
    if record.registry_model:
        version = record.registry_version
        batch_model = f"{record.registry_model}@{version}" if version else record.registry_model
        return BatchTarget("champion", champion.model, batch_model, facts)
    if "/" not in champion.model:  # a publisher model champion
        return BatchTarget("champion", champion.model, champion.model, facts)
    return None  # an endpoint without its Model in the record (older records): online only


@dataclass(frozen=True)
class BatchEvaluation:
    """What the deferred task carries from submitting the job to reading its answers (JSON in next_kwargs)."""

    role: str
    model: str
    batch_model: str
    facts_model: str | None
    job_name: str
    request_uri: str
    requests: int
    started_at: float

    def to_json(self) -> JsonObject:
        return {
            "role": self.role,
            "model": self.model,
            "batch_model": self.batch_model,
            "facts_model": self.facts_model,
            "job_name": self.job_name,
            "request_uri": self.request_uri,
            "requests": self.requests,
            "started_at": self.started_at,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "batch evaluation"
        return cls(
            role=read_str(data, "role", where),
            model=read_str(data, "model", where),
            batch_model=read_str(data, "batch_model", where),
            facts_model=read_optional_str(data, "facts_model", where),
            job_name=read_str(data, "job_name", where),
            request_uri=read_str(data, "request_uri", where),
            requests=read_int(data, "requests", where),
            started_at=read_float(data, "started_at", where),
        )


def _role_folder(params: PipelineParams, run_id: str, role: str) -> str:
    # The online runner's folder of the role (runs/<run id>/evaluation/<role>/): the same predictions file.
    return storage.join_uri(run_uri(params.gcs_prefix, run_id), "evaluation", role)


def _job_a_lost_create_made(
    error: Exception,
    reusable_job: Callable[[], BatchJobSnapshot | None],
    create_lookup: CreateLookupPolicy,
    role: str,
) -> BatchJobSnapshot:
    """The job a create that failed with ``error`` made after all, found by labels; else the error is raised.

    Only a create whose outcome is unknown (:func:`~gemini_qa_tuning.create_lookup.create_outcome_unknown`)
    is looked for, for ``create_lookup.visibility_wait_seconds``; a refusal is raised at once.
    """
    from gemini_qa_tuning.api_errors import is_transient_api_error
    from gemini_qa_tuning.create_lookup import create_outcome_unknown, find_after_pauses

    if not (is_transient_api_error(error) and create_outcome_unknown(error)):
        raise error
    delays = create_lookup.lookup_delays(create_lookup.interval_seconds, outcome_unknown=True)
    logger.warning(
        "Creating the batch prediction job for the %s model failed without an answer (%s); Vertex may still "
        "act on it: looking the job up by labels for %.0f s before the task fails.",
        role,
        error,
        sum(delays),
    )
    job = find_after_pauses(reusable_job, delays, sleep=time.sleep)
    if job is None:
        raise AirflowException(
            f"Creating the batch prediction job for the {role} model failed ({error}) and no job with its "
            f"labels appeared within {sum(delays):.0f} s; the task's retry looks it up by labels again "
            "before it creates one."
        ) from error
    return job


def start_batch_evaluation(
    target: BatchTarget,
    exported: ExportedDataset,
    params: PipelineParams,
    run_id: str,
    hook: GenAIVertexHook,
    create_lookup: CreateLookupPolicy | None = None,
) -> tuple[BatchEvaluation, BatchJobSnapshot]:
    """Write the role's request file; reuse the batch job a previous attempt made for it, else create one.

    A create whose answer was lost (timeout, dropped connection, 5xx) may still be acted on by Vertex:
    before the task fails (and its retry creates again), the jobs are listed by labels as
    ``create_lookup`` says (default :class:`~gemini_qa_tuning.create_lookup.CreateLookupPolicy`).
    """
    from gemini_qa_tuning.evaluation import load_test_questions
    from gemini_qa_tuning.evaluation.batch import (
        BATCH_FOLDER,
        BatchJobSnapshot,
        batch_display_name,
        batch_job_labels,
        select_reusable_batch_job,
        write_batch_requests,
    )
    from gemini_qa_tuning.evaluation.cost import estimate_evaluation_cost, inference_price
    from gemini_qa_tuning.pipeline.steps import as_connection, evaluation_settings

    settings = evaluation_settings(params, target.facts_model)
    estimate = estimate_evaluation_cost(
        mode="batch",
        models=1,
        questions=exported.counts.test,
        input_tokens_per_model=exported.test_prompt_tokens,
        output_tokens_per_answer=settings.output_cap,
        price=inference_price(target.facts_model or params.base_model),
    )
    logger.info("Cost estimate of the %s model's %s", target.role, estimate.describe())
    folder = storage.join_uri(_role_folder(params, run_id, target.role), BATCH_FOLDER)
    with as_connection(params, hook):
        questions = load_test_questions(exported.test_uri)
        request_file = write_batch_requests(questions, settings, folder)
    labels = batch_job_labels(request_file.fingerprint, target.batch_model, params.owning_pipeline)
    display_name = batch_display_name(target.role, request_file.fingerprint)

    def reusable_job() -> BatchJobSnapshot | None:
        found = hook.list_batch_jobs_by_labels(labels, display_name)
        return select_reusable_batch_job(BatchJobSnapshot.from_sdk(job) for job in found)

    job = reusable_job()
    if job is not None:
        logger.info(
            "Reusing batch prediction job %s (%s) for the %s model: no second job is paid.",
            job.name,
            job.state,
            target.role,
        )
    else:
        output_prefix = storage.join_uri(folder, "output")
        try:
            job = BatchJobSnapshot.from_sdk(
                hook.create_batch_job(target.batch_model, request_file.uri, output_prefix, display_name, labels)
            )
        except Exception as error:
            job = _job_a_lost_create_made(error, reusable_job, create_lookup or CreateLookupPolicy(), target.role)
            logger.info("The failed-looking create had created %s for the %s model; using it.", job.name, target.role)
        else:
            logger.info(
                "Created batch prediction job %s for the %s model %s: %d requests from %s (labels %s).",
                job.name,
                target.role,
                target.batch_model,
                request_file.requests,
                request_file.uri,
                labels,
            )
    evaluation = BatchEvaluation(
        role=target.role,
        model=target.model,
        batch_model=target.batch_model,
        facts_model=target.facts_model,
        job_name=job.name,
        request_uri=request_file.uri,
        requests=request_file.requests,
        started_at=time.time(),
    )
    return evaluation, job


def finish_batch_evaluation(
    evaluation: BatchEvaluation, job: BatchJobSnapshot, exported: ExportedDataset, params: PipelineParams
) -> PredictionRun:
    """Read the ended job's output files and score them exactly like online answers."""
    from gemini_qa_tuning.evaluation import EmptyAnswerShareExceededError, ErrorShareExceededError, load_test_questions
    from gemini_qa_tuning.evaluation.batch import BatchOutcome, finish_batch_run, judge_batch_job, read_batch_answers
    from gemini_qa_tuning.pipeline.steps import as_connection, evaluation_settings

    outcome, message = judge_batch_job(job)
    if outcome is not BatchOutcome.SUCCEEDED:
        raise AirflowFailException(message)
    assert job.output_directory is not None  # judge_batch_job: a success has an output directory
    settings = evaluation_settings(params, evaluation.facts_model)
    folder = evaluation.request_uri.rsplit("/", 2)[0]  # <role folder>/batch/requests.jsonl
    try:
        with as_connection(params):
            questions = load_test_questions(exported.test_uri)
            answers = read_batch_answers(job.output_directory, questions)
            run = finish_batch_run(
                evaluation.model,
                questions,
                answers,
                test_uri=exported.test_uri,
                folder_uri=folder,
                settings=settings,
                requests_sent=evaluation.requests,
                started_at=evaluation.started_at,
            )
    except ErrorShareExceededError as error:  # a retry finds the same succeeded job and the same lines
        raise AirflowFailException(str(error)) from error
    except EmptyAnswerShareExceededError as error:
        raise AirflowFailException(
            f"{error} In this DAG: raise the Param eval_max_output_tokens or lower eval_thinking."
        ) from error
    logger.info(
        "%s (batch job %s): EM %.2f, F1 %.2f over %d questions (%d per-line errors); predictions at %s",
        evaluation.model,
        job.name,
        run.scores.exact_match,
        run.scores.f1,
        run.scores.questions,
        run.scores.errors,
        run.predictions_uri,
    )
    return run
