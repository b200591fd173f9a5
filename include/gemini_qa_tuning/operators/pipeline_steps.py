"""The bodies of the pipeline DAG's Python tasks: translate Params and XCom into library calls.

Each function takes the DAG's ``params`` (and what upstream tasks returned), calls one domain
function, logs what a person watching the run wants to know, and turns a domain error that no retry
can fix into ``AirflowFailException`` so Airflow does not retry it. The DAG file only wires them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from gemini_qa_tuning import storage
from gemini_qa_tuning.run_summary import run_uri, write_run_summary

logger = logging.getLogger(__name__)


def training_price(params: Mapping[str, Any]) -> float | None:
    """USD per million training tokens: the Param, else the base model's list price (None if unknown)."""
    from gemini_qa_tuning.tuning import price_per_million_tokens

    price = params.get("price_per_million_training_tokens")
    return float(price) if price is not None else price_per_million_tokens(str(params["base_model"]))


def run_dataset_refresh(params: Mapping[str, Any], run_id: str) -> dict[str, Any]:
    """Refresh the examples into ``runs/<run id>/staging/``; return the refresh summary."""
    from gemini_qa_tuning.dataset import DatasetError, DatasetSettings
    from gemini_qa_tuning.dataset.pipeline import refresh_dataset

    staging_uri = storage.join_uri(run_uri(params["gcs_prefix"], run_id), "staging")
    try:
        settings = DatasetSettings.from_params(params)  # takes the Params that are settings, ignores the rest
        summary = refresh_dataset(settings, staging_uri)
    except DatasetError as error:  # bad settings, bad or missing source, too many rejects, over the limits
        raise AirflowFailException(str(error)) from error  # the same input fails the same way on retry
    logger.info(
        "Refreshed %s: %s examples after cleaning; %s duplicates dropped; rejects by reason: %s",
        summary.get("source", {}).get("description", "the source"),
        summary.get("counts"),
        summary.get("duplicates_dropped"),
        summary.get("rejects_by_reason"),
    )
    return summary


def run_dataset_export(refreshed: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """Export the staged splits under ``datasets/<fingerprint>/``; return URIs and the manifest summary."""
    from gemini_qa_tuning.dataset import DatasetError
    from gemini_qa_tuning.dataset.pipeline import export_dataset

    try:
        exported = export_dataset(
            refreshed,
            storage.join_uri(params["gcs_prefix"], "datasets"),
            epochs=int(params["epochs"]),
            price_per_million_tokens=training_price(params),
        )
    except DatasetError as error:  # e.g. the staged files were changed after the refresh
        raise AirflowFailException(str(error)) from error
    logger.info(
        "Dataset %s at %s (%d objects written): counts %s, rejects by reason %s, duplicates dropped %s, "
        "training tokens %s; manifest %s",
        exported["fingerprint"],
        exported["dataset_uri"],
        exported["objects_written"],
        exported["counts"],
        exported["rejects_by_reason"],
        exported["duplicates_dropped"],
        exported["training_tokens"],
        exported["manifest_uri"],
    )
    return exported


def plan_tuning_run(
    exported: Mapping[str, Any], champion: Mapping[str, Any] | None, params: Mapping[str, Any]
) -> dict[str, Any]:
    """Whether to launch a tuning job (``launch``), why (``reason``) and at what estimated cost.

    Skips when the data is unchanged; fails the task when the estimate is over ``max_training_cost``.
    """
    from gemini_qa_tuning.dataset.decisions import TrainingBudgetExceededError, check_training_budget, decide_skip
    from gemini_qa_tuning.hooks.genai import GenAIVertexHook
    from gemini_qa_tuning.tuning import succeeded_dataset_fingerprints

    fingerprint = exported["fingerprint"]
    hook = GenAIVertexHook(gcp_conn_id=params["gcp_conn_id"])
    try:
        # The launch operator's default pipeline_id is the DAG id: look up this pipeline's jobs only.
        from airflow.sdk import get_current_context

        pipeline_id = params.get("pipeline_id") or get_current_context()["dag"].dag_id
        tuned = succeeded_dataset_fingerprints(hook, fingerprint, pipeline_id=pipeline_id)
    finally:
        hook.close()
    skip, reason = decide_skip(
        fingerprint, (champion or {}).get("dataset_fingerprint"), tuned, bool(params["force_retrain"])
    )
    logger.info("Tuning plan: %s", reason)
    if skip:
        return {"launch": False, "reason": reason, "estimated_cost_usd": None}
    price = training_price(params)
    budget = params.get("max_training_cost")
    if price is None:
        if budget is not None:
            raise AirflowFailException(
                f"No list price is known for base model {params['base_model']!r}, so the max_training_cost "
                "budget cannot be checked. Set the price_per_million_training_tokens Param."
            )
        logger.warning("No price known for %s: launching without a cost estimate.", params["base_model"])
        return {"launch": True, "reason": reason, "estimated_cost_usd": None}
    try:
        cost = check_training_budget(int(exported["training_tokens"]), int(params["epochs"]), price, budget)
    except TrainingBudgetExceededError as error:
        raise AirflowFailException(str(error)) from error
    logger.info(
        "Estimated tuning cost: %.2f USD (%s training tokens × %s epochs × %s per million); budget: %s",
        cost,
        exported["training_tokens"],
        params["epochs"],
        price,
        budget if budget is not None else "none",
    )
    return {"launch": True, "reason": reason, "estimated_cost_usd": round(cost, 4)}


def read_current_champion(params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The champion record plus the ``generation`` a promotion must find unchanged; None before the first."""
    from gemini_qa_tuning.champion import read_champion

    champion, generation = read_champion(params["gcs_prefix"])
    if champion is None:
        logger.info("No champion yet: the first tuned model that beats the base model will become one.")
        return None
    logger.info("Current champion: %s (dataset %s)", champion.model, champion.dataset_fingerprint)
    return {**champion.to_dict(), "generation": generation}


def run_model_evaluation(
    role: str,
    model: str | None,
    test_uri: str,
    params: Mapping[str, Any],
    run_id: str,
    evaluated_elsewhere: Sequence[str] = (),
) -> dict[str, Any]:
    """Ask ``model`` every question of ``test_uri``; resumable under ``runs/<run id>/evaluation/<role>/``.

    Skips when there is no model, or when it is one that another task of this run already evaluates.
    """
    if not model or model == "None":
        raise AirflowSkipException(f"No {role} model to evaluate in this run.")
    if model in evaluated_elsewhere:
        raise AirflowSkipException(f"The {role} model {model} is evaluated by another task of this run already.")

    from gemini_qa_tuning.evaluation import EvaluationSettings, ModelAccessError, run_predictions
    from gemini_qa_tuning.hooks.genai import GenAIVertexHook

    settings = EvaluationSettings(
        concurrency=int(params["eval_concurrency"]),
        max_output_tokens=int(params["eval_max_output_tokens"]),
        error_share_limit=float(params["eval_max_error_share"]),
        requests_per_minute=params.get("eval_requests_per_minute"),
    )
    output_prefix = storage.join_uri(run_uri(params["gcs_prefix"], run_id), "evaluation")
    hook = GenAIVertexHook(gcp_conn_id=params["gcp_conn_id"])
    logger.info("Evaluating the %s model %s on %s", role, model, test_uri)
    # Other failures (too many errors, a crash) are retried by Airflow: the retry resumes from the
    # checkpoint and only asks the questions that have no answer yet.
    try:
        summary = run_predictions(hook.get_client(), model, test_uri, output_prefix, settings, slug=role)
    except ModelAccessError as error:  # unknown model or no access: a retry cannot help
        raise AirflowFailException(str(error)) from error
    finally:
        hook.close()
    return {"role": role, **summary}


def run_model_comparison(
    base: Mapping[str, Any],
    tuned: Mapping[str, Any],
    champion: Mapping[str, Any] | None,
    params: Mapping[str, Any],
    run_id: str,
) -> dict[str, Any]:
    """Write ``runs/<run id>/metrics.json``; return the headline numbers."""
    from gemini_qa_tuning.evaluation import report_summary, write_metrics_report

    metrics_uri = storage.join_uri(run_uri(params["gcs_prefix"], run_id), "metrics.json")
    try:
        report = write_metrics_report(
            metrics_uri,
            base_predictions_uri=base["predictions_uri"],
            tuned_predictions_uri=tuned["predictions_uri"],
            champion_predictions_uri=champion["predictions_uri"] if champion else None,
            seed=int(params["seed"]),
            context={"run_id": run_id, "base_model": base.get("model"), "tuned_model": tuned.get("model")},
        )
    except ValueError as error:  # the prediction files cover different questions: a retry reads the same files
        raise AirflowFailException(str(error)) from error
    summary = {"metrics_uri": metrics_uri, **report_summary(report)}
    logger.info("Comparison: %s", summary)
    return summary


def judge_promotion(comparison: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """Apply the promotion policy to this run's ``metrics.json``; log and return the decision."""
    import json

    from gemini_qa_tuning.promotion import PromotionPolicy, decide_promotion

    report = json.loads(storage.read_text(comparison["metrics_uri"]))
    policy = PromotionPolicy(
        min_f1_gain=float(params["promotion_min_f1_gain"]),
        require_significance=bool(params["promotion_require_significance"]),
    )
    decision = decide_promotion(report, policy).as_dict()
    logger.info(
        "Promotion: %s. %s",
        "promote the tuned model" if decision["promote"] else "keep the current champion",
        "; ".join(decision["reasons"]),
    )
    return decision


def promote_tuned_model(
    exported: Mapping[str, Any],
    tuned: Mapping[str, Any],
    comparison: Mapping[str, Any],
    champion: Mapping[str, Any] | None,
    params: Mapping[str, Any],
    run_id: str,
) -> dict[str, Any]:
    """Write the new champion record, unless another run changed the champion since this run read it."""
    from datetime import UTC, datetime

    from gemini_qa_tuning.champion import ChampionRecord, write_champion

    record = ChampionRecord(
        model=tuned["endpoint"],
        dataset_fingerprint=exported["fingerprint"],
        tuned_model=tuned.get("tuned_model"),
        tuning_job=tuned.get("job_name"),
        metrics={key: comparison[key] for key in ("tuned_exact_match", "tuned_f1", "questions") if key in comparison},
        promoted_at=datetime.now(UTC).isoformat(timespec="seconds"),
        run_id=run_id,
    )
    try:
        write_champion(params["gcs_prefix"], record, expected_generation=int((champion or {}).get("generation", 0)))
    except storage.ObjectChangedError as error:
        raise AirflowFailException(
            f"The champion changed while this run was evaluating ({error}); nothing was promoted. "
            "Trigger a new run to compare against the new champion."
        ) from error
    previous = (champion or {}).get("model", "none")
    logger.info("Promoted %s to champion (was: %s)", record.model, previous)
    return record.to_dict()


def write_pipeline_summary(params: Mapping[str, Any], run_id: str, ti: Any) -> dict[str, Any]:
    """Collect what each task returned into ``runs/<run id>/summary.json``."""
    pulled = {
        task_id: ti.xcom_pull(task_ids=task_id)
        for task_id in (
            "export_dataset",
            "launch_tuning_job",
            "wait_for_tuning_job",
            "compare_models",
            "promote_champion",
        )
    }
    exported = pulled["export_dataset"] or {}
    summary = {
        "dataset": {
            key: exported.get(key)
            for key in (
                "fingerprint",
                "dataset_uri",
                "manifest_uri",
                "counts",
                "rejects_by_reason",
                "duplicates_dropped",
                "training_tokens",
                "cost_estimate",
                "objects_written",
            )
        },
        "tuning_plan": ti.xcom_pull(task_ids="plan_tuning", key="plan"),
        "tuning_job": pulled["launch_tuning_job"],
        "tuned_model": pulled["wait_for_tuning_job"],
        "evaluation": pulled["compare_models"],
        "promotion": ti.xcom_pull(task_ids="decide_promotion", key="decision"),
        "promoted_champion": pulled["promote_champion"],
    }
    uri = write_run_summary(params["gcs_prefix"], run_id, summary)
    logger.info("Run summary written to %s", uri)
    return {"summary_uri": uri, **summary}
