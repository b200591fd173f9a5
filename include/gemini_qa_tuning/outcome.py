"""What a run did, in one line, and the messages the pipeline's notifications carry.

Plain text from the run's typed records (no Airflow): the same sentence is the run's outcome in the
log, the note the UI shows and the first line of the promotion mail, so the three never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gemini_qa_tuning.contracts import ModelComparison, RunSummary


@dataclass(frozen=True)
class Message:
    """One notification: a subject line and a plain-text body."""

    subject: str
    body: str


def _gain(evaluation: ModelComparison, other: str) -> str | None:
    comparison = evaluation.headline.comparisons.get(f"tuned_vs_{other}")
    if comparison is None:
        return None
    return (
        f"F1 {comparison.f1_diff:+.1f} over the {other} "
        f"(95 % CI {comparison.f1_ci_low:+.1f} .. {comparison.f1_ci_high:+.1f})"
    )


def describe_outcome(summary: RunSummary) -> str:
    """``promoted: …``, ``kept champion: …``, ``skipped: …`` or ``dry run: …`` — the run at a glance."""
    plan = summary.tuning_plan
    if plan is not None and not plan.launch:
        return f"skipped: {plan.reason}"
    if summary.tuning_job is not None and summary.tuning_job.dry_run:
        return "dry run: the tuning request was validated; nothing was created"
    if summary.promotion is None or summary.evaluation is None:
        return "no decision: the run evaluated no tuned model"
    gains = [gain for other in ("base", "champion") if (gain := _gain(summary.evaluation, other))]
    if summary.promotion.promote:
        return "promoted: " + "; ".join(gains)
    return "kept champion: " + "; ".join(summary.promotion.reasons or gains)


def scores_table(evaluation: ModelComparison) -> list[str]:
    """One line per evaluated model: SQuAD Exact Match and F1."""
    lines = [f"{evaluation.headline.questions} held-out questions (SQuAD v1.1):"]
    for role, scores in evaluation.headline.models.items():
        lines.append(f"  {role:<9} EM {scores.exact_match:6.2f}   F1 {scores.f1:6.2f}")
    return lines


def promotion_message(summary: RunSummary, dag_id: str) -> Message:
    """The mail sent when a run made its tuned model the champion."""
    promoted = summary.promoted_champion
    model = promoted.model if promoted else "the tuned model"
    lines = [describe_outcome(summary), "", f"New champion: {model}"]
    if summary.evaluation is not None:
        lines += ["", *scores_table(summary.evaluation), "", f"Metrics: {summary.evaluation.metrics_uri}"]
    lines += _locations(summary)
    return Message(f"[{dag_id}] promoted {model}", "\n".join(lines))


def retirement_message(warnings: Sequence[str], run_id: str, dag_id: str) -> Message:
    """The mail sent when the base model or the champion's base model retires soon (or has retired)."""
    body = "\n".join([f"Run {run_id} found:", *(f"- {warning}" for warning in warnings)])
    return Message(f"[{dag_id}] model retirement warning", body)


def failure_message(dag_id: str, run_id: str, failed_tasks: Sequence[str], reason: str | None) -> Message:
    """The mail sent when a run fails."""
    lines = [f"Run {run_id} of {dag_id} failed."]
    if failed_tasks:
        lines.append(f"Failed tasks: {', '.join(failed_tasks)}")
    if reason:
        lines.append(f"Reason: {reason}")
    lines.append("The task logs in the Airflow UI say what to change.")
    return Message(f"[{dag_id}] run {run_id} failed", "\n".join(lines))


def _locations(summary: RunSummary) -> list[str]:
    lines = []
    if summary.summary_uri:
        lines.append(f"Summary: {summary.summary_uri}")
    if summary_report := getattr(summary, "report_uri", None):  # the HTML run report, where written
        lines.append(f"Report: {summary_report}")
    return lines
