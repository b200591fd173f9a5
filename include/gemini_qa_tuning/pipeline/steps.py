"""The bodies of the pipeline DAG's tasks: typed records in, typed records out, no task ids.

Each step calls the domain, logs what a person watching the run wants to know, and turns a domain error
that no retry can fix into ``AirflowFailException`` so Airflow does not retry it. Every Cloud Storage and
Vertex AI call of a step acts as the run's connection (``gcp_conn_id`` + ``impersonation_chain``): one
identity for both.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from gemini_qa_tuning import storage
from gemini_qa_tuning.contracts import (
    ChampionRecord,
    CurrentChampion,
    ExportedDataset,
    ModelComparison,
    PipelineParams,
    PredictionRun,
    PromotionDecision,
    RefreshedDataset,
    RunSummary,
    TunedModel,
    TuningJobLaunch,
    TuningPlan,
)
from gemini_qa_tuning.pipeline.params import PipelineParamsError
from gemini_qa_tuning.run_summary import run_uri, summary_uri, write_run_summary

if TYPE_CHECKING:
    from gemini_qa_tuning.hooks.genai import GenAIVertexHook
    from gemini_qa_tuning.tuning import ModelCatalog

__all__ = [
    "ChampionRecord",
    "CurrentChampion",
    "ExportedDataset",
    "ModelComparison",
    "PipelineParams",
    "PredictionRun",
    "PromotionDecision",
    "RefreshedDataset",
    "RunSummary",
    "TunedModel",
    "TuningJobLaunch",
    "TuningPlan",
    "check_params",
    "compare_models",
    "decide_promotion",
    "evaluate_base",
    "evaluate_champion",
    "evaluate_tuned",
    "export_dataset",
    "find_champion",
    "plan_tuning",
    "promote_champion",
    "refresh_dataset",
    "summarize_run",
]

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def _as_connection(params: PipelineParams) -> Iterator[None]:
    """Every storage call inside acts as the run's connection (Vertex calls use the same one)."""
    from gemini_qa_tuning.hooks.storage_identity import storage_as_connection

    with storage_as_connection(params.gcp_conn_id, list(params.impersonation_chain) or None):
        yield


def _vertex_hook(params: PipelineParams) -> GenAIVertexHook:
    from gemini_qa_tuning.hooks.genai import GenAIVertexHook

    return GenAIVertexHook(gcp_conn_id=params.gcp_conn_id, impersonation_chain=list(params.impersonation_chain) or None)


def _today() -> date:
    """Today in UTC: the day the retirement guard judges a model on (a seam for tests)."""
    return datetime.now(UTC).date()


def _model_catalog(params: PipelineParams) -> ModelCatalog:
    """The run's model catalog (``model_catalog_uri``, else the packaged one); a bad file fails the task."""
    from gemini_qa_tuning.tuning import CatalogError

    try:
        if params.model_catalog_uri and storage.is_gcs(params.model_catalog_uri.strip()):
            with _as_connection(params):
                return params.model_catalog()
        return params.model_catalog()
    except CatalogError as error:  # the same file fails the same way on retry
        raise AirflowFailException(f"model_catalog_uri: {error}") from error


def _training_price(params: PipelineParams) -> float | None:
    from gemini_qa_tuning.tuning import resolve_price

    return resolve_price(params.price_per_million_training_tokens, params.base_model, _model_catalog(params))


def base_model_warnings(params: PipelineParams) -> list[str]:
    """The retirement guard for the run's base model: warnings, or the task fails saying what to choose."""
    from gemini_qa_tuning.tuning import BaseModelError, check_base_model

    try:
        return check_base_model(params.base_model, _today(), _model_catalog(params))
    except BaseModelError as error:  # nothing is paid yet: fail before the refresh
        raise AirflowFailException(str(error)) from error


def champion_warnings(champion: CurrentChampion | None, params: PipelineParams) -> list[str]:
    """Warnings about the champion's base model (retired or retiring within 60 days)."""
    from gemini_qa_tuning.tuning import check_champion_base_model

    if champion is None:
        return []
    record = champion.record
    return check_champion_base_model(record.model, record.base_model, _today(), _model_catalog(params))


# --------------------------------------------------------------------------- dataset
def check_params(raw: Mapping[str, object], dag_id: str) -> PipelineParams:
    """The run's Params as one record, with the owning pipeline filled in; a bad ``conf`` fails here."""
    from dataclasses import replace

    try:
        params = PipelineParams.from_params(raw)
    except PipelineParamsError as error:
        raise AirflowFailException(str(error)) from error
    for warning in base_model_warnings(params):
        logger.warning("%s", warning)
    return replace(params, pipeline_id=params.owner(dag_id))


def refresh_dataset(params: PipelineParams, run_id: str) -> RefreshedDataset:
    """Refresh the examples into ``runs/<run id>/staging/``."""
    from gemini_qa_tuning.dataset import DatasetError
    from gemini_qa_tuning.dataset.pipeline import refresh_dataset as refresh

    staging_uri = storage.join_uri(run_uri(params.gcs_prefix, run_id), "staging")
    try:
        with _as_connection(params):
            # A test split too small to judge the tuned model stops the run here, before anything is paid.
            refreshed = refresh(
                params.dataset_settings(), staging_uri, min_test_questions=params.promotion_min_test_questions
            )
    except DatasetError as error:  # bad settings, bad or missing source, too many rejects, over the limits
        raise AirflowFailException(str(error)) from error  # the same input fails the same way on retry
    except storage.BucketNotFoundError as error:  # the first write under gcs_prefix: a typo in its bucket
        raise AirflowFailException(f"Param gcs_prefix ({params.gcs_prefix}): {error}") from error
    logger.info(
        "Refreshed %s: train %d, validation %d, test %d; %d duplicates dropped; rejects by reason: %s",
        refreshed.source.description,
        refreshed.counts.train,
        refreshed.counts.validation,
        refreshed.counts.test,
        refreshed.duplicates_dropped,
        dict(refreshed.rejects_by_reason),
    )
    return refreshed


def export_dataset(refreshed: RefreshedDataset, params: PipelineParams) -> ExportedDataset:
    """Export the staged splits under ``datasets/<fingerprint>/``."""
    from gemini_qa_tuning.dataset import DatasetError
    from gemini_qa_tuning.dataset.pipeline import export_dataset as export

    try:
        with _as_connection(params):
            exported = export(
                refreshed,
                storage.join_uri(params.gcs_prefix, "datasets"),
                epochs=params.epochs,
                price_per_million_tokens=_training_price(params),
            )
    except DatasetError as error:  # e.g. the staged files were changed after the refresh
        raise AirflowFailException(str(error)) from error
    logger.info(
        "Dataset %s at %s (%d objects written): train %d, validation %d, test %d; training tokens %d; manifest %s",
        exported.fingerprint,
        exported.dataset_uri,
        exported.objects_written,
        exported.counts.train,
        exported.counts.validation,
        exported.counts.test,
        exported.training_tokens,
        exported.manifest_uri,
    )
    return exported


# --------------------------------------------------------------------------- tuning
def find_champion(params: PipelineParams) -> CurrentChampion | None:
    """The champion record and the generation a promotion must find unchanged; None before the first."""
    from gemini_qa_tuning.champion import CorruptChampionRecordError, read_champion

    try:
        with _as_connection(params):
            record, generation = read_champion(params.gcs_prefix)
    except CorruptChampionRecordError as error:  # no retry can repair a hand-edited or truncated record
        raise AirflowFailException(str(error)) from error
    if record is None:
        logger.info("No champion yet: the first tuned model that beats the base model will become one.")
        return None
    logger.info("Current champion: %s (dataset %s)", record.model, record.dataset_fingerprint)
    current = CurrentChampion(record=record, generation=generation)
    for warning in champion_warnings(current, params):
        logger.warning("%s", warning)
    return current


def plan_tuning(exported: ExportedDataset, champion: CurrentChampion | None, params: PipelineParams) -> TuningPlan:
    """Launch, or skip when the data is unchanged; fails the task when the estimate is over the budget."""
    from gemini_qa_tuning.tuning import TuningPlanError, plan_tuning, succeeded_dataset_fingerprints

    hook = _vertex_hook(params)
    try:
        succeeded = succeeded_dataset_fingerprints(hook, exported.fingerprint, pipeline_id=params.owning_pipeline)
    finally:
        hook.close()
    price = _training_price(params)
    try:
        plan = plan_tuning(
            exported.fingerprint,
            champion.record.dataset_fingerprint if champion else None,
            succeeded,
            params.force_retrain,
            exported.training_tokens,
            params.epochs,
            price,
            params.max_training_cost,
            base_model=params.base_model,
        )
    except TuningPlanError as error:
        raise AirflowFailException(str(error)) from error
    logger.info("Tuning plan: %s", plan.reason)
    if plan.launch and plan.estimated_cost_usd is None:
        logger.warning("No price known for %s: launching without a cost estimate.", params.base_model)
    elif plan.launch:
        logger.info(
            "Estimated tuning cost: %.2f USD (%d training tokens × %d epochs × %s per million); budget: %s",
            plan.estimated_cost_usd,
            exported.training_tokens,
            params.epochs,
            price,
            params.max_training_cost if params.max_training_cost is not None else "none",
        )
    return plan


# --------------------------------------------------------------------------- evaluation
def _evaluate(
    role: str,
    model: str,
    exported: ExportedDataset,
    params: PipelineParams,
    run_id: str,
    facts_model: str | None = None,
) -> PredictionRun:
    """Ask ``model`` every test question; resumable under ``runs/<run id>/evaluation/<role>/``.

    The thinking follows the run's catalog facts of ``facts_model`` (the publisher model behind ``model``:
    by default the run's base model, which is the base role itself and the tuned model's base), unless the
    Param ``eval_thinking`` overrides it.
    """
    from gemini_qa_tuning.evaluation import (
        EmptyAnswerShareExceededError,
        EvaluationSettings,
        ModelAccessError,
        ThinkingSettingError,
        run_predictions,
        thinking_for_model,
    )

    try:
        thinking = thinking_for_model(facts_model or params.base_model, params.eval_thinking, _model_catalog(params))
    except ThinkingSettingError as error:  # the same Params give the same answer on a retry
        raise AirflowFailException(f"Param eval_thinking: {error}") from error
    settings = EvaluationSettings(
        concurrency=params.eval_concurrency,
        max_output_tokens=params.eval_max_output_tokens,
        error_share_limit=params.eval_max_error_share,
        requests_per_minute=params.eval_requests_per_minute,
        thinking=thinking,
        empty_share_limit=params.eval_max_empty_share,
    )
    output_prefix = storage.join_uri(run_uri(params.gcs_prefix, run_id), "evaluation")
    hook = _vertex_hook(params)
    logger.info(
        "Evaluating the %s model %s on %s with %s, maxOutputTokens %d",
        role,
        model,
        exported.test_uri,
        thinking.describe(),
        settings.output_cap,
    )
    # Other failures (too many errors, a crash) are retried by Airflow: the retry resumes from the
    # checkpoint and only asks the questions that have no answer yet.
    try:
        with _as_connection(params):
            return run_predictions(hook.get_client(), model, exported.test_uri, output_prefix, settings, slug=role)
    except ModelAccessError as error:  # unknown model or no access: a retry cannot help
        raise AirflowFailException(str(error)) from error
    except EmptyAnswerShareExceededError as error:  # the same cap and thinking give the same answers
        raise AirflowFailException(
            f"{error} In this DAG: raise the Param eval_max_output_tokens (now {params.eval_max_output_tokens}) "
            f"or lower eval_thinking (now {params.eval_thinking!r}; 'auto' is off or the model's minimum); "
            f"eval_max_empty_share ({params.eval_max_empty_share}) sets the tolerated share."
        ) from error
    finally:
        hook.close()


def evaluate_base(exported: ExportedDataset, params: PipelineParams, run_id: str) -> PredictionRun:
    """The base model's answers and scores."""
    return _evaluate("base", params.base_model, exported, params, run_id)


def evaluate_tuned(tuned: TunedModel, exported: ExportedDataset, params: PipelineParams, run_id: str) -> PredictionRun:
    """The tuned model's answers and scores, asked through its endpoint."""
    if not tuned.endpoint:
        raise AirflowFailException(f"Tuning job {tuned.job_name} reports no endpoint; there is nothing to evaluate.")
    return _evaluate("tuned", tuned.endpoint, exported, params, run_id)


def evaluate_champion(
    champion: CurrentChampion | None,
    tuned: TunedModel,
    exported: ExportedDataset,
    params: PipelineParams,
    run_id: str,
) -> PredictionRun:
    """The champion's answers and scores; skipped without a champion, or when another task asks it already."""
    if champion is None:
        raise AirflowSkipException("No champion yet: nothing to evaluate besides the base and tuned models.")
    if champion.model in (params.base_model, tuned.endpoint):
        raise AirflowSkipException(f"The champion {champion.model} is the base or the tuned model, evaluated once.")
    return _evaluate("champion", champion.model, exported, params, run_id, facts_model=champion.record.base_model)


def compare_models(
    base: PredictionRun | None,
    tuned: PredictionRun | None,
    champion: PredictionRun | None,
    params: PipelineParams,
    run_id: str,
) -> ModelComparison:
    """Write ``runs/<run id>/metrics.json``; return its headline numbers.

    Skipped when the base or the tuned model was not evaluated (tuning skipped, or a dry run); the champion
    is optional.
    """
    from gemini_qa_tuning.evaluation import write_metrics_report

    if base is None or tuned is None:
        raise AirflowSkipException("Nothing to compare: this run evaluated no tuned model.")

    metrics_uri = storage.join_uri(run_uri(params.gcs_prefix, run_id), "metrics.json")
    try:
        with _as_connection(params):
            report = write_metrics_report(
                metrics_uri,
                base_predictions_uri=base.predictions_uri,
                tuned_predictions_uri=tuned.predictions_uri,
                champion_predictions_uri=champion.predictions_uri if champion else None,
                seed=params.seed,
                context={"run_id": run_id, "base_model": base.model, "tuned_model": tuned.model},
            )
    except ValueError as error:  # the prediction files cover different questions: a retry reads the same files
        raise AirflowFailException(str(error)) from error
    comparison = ModelComparison(metrics_uri=metrics_uri, headline=report.headline())
    logger.info("Comparison: %s", comparison.to_json())
    return comparison


# --------------------------------------------------------------------------- promotion
def decide_promotion(comparison: ModelComparison, params: PipelineParams) -> PromotionDecision:
    """Apply the promotion policy to this run's ``metrics.json``."""
    from gemini_qa_tuning.evaluation import read_metrics_report
    from gemini_qa_tuning.promotion import PromotionPolicy
    from gemini_qa_tuning.promotion import decide_promotion as decide

    with _as_connection(params):
        report = read_metrics_report(comparison.metrics_uri)
    policy = PromotionPolicy(
        min_f1_gain=params.promotion_min_f1_gain,
        require_significance=params.promotion_require_significance,
        min_test_questions=params.promotion_min_test_questions,
    )
    decision = decide(report, policy)
    logger.info(
        "Promotion: %s. %s",
        "promote the tuned model" if decision.promote else "keep the current champion",
        "; ".join(decision.reasons),
    )
    return decision


def promote_champion(
    exported: ExportedDataset,
    tuned: TunedModel,
    comparison: ModelComparison,
    champion: CurrentChampion | None,
    params: PipelineParams,
    run_id: str,
) -> ChampionRecord:
    """Write the new champion record, unless another run changed the champion since this run read it."""
    from gemini_qa_tuning.champion import new_champion_record, write_champion

    if not tuned.endpoint:
        raise AirflowFailException(f"Tuning job {tuned.job_name} reports no endpoint; nothing can be promoted.")
    record = new_champion_record(
        model=tuned.endpoint,
        base_model=params.base_model,
        dataset_fingerprint=exported.fingerprint,
        tuned_model=tuned.tuned_model,
        tuning_job=tuned.job_name,
        headline=comparison.headline.to_json(),
        promoted_at=datetime.now(UTC).isoformat(timespec="seconds"),
        run_id=run_id,
    )
    try:
        with _as_connection(params):
            write_champion(params.gcs_prefix, record, expected_generation=champion.generation if champion else 0)
    except storage.ObjectChangedError as error:
        raise AirflowFailException(
            f"The champion changed while this run was evaluating ({error}); nothing was promoted. "
            "Trigger a new run to compare against the new champion."
        ) from error
    logger.info("Promoted %s to champion (was: %s)", record.model, champion.model if champion else "none")
    return record


def summarize_run(summary: RunSummary, params: PipelineParams, champion: CurrentChampion | None = None) -> RunSummary:
    """Write ``runs/<run id>/summary.json``, with the run's retirement warnings (base model and champion)."""
    from dataclasses import replace

    warnings = tuple(base_model_warnings(params) + champion_warnings(champion, params))
    summary = replace(summary, warnings=tuple(dict.fromkeys(summary.warnings + warnings)))
    written = replace(summary, summary_uri=summary_uri(params.gcs_prefix, summary.run_id))
    with _as_connection(params):
        write_run_summary(params.gcs_prefix, summary.run_id, written.to_json())
    logger.info("Run summary written to %s", written.summary_uri)
    return written
