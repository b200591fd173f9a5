"""Collect a run's report from what the run wrote: its summary, ``metrics.json``, the predictions per
model, the test questions, the rejects of the export, and the history of past runs.

Every number shown comes from those files as written (``metrics.json`` for the scores and the paired
differences). The one thing computed here is each model's own 95 % interval: ``metrics.json`` stores
intervals of differences only, so a model's interval is the same seeded paired bootstrap
(:func:`~gemini_qa_tuning.evaluation.scoring.compare_paired`, same resamples and seed as the report)
of the model against an all-zero answer sheet — the percentile interval of the model's own mean.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from gemini_qa_tuning import storage
from gemini_qa_tuning.contracts import CheckpointSelection, ExportedDataset, RunSummary, TuningJobLaunch
from gemini_qa_tuning.evaluation.predictions import PredictionLine, read_predictions
from gemini_qa_tuning.evaluation.questions import load_test_questions
from gemini_qa_tuning.evaluation.report import BootstrapSettings, MetricsReport, read_metrics_report
from gemini_qa_tuning.evaluation.scoring import QuestionScore, compare_paired
from gemini_qa_tuning.reporting.history import RunHistoryReader, history_point_from_summary
from gemini_qa_tuning.reporting.records import (
    SCORE_DECIMALS,
    CheckpointRow,
    CostSummary,
    DatasetSection,
    Decision,
    DecisionKind,
    Disagreement,
    HistoryPoint,
    Interval,
    ModelAnswer,
    ModelScoreRow,
    RejectExample,
    RunReport,
    ScoreDifference,
    TuningJobSection,
)

__all__ = ["HISTORY_LIMIT", "decide_headline", "gather_run_report", "model_interval"]

logger = logging.getLogger(__name__)

#: Roles in the order the page lists them.
ROLE_ORDER = ("base", "tuned", "champion")
#: The newest runs the history chart shows.
HISTORY_LIMIT = 30
DISAGREEMENT_LIMIT = 8
REJECT_EXAMPLES_PER_REASON = 3
REJECT_RECORD_CHARS = 240


def _signed(value: float) -> str:
    return f"{value:+.{SCORE_DECIMALS}f}"


def decide_headline(summary: RunSummary) -> Decision:
    """The run's decision and why, in one sentence, from what its tasks returned."""
    promotion, comparison, plan, job = summary.promotion, summary.evaluation, summary.tuning_plan, summary.tuning_job
    if promotion is not None and comparison is not None:
        reasons = promotion.reasons
        headline = comparison.headline
        other = "champion" if "tuned_vs_champion" in headline.comparisons else "base"
        difference = headline.comparisons.get(f"tuned_vs_{other}")
        gain = (
            f"F1 {_signed(difference.f1_diff)} over the {other} model "
            f"(95 % CI {_signed(difference.f1_ci_low)} .. {_signed(difference.f1_ci_high)})"
            if difference is not None
            else "no paired comparison was recorded"
        )
        if promotion.promote:
            return Decision(DecisionKind.PROMOTED, f"Promoted the tuned model to champion: {gain}.", reasons)
        why = reasons[0] if reasons else "the promotion policy gave no reason"
        return Decision(DecisionKind.KEPT_CHAMPION, f"Kept the current champion: {gain}; {why}.", reasons)
    if plan is not None and not plan.launch:
        return Decision(DecisionKind.SKIPPED, f"Skipped tuning: {plan.reason}.", (plan.reason,))
    if job is not None and job.dry_run:
        return Decision(
            DecisionKind.DRY_RUN,
            "Dry run: the tuning request was validated and nothing was launched, evaluated or promoted.",
        )
    return Decision(
        DecisionKind.INCOMPLETE,
        "No decision: this run evaluated no tuned model (see the task logs for the step that stopped it).",
    )


def model_interval(lines: Sequence[PredictionLine], bootstrap: BootstrapSettings) -> tuple[Interval, Interval]:
    """The 95 % interval of one model's EM and F1 means (see the module docstring)."""
    zeros = [QuestionScore(0.0, 0.0)] * len(lines)
    resampled = compare_paired(
        [line.score for line in lines],
        zeros,
        resamples=bootstrap.resamples,
        seed=bootstrap.seed,
        confidence=bootstrap.confidence,
    )
    return (
        Interval(resampled.exact_match_ci_low, resampled.exact_match_ci_high),
        Interval(resampled.f1_ci_low, resampled.f1_ci_high),
    )


def checkpoint_rows(selection: CheckpointSelection, bootstrap: BootstrapSettings) -> tuple[CheckpointRow, ...]:
    """Each checkpoint's validation EM/F1 with 95 % intervals from its answers, in epoch order."""
    rows = []
    for score in selection.scores:
        lines = read_predictions(score.predictions_uri)
        em_interval, f1_interval = model_interval(lines, bootstrap) if lines else (None, None)
        rows.append(
            CheckpointRow(
                checkpoint_id=score.checkpoint.checkpoint_id,
                epoch=score.checkpoint.epoch or 0,
                validation_exact_match=score.exact_match,
                validation_f1=score.f1,
                selected=score.checkpoint.checkpoint_id == selection.chosen_checkpoint_id,
                validation_exact_match_interval=em_interval,
                validation_f1_interval=f1_interval,
            )
        )
    return tuple(sorted(rows, key=lambda row: row.epoch))


def _ordered_roles(roles: Iterable[str]) -> list[str]:
    return sorted(roles, key=lambda role: (ROLE_ORDER.index(role) if role in ROLE_ORDER else len(ROLE_ORDER), role))


def _score_rows(
    report: MetricsReport, predictions: Mapping[str, Sequence[PredictionLine]]
) -> tuple[ModelScoreRow, ...]:
    rows = []
    for role in _ordered_roles(report.models):
        entry = report.models[role]
        lines = predictions.get(role)
        em_interval, f1_interval = model_interval(lines, report.bootstrap) if lines else (None, None)
        rows.append(
            ModelScoreRow(
                role=role,
                model=entry.model,
                exact_match=entry.scores.exact_match,
                f1=entry.scores.f1,
                exact_match_interval=em_interval,
                f1_interval=f1_interval,
                questions=entry.scores.questions,
            )
        )
    return tuple(rows)


def _differences(report: MetricsReport) -> tuple[ScoreDifference, ...]:
    return tuple(
        ScoreDifference(
            other=name.removeprefix("tuned_vs_"),
            exact_match_diff=comparison.exact_match_diff,
            exact_match_interval=Interval(comparison.exact_match_ci_low, comparison.exact_match_ci_high),
            f1_diff=comparison.f1_diff,
            f1_interval=Interval(comparison.f1_ci_low, comparison.f1_ci_high),
        )
        for name, comparison in report.comparisons.items()
    )


def _disagreements(
    predictions: Mapping[str, Sequence[PredictionLine]], questions: Mapping[str, str], limit: int
) -> tuple[Disagreement, ...]:
    """Questions where the tuned model's normalised answer differs from another model's, widest F1 gap first."""
    by_role = {role: {line.id: line for line in lines} for role, lines in predictions.items()}
    tuned = by_role.get("tuned")
    if not tuned:
        return ()
    roles = _ordered_roles(by_role)
    found: list[tuple[float, str, Disagreement]] = []
    for question_id, tuned_line in tuned.items():
        lines = {role: by_role[role][question_id] for role in roles if question_id in by_role[role]}
        if len({line.normalized_response for line in lines.values()}) < 2:
            continue
        spread = max(line.f1 for line in lines.values()) - min(line.f1 for line in lines.values())
        disagreement = Disagreement(
            question_id=question_id,
            question=questions.get(question_id, ""),
            references=tuple(dict.fromkeys(tuned_line.answers)),  # SQuAD repeats a reference per annotator
            answers=tuple(ModelAnswer(role, line.response, 100.0 * line.f1) for role, line in lines.items()),
        )
        found.append((-spread, question_id, disagreement))
    found.sort(key=lambda item: (item[0], item[1]))
    return tuple(item[2] for item in found[:limit])


def _reject_examples(rejects_uri: str, per_reason: int) -> dict[str, tuple[RejectExample, ...]]:
    examples: dict[str, list[RejectExample]] = {}
    if not storage.exists(rejects_uri):
        return {}
    for line in storage.iter_lines(rejects_uri):
        if not line.strip():
            continue
        record = json.loads(line)
        reason = str(record.get("reason", "unknown"))
        kept = examples.setdefault(reason, [])
        if len(kept) >= per_reason:
            continue
        raw = record.get("record")
        text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, sort_keys=True)
        if len(text) > REJECT_RECORD_CHARS:
            text = text[: REJECT_RECORD_CHARS - 1] + "…"
        kept.append(
            RejectExample(
                reason=reason, detail=str(record.get("detail", "")), where=str(record.get("where", "")), record=text
            )
        )
    return {reason: tuple(found) for reason, found in examples.items()}


def _dataset_section(dataset: ExportedDataset) -> DatasetSection:
    counts = dataset.counts
    return DatasetSection(
        fingerprint=dataset.fingerprint,
        source_description=dataset.source_description,
        manifest_uri=dataset.manifest_uri,
        counts={
            "records read": counts.records_read,
            "unanswerable skipped": counts.unanswerable_skipped,
            "rejected": counts.rejected,
            "duplicates dropped": counts.duplicates_dropped,
            "leakage dropped": counts.leakage_dropped,
            "train": counts.train,
            "validation": counts.validation,
            "test": counts.test,
        },
        rejects_by_reason=dict(dataset.rejects_by_reason),
        reject_examples=_reject_examples(dataset.rejects_uri, REJECT_EXAMPLES_PER_REASON),
        duplicates_dropped=counts.duplicates_dropped,
        training_tokens=dataset.training_tokens,
    )


def _hyperparameters(job: TuningJobLaunch) -> dict[str, str]:
    request = job.request
    values: dict[str, object] = {
        "epochs": request.epoch_count,
        "adapter size": request.adapter_size,
        "learning rate multiplier": request.learning_rate_multiplier,
        "tuning mode": request.tuning_mode,
        "training examples": job.training_examples,
        "config hash": job.config_hash,
    }
    return {name: str(value) for name, value in values.items() if value is not None}


def _tuning_section(summary: RunSummary, duration_seconds: float | None) -> TuningJobSection | None:
    job, tuned = summary.tuning_job, summary.tuned_model
    if job is None:
        return None
    return TuningJobSection(
        job_name=job.job_name,
        state=tuned.state if tuned else job.state,
        reused=job.reused,
        base_model=job.base_model,
        tuned_model=tuned.tuned_model if tuned else None,
        endpoint=tuned.endpoint if tuned else None,
        hyperparameters=_hyperparameters(job),
        duration_seconds=duration_seconds,
    )


def _cost(summary: RunSummary) -> CostSummary | None:
    job, tuned, plan = summary.tuning_job, summary.tuned_model, summary.tuning_plan
    if job is None and tuned is None:
        return None
    estimated = job.estimated_cost_usd if job else (plan.estimated_cost_usd if plan else None)
    return CostSummary(
        estimated_usd=estimated,
        billed_usd=tuned.actual_cost_usd if tuned else None,
        estimated_billable_tokens=job.estimated_billable_tokens if job else None,
        billed_tokens=tuned.billable_tokens if tuned else None,
        epochs=(tuned.epochs if tuned and tuned.epochs is not None else (job.epochs if job else None)),
    )


def _history(summary: RunSummary, reader: RunHistoryReader, written_at: float) -> tuple[HistoryPoint, ...]:
    """Past runs from ``reader`` plus this run (its summary may not be stored yet)."""
    past = [point for point in reader.read_history(HISTORY_LIMIT) if point.run_id != summary.run_id]
    current = history_point_from_summary(summary, written_at)
    points = [*past, current] if current is not None else past
    return tuple(points[-HISTORY_LIMIT:])


def gather_run_report(
    summary: RunSummary,
    history: RunHistoryReader,
    *,
    tuning_duration_seconds: float | None = None,
    now: datetime | None = None,
) -> RunReport:
    """The report of the run ``summary`` describes, reading its files from storage.

    The checkpoint section comes from the summary's checkpoint selection (validation scores, with
    intervals from each checkpoint's answers); ``tuning_duration_seconds`` is the job's create-to-end
    time when known.
    """
    generated = now or datetime.now(UTC)
    scores: tuple[ModelScoreRow, ...] = ()
    differences: tuple[ScoreDifference, ...] = ()
    disagreements: tuple[Disagreement, ...] = ()
    checkpoints: tuple[CheckpointRow, ...] = ()
    metrics_uri = summary.evaluation.metrics_uri if summary.evaluation else None
    if metrics_uri:
        report = read_metrics_report(metrics_uri)
        if summary.checkpoint_selection is not None:
            checkpoints = checkpoint_rows(summary.checkpoint_selection, report.bootstrap)
        predictions = {role: read_predictions(entry.predictions_uri) for role, entry in report.models.items()}
        scores = _score_rows(report, predictions)
        differences = _differences(report)
        questions = (
            {question.id: question.question for question in load_test_questions(summary.dataset.test_uri)}
            if summary.dataset
            else {}
        )
        disagreements = _disagreements(predictions, questions, DISAGREEMENT_LIMIT)
    return RunReport(
        run_id=summary.run_id,
        decision=decide_headline(summary),
        generated_at=generated.isoformat(timespec="seconds"),
        summary_uri=summary.summary_uri,
        metrics_uri=metrics_uri,
        scores=scores,
        differences=differences,
        checkpoints=checkpoints,
        cost=_cost(summary),
        dataset=_dataset_section(summary.dataset) if summary.dataset else None,
        tuning_job=_tuning_section(summary, tuning_duration_seconds),
        disagreements=disagreements,
        history=_history(summary, history, generated.timestamp()),
        warnings=summary.warnings,
        evaluation_cost=summary.evaluation_cost,
    )
