"""The bodies of the pipeline DAG's tasks: typed records in, typed records out, no task ids.

Each step calls the domain, logs what a person watching the run wants to know, and turns a domain error
that no retry can fix into ``AirflowFailException`` so Airflow does not retry it. Every Cloud Storage and
Vertex AI call of a step acts as the run's connection (``gcp_conn_id`` + ``impersonation_chain``): one
identity for both.
"""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

# The Google provider's compat shim: airflow.sdk.exceptions from Airflow 3.2, airflow.exceptions on 3.1.
from airflow.providers.common.compat.sdk import AirflowFailException, AirflowSkipException

from gemini_qa_tuning import storage
from gemini_qa_tuning.contracts import (
    ChampionRecord,
    CheckpointSelection,
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
    from gemini_qa_tuning.evaluation import EvaluationSettings
    from gemini_qa_tuning.evaluation.cost import EvaluationCost
    from gemini_qa_tuning.hooks.genai import GenAIVertexHook
    from gemini_qa_tuning.reporting import RunReport
    from gemini_qa_tuning.tuning import ModelCatalog

__all__ = [
    "ChampionRecord",
    "CheckpointSelection",
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
    "as_connection",
    "check_params",
    "compare_models",
    "decide_promotion",
    "evaluate_base",
    "evaluate_champion",
    "evaluate_tuned",
    "evaluation_settings",
    "export_dataset",
    "find_champion",
    "plan_tuning",
    "promote_champion",
    "record_verdict",
    "refresh_dataset",
    "run_model_catalog",
    "select_checkpoint",
    "summarize_run",
    "sync_champion_alias",
    "today_utc",
    "vertex_hook",
]

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- what every step reaches the same way
# The run's Google Cloud identity, its Vertex hook, today's date and its model catalog. The other step
# modules (batch_steps, cleanup_steps, rollback_steps) and the evaluation operator use these too, so they
# are public; tests replace ``today_utc`` and ``vertex_hook`` on this module.
@contextlib.contextmanager
def as_connection(params: PipelineParams, hook: GenAIVertexHook | None = None) -> Iterator[None]:
    """Every storage call inside acts as the run's connection (Vertex calls use the same one).

    A task that already holds the run's Vertex hook passes it, so the connection's credentials are
    resolved once and both clients share them.
    """
    from gemini_qa_tuning.hooks.storage_identity import storage_as_connection, storage_identity_of

    if hook is not None:
        with storage.using_identity(storage_identity_of(hook)):
            yield
        return
    with storage_as_connection(params.gcp_conn_id, list(params.impersonation_chain) or None):
        yield


def vertex_hook(params: PipelineParams) -> GenAIVertexHook:
    """The run's google-genai hook: the Params' connection and impersonation chain."""
    from gemini_qa_tuning.hooks.genai import GenAIVertexHook

    return GenAIVertexHook(gcp_conn_id=params.gcp_conn_id, impersonation_chain=list(params.impersonation_chain) or None)


def today_utc() -> date:
    """Today in UTC: the day the retirement guard judges a model on (a seam for tests)."""
    return datetime.now(UTC).date()


def run_model_catalog(params: PipelineParams) -> ModelCatalog:
    """The run's model catalog (``model_catalog_uri``, else the packaged one); a bad file fails the task."""
    from gemini_qa_tuning.tuning import CatalogError

    try:
        if params.model_catalog_uri and storage.is_gcs(params.model_catalog_uri.strip()):
            with as_connection(params):
                return params.model_catalog()
        return params.model_catalog()
    except CatalogError as error:  # the same file fails the same way on retry
        raise AirflowFailException(f"model_catalog_uri: {error}") from error


def _training_price(params: PipelineParams) -> float | None:
    from gemini_qa_tuning.tuning import resolve_price

    return resolve_price(params.price_per_million_training_tokens, params.base_model, run_model_catalog(params))


def base_model_warnings(params: PipelineParams) -> list[str]:
    """The retirement guard for the run's base model: warnings, or the task fails saying what to choose."""
    from gemini_qa_tuning.tuning import BaseModelError, check_base_model

    try:
        return check_base_model(params.base_model, today_utc(), run_model_catalog(params))
    except BaseModelError as error:  # nothing is paid yet: fail before the refresh
        raise AirflowFailException(str(error)) from error


def champion_warnings(champion: CurrentChampion | None, params: PipelineParams) -> list[str]:
    """Warnings about the champion's base model (retired or retiring within 60 days)."""
    from gemini_qa_tuning.tuning import check_champion_base_model

    if champion is None:
        return []
    record = champion.record
    return check_champion_base_model(record.model, record.base_model, today_utc(), run_model_catalog(params))


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
    from gemini_qa_tuning.model_registry import InvalidAliasError, check_alias

    try:
        check_alias(params.champion_alias)
    except InvalidAliasError as error:
        raise AirflowFailException(f"Param champion_alias: {error}") from error
    return replace(params, pipeline_id=params.owner(dag_id))


def refresh_dataset(params: PipelineParams, run_id: str) -> RefreshedDataset:
    """Refresh the examples into ``runs/<run id>/staging/``."""
    from gemini_qa_tuning.dataset import DatasetError
    from gemini_qa_tuning.dataset.pipeline import refresh_dataset as refresh

    staging_uri = storage.join_uri(run_uri(params.gcs_prefix, run_id), "staging")
    try:
        with as_connection(params):
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
        with as_connection(params):
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
        with as_connection(params):
            record, generation = read_champion(params.gcs_prefix)
    except CorruptChampionRecordError as error:  # no retry can repair a hand-edited or truncated record
        raise AirflowFailException(str(error)) from error
    if record is None:
        logger.info("No champion yet: the first tuned model that beats the base model will become one.")
        return None
    logger.info("Current champion: %s (dataset %s)", record.model, record.dataset_fingerprint)
    sync_champion_alias(params, required=False)  # repairs an alias a failed promotion or rollback left behind
    current = CurrentChampion(record=record, generation=generation)
    for warning in champion_warnings(current, params):
        logger.warning("%s", warning)
    return current


def plan_tuning(exported: ExportedDataset, champion: CurrentChampion | None, params: PipelineParams) -> TuningPlan:
    """Skip what was judged, judge what was paid for, launch what was never tuned (within the budget).

    The key is the dataset fingerprint and the tuning config hash of what this run would tune (the launch
    labels its job with the same hash). Fails the task when the start cannot be honoured (``tune_from``),
    when a verdict file is unreadable, or when a launch's estimate is over the budget.
    """
    from gemini_qa_tuning.tuning import TuningConfig, TuningPlanError, resolve_price
    from gemini_qa_tuning.tuning.lineage import TuningStartError, choose_tuning_start
    from gemini_qa_tuning.tuning.planning import PlanAction, decide_plan_action, find_paid_job, plan_tuning_run
    from gemini_qa_tuning.verdicts import CorruptVerdictError, read_verdict

    catalog = run_model_catalog(params)
    record = champion.record if champion else None
    try:
        start = choose_tuning_start(
            base_model=params.base_model,
            tune_from=params.tune_from,
            rebase_on_retirement=params.rebase_on_retirement,
            champion_tuned_model=record.tuned_model if record else None,
            champion_base_model=record.base_model if record else None,
            has_champion=record is not None,
            today=today_utc(),
            catalog=catalog,
        )
    except TuningStartError as error:  # the same Params and champion give the same answer on retry
        raise AirflowFailException(str(error)) from error
    for warning in start.warnings:
        logger.warning("%s", warning)
    # The settings that make the config hash, as the launch builds them from the same values.
    config = TuningConfig(
        base_model=start.base_model,
        epochs=params.epochs,
        adapter_size=params.adapter_size,
        learning_rate_multiplier=params.learning_rate_multiplier,
        tune_from=start.tune_from,
        pre_tuned_model=start.pre_tuned_model,
    )
    config_hash = config.config_hash()
    identity = config.identity_labels(exported.fingerprint, pipeline_id=params.owning_pipeline)
    hook = vertex_hook(params)
    try:
        paid_job = find_paid_job(hook, identity)
    finally:
        hook.close()
    try:
        with as_connection(params):
            verdict = read_verdict(params.gcs_prefix, exported.fingerprint, config_hash)
    except CorruptVerdictError as error:
        raise AirflowFailException(str(error)) from error
    judged = verdict.describe() if verdict else None
    if judged is None and paid_job is not None and record is not None and record.tuning_job == paid_job.job_name:
        judged = "promoted: it is the current champion's tuning job"  # promoted before verdicts were kept
    champion_is_this_model = record is not None and (
        (verdict is None and record.dataset_fingerprint == exported.fingerprint)
        or (verdict is not None and verdict.promoted and verdict.job_name == record.tuning_job)
    )
    if judged is not None and champion_is_this_model:
        judged += "; the current champion was tuned on this data and config"
    action, reason = decide_plan_action(
        fingerprint=exported.fingerprint,
        config_hash=config_hash,
        judged=judged,
        paid_job=paid_job,
        force_retrain=params.force_retrain,
    )
    price = resolve_price(params.price_per_million_training_tokens, start.base_model, catalog)
    try:
        plan = plan_tuning_run(
            action=action,
            reason=reason,
            config_hash=config_hash,
            paid_job=paid_job,
            training_tokens=exported.training_tokens,
            epochs=params.epochs,
            price=price,
            budget=params.max_training_cost,
            base_model=start.base_model,
            tune_from=start.tune_from,
            pre_tuned_model=start.pre_tuned_model,
            warnings=start.warnings,
        )
    except TuningPlanError as error:
        raise AirflowFailException(str(error)) from error
    logger.info("Tuning plan (%s): %s", plan.action, plan.reason)
    if plan.action is PlanAction.LAUNCH and plan.estimated_cost_usd is None:
        logger.warning("No price known for %s: launching without a cost estimate.", start.base_model)
    elif plan.action is PlanAction.LAUNCH:
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
def evaluation_settings(params: PipelineParams, facts_model: str | None = None) -> EvaluationSettings:
    """How every evaluation of this run asks a model: the Params' pacing, caps and the thinking of ``facts_model``."""
    from gemini_qa_tuning.evaluation import EvaluationSettings, ThinkingSettingError, thinking_for_model

    try:
        thinking = thinking_for_model(facts_model or params.base_model, params.eval_thinking, run_model_catalog(params))
    except ThinkingSettingError as error:  # the same Params give the same answer on a retry
        raise AirflowFailException(f"Param eval_thinking: {error}") from error
    return EvaluationSettings(
        concurrency=params.eval_concurrency,
        max_output_tokens=params.eval_max_output_tokens,
        error_share_limit=params.eval_max_error_share,
        requests_per_minute=params.eval_requests_per_minute,
        thinking=thinking,
        empty_share_limit=params.eval_max_empty_share,
    )


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
    from gemini_qa_tuning.evaluation import EmptyAnswerShareExceededError, ModelAccessError, run_predictions

    settings = evaluation_settings(params, facts_model)
    thinking = settings.thinking
    assert thinking is not None  # evaluation_settings always chooses one
    output_prefix = storage.join_uri(run_uri(params.gcs_prefix, run_id), "evaluation")
    hook = vertex_hook(params)
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
        with as_connection(params, hook):
            # Airflow stops a task with SIGTERM (SIGKILL 5 s later): stop asking, save the answers in hand.
            return run_predictions(
                hook.get_client(),
                model,
                exported.test_uri,
                output_prefix,
                settings,
                slug=role,
                graceful_stop_signals=(signal.SIGTERM,),
            )
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


def select_checkpoint(
    tuned: TunedModel, exported: ExportedDataset, params: PipelineParams, run_id: str
) -> CheckpointSelection:
    """Score every checkpoint on a validation sample; make the best the model's default checkpoint.

    A no-op (nothing asked, nothing changed) with fewer than two checkpoints, no validation split or
    ``checkpoint_eval_questions`` 0. The answers are resumable under
    ``runs/<run id>/checkpoint_selection/``; setting the default is idempotent, so a retry repeats neither.
    """
    from dataclasses import replace

    from google.genai import errors as genai_errors

    from gemini_qa_tuning.evaluation import EmptyAnswerShareExceededError, ModelAccessError, run_predictions
    from gemini_qa_tuning.evaluation.checkpoint_selection import (
        QUESTIONS_FILE,
        CheckpointSelectionError,
        no_selection,
        score_checkpoints,
        selection_not_needed,
        write_validation_questions,
    )

    limit, seed = params.checkpoint_eval_questions, params.seed
    try:
        reason = selection_not_needed(tuned, exported.validation_uri, limit)
    except CheckpointSelectionError as error:
        raise AirflowFailException(str(error)) from error
    if reason is not None:
        logger.info("No checkpoint selection: %s", reason)
        return no_selection(tuned, reason, question_limit=limit, seed=seed)
    assert exported.validation_uri is not None  # selection_not_needed said a choice is needed
    if not tuned.tuned_model:
        raise AirflowFailException(f"Tuning job {tuned.job_name} reports no tuned model; no checkpoint can be set.")
    output_prefix = storage.join_uri(run_uri(params.gcs_prefix, run_id), "checkpoint_selection")
    questions_uri = storage.join_uri(output_prefix, QUESTIONS_FILE)
    settings = evaluation_settings(params)  # a checkpoint is the run's base model, tuned
    hook = vertex_hook(params)
    try:
        with as_connection(params, hook):
            count = write_validation_questions(exported.validation_uri, questions_uri, limit, seed)
            logger.info(
                "Scoring %d checkpoints of %s on %d validation questions (%s)",
                len(tuned.checkpoints),
                tuned.tuned_model,
                count,
                questions_uri,
            )
            selection = score_checkpoints(
                tuned,
                questions_uri,
                lambda model, uri, slug: run_predictions(
                    hook.get_client(), model, uri, output_prefix, settings, slug=slug
                ),
                question_limit=limit,
                seed=seed,
            )
        chosen = selection.chosen_checkpoint_id
        assert chosen is not None  # score_checkpoints always chooses
        try:
            hook.set_default_checkpoint(tuned.tuned_model, chosen)
        except genai_errors.ClientError as error:
            if error.code in (408, 429):  # quota or timeout: a task retry may get through
                raise
            # Any other 4xx: the same request is refused again on a retry.
            raise AirflowFailException(
                f"Vertex refused to make checkpoint {chosen} the default of {tuned.tuned_model}: {error}. "
                "Check the model in the Vertex AI console; set checkpoint_eval_questions to 0 to keep its default."
            ) from error
    except CheckpointSelectionError as error:  # the same files give the same answer on a retry
        raise AirflowFailException(str(error)) from error
    except ModelAccessError as error:  # a checkpoint endpoint is unknown or not ours: a retry cannot help
        raise AirflowFailException(str(error)) from error
    except EmptyAnswerShareExceededError as error:  # the same cap and thinking give the same answers
        raise AirflowFailException(
            f"{error} In this DAG: raise the Param eval_max_output_tokens or lower eval_thinking."
        ) from error
    finally:
        hook.close()
    selection = replace(selection, default_checkpoint_set=True)
    logger.info("%s\nCheckpoint %s is now the default of %s.", selection.describe(), chosen, tuned.tuned_model)
    return selection


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
        with as_connection(params):
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

    with as_connection(params):
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
    plan: TuningPlan,
    tuned: TunedModel,
    comparison: ModelComparison,
    champion: CurrentChampion | None,
    params: PipelineParams,
    run_id: str,
) -> ChampionRecord:
    """Write the new champion record, unless another run changed the champion since this run read it;
    then move the Model Registry alias to the promoted version (see :func:`sync_champion_alias`).

    The record comes first: its conditional write decides which of several racing runs wins (and writes
    the history entry); the alias follows the record, so a failure in between is repaired by the retry
    or the next run, never by guessing.
    """
    from gemini_qa_tuning.champion import new_champion_record, write_champion

    if not tuned.endpoint:
        raise AirflowFailException(f"Tuning job {tuned.job_name} reports no endpoint; nothing can be promoted.")
    record = new_champion_record(
        model=tuned.endpoint,
        base_model=plan.base_model or params.base_model,  # the plan's: a rebase tunes the successor
        dataset_fingerprint=exported.fingerprint,
        tuned_model=tuned.tuned_model,
        tuning_job=tuned.job_name,
        headline=comparison.headline.to_json(),
        promoted_at=datetime.now(UTC).isoformat(timespec="seconds"),
        run_id=run_id,
        alias=params.champion_alias,
    )
    try:
        with as_connection(params):
            record = write_champion(
                params.gcs_prefix, record, expected_generation=champion.generation if champion else 0
            )
    except storage.ObjectChangedError as error:
        raise AirflowFailException(
            f"The champion changed while this run was evaluating ({error}); nothing was promoted. "
            "Trigger a new run to compare against the new champion."
        ) from error
    logger.info("Promoted %s to champion (was: %s)", record.model, champion.model if champion else "none")
    sync_champion_alias(params)
    return record


def sync_champion_alias(params: PipelineParams, *, required: bool = True) -> str | None:
    """Give the champion's Model Registry version its alias and take it from earlier champions.

    Idempotent: it does only what is missing, so it also repairs a promotion or rollback that failed
    after its record write. With ``required=False`` (the next run's ``find_champion``), a champion whose
    model is gone only warns. Returns what changed, for the logs and the run summary.
    """
    from gemini_qa_tuning.champion import read_champion_state
    from gemini_qa_tuning.champion_alias import alias_targets
    from gemini_qa_tuning.hooks.model_registry import model_registry_for
    from gemini_qa_tuning.model_registry import reconcile_alias

    with as_connection(params):
        state = read_champion_state(params.gcs_prefix)
    if state.record is None or not state.record.alias:
        return None  # nothing promoted yet, or a record from before the alias
    target, others = alias_targets(state)
    if target is None and not others:
        return None  # a publisher model serves: it has no registry version
    hook = vertex_hook(params)
    registry = model_registry_for(hook)
    try:
        change = reconcile_alias(registry, state.record.alias, target, others)
    except LookupError as error:
        if required:
            raise AirflowFailException(str(error)) from error
        logger.warning("%s", error)
        return None
    finally:
        registry.close()
        hook.close()
    logger.info("Champion alias: %s", change.describe())
    return change.describe()


def record_verdict(
    exported: ExportedDataset,
    plan: TuningPlan,
    tuned: TunedModel | None,
    comparison: ModelComparison | None,
    decision: PromotionDecision | None,
    params: PipelineParams,
    run_id: str,
) -> str:
    """Record the judgement of the tuned model (promoted or rejected, with its numbers); its URI.

    Runs once the decision was carried out (the promotion written, or the champion kept), so the next
    run's plan skips this data and config only when that really happened. Skipped when this run judged
    nothing (tuning skipped, or a dry run).
    """
    from gemini_qa_tuning.verdicts import Verdict, write_verdict

    if tuned is None or comparison is None or decision is None:
        raise AirflowSkipException("This run judged no tuned model: there is no verdict to record.")
    if plan.config_hash is None:
        raise AirflowFailException(
            "The tuning plan has no config hash (written by an older version of the pipeline); the verdict "
            "cannot be keyed. Re-run the pipeline: the rerun plans with the config hash and judges the model."
        )
    verdict = Verdict(
        dataset_fingerprint=exported.fingerprint,
        config_hash=plan.config_hash,
        promoted=decision.promote,
        reasons=decision.reasons,
        headline=comparison.headline,
        metrics_uri=comparison.metrics_uri,
        job_name=tuned.job_name,
        model=tuned.endpoint,
        tuned_model=tuned.tuned_model,
        run_id=run_id,
        decided_at=datetime.now(UTC).isoformat(timespec="seconds"),
        pipeline_id=params.pipeline_id,
    )
    with as_connection(params):
        uri = write_verdict(params.gcs_prefix, verdict)
    logger.info("Verdict on %s (job %s): %s; written to %s", tuned.endpoint, tuned.job_name, verdict.describe(), uri)
    return uri


def summarize_run(summary: RunSummary, params: PipelineParams, champion: CurrentChampion | None = None) -> RunSummary:
    """Write ``runs/<run id>/summary.json``, with the run's warnings (retirement of the base model and the
    champion, and the tuning plan's), and the run's HTML report ``runs/<run id>/report.html`` beside its
    ``metrics.json``."""
    from dataclasses import replace

    from gemini_qa_tuning.reporting import report_uri, write_run_report

    warnings = tuple(base_model_warnings(params) + champion_warnings(champion, params))
    if summary.tuning_plan is not None:  # where the job started: tune_from fallback, rebase
        warnings += summary.tuning_plan.warnings
    summary = replace(summary, warnings=tuple(dict.fromkeys(summary.warnings + warnings)))
    summary = replace(summary, evaluation_cost=_evaluation_cost(summary, params, champion))
    written = replace(
        summary,
        summary_uri=summary_uri(params.gcs_prefix, summary.run_id),
        report_uri=report_uri(params.gcs_prefix, summary.run_id),
    )
    duration = _tuning_duration_seconds(written, params)
    with as_connection(params):
        report = _gather_report(written, params, duration)  # reads every file before anything is written
        write_run_summary(params.gcs_prefix, summary.run_id, written.to_json())
        write_run_report(report, str(written.report_uri))
    logger.info("Run summary written to %s; report: %s", written.summary_uri, written.report_uri)
    return written


def _evaluation_cost(
    summary: RunSummary, params: PipelineParams, champion: CurrentChampion | None
) -> EvaluationCost | None:
    """What this run's evaluation costs online and in batch (issue 13); ``None`` when nothing was evaluated."""
    from gemini_qa_tuning.eval_mode import choose_eval_mode
    from gemini_qa_tuning.evaluation.cost import estimate_evaluation_cost, inference_price

    dataset = summary.dataset
    if dataset is None or summary.evaluation is None:
        return None
    evaluated_champion = champion is not None and champion.model not in (
        params.base_model,
        summary.tuned_model.endpoint if summary.tuned_model else None,
    )
    try:
        output_cap = evaluation_settings(params).output_cap
    except AirflowFailException:  # the thinking Param was refused: evaluation did not run with it
        return None
    return estimate_evaluation_cost(
        mode=choose_eval_mode(params.eval_mode, dataset.counts.test, params.batch_min_questions),
        models=2 + int(evaluated_champion),
        questions=dataset.counts.test,
        input_tokens_per_model=dataset.test_prompt_tokens,
        output_tokens_per_answer=output_cap,
        price=inference_price(params.base_model),  # a tuned model is billed at its base model's price
    )


# --------------------------------------------------------------------------- the run report
def _gather_report(summary: RunSummary, params: PipelineParams, tuning_duration_seconds: float | None) -> RunReport:
    """The run report's content; the history comes from the verdicts recorded under the prefix."""
    from gemini_qa_tuning.reporting import VerdictHistoryReader, gather_run_report

    return gather_run_report(
        summary,
        VerdictHistoryReader(params.gcs_prefix),
        tuning_duration_seconds=tuning_duration_seconds,
    )


def _tuning_duration_seconds(summary: RunSummary, params: PipelineParams) -> float | None:
    """The tuning job's create-to-end time from Vertex; ``None`` when there is no finished job."""
    job_name = summary.tuning_job.job_name if summary.tuning_job else None
    if not job_name or summary.tuned_model is None:
        return None
    hook = vertex_hook(params)
    try:
        job = hook.get_tuning_job(job_name)
    except Exception as error:  # the report then says "unknown": a lookup for a page must not fail the run
        logger.warning("Could not read tuning job %s for the report's duration: %s", job_name, error)
        return None
    finally:
        hook.close()
    created, ended = getattr(job, "create_time", None), getattr(job, "end_time", None)
    if not isinstance(created, datetime) or not isinstance(ended, datetime):
        return None
    return (ended - created).total_seconds()
