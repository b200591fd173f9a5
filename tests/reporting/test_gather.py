"""Gathering a report from a run's files on a local prefix: scores and intervals from the predictions,
disagreements widest first, and this run joined to the history even before its summary is stored."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from gemini_qa_tuning.contracts import ModelComparison, PromotionDecision, RunSummary
from gemini_qa_tuning.evaluation.predictions import PredictionLine
from gemini_qa_tuning.evaluation.report import write_metrics_report
from gemini_qa_tuning.reporting import (
    DecisionKind,
    HistoryPoint,
    gather_run_report,
)


class FixedHistory:
    def __init__(self, points: Sequence[HistoryPoint]) -> None:
        self.points = points

    def read_history(self, limit: int) -> Sequence[HistoryPoint]:
        return self.points[-limit:]


def line(question_id: str, response: str, f1: float, answers: tuple[str, ...] = ("Paris",)) -> PredictionLine:
    return PredictionLine(
        id=question_id,
        model="m",
        prompt_sha256=f"p{question_id}",
        status="ok",
        response=response,
        normalized_response=response.lower(),
        exact_match=1.0 if f1 == 1.0 else 0.0,
        f1=f1,
        blocked=False,
        finish_reason="STOP",
        error=None,
        attempts=1,
        latency_seconds=0.1,
        prompt_tokens=10,
        output_tokens=2,
        total_tokens=12,
        answers=answers,
    )


def write_lines(path: Path, lines: list[PredictionLine]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(item.to_json()) + "\n" for item in lines))
    return str(path)


def test_a_report_gathered_from_local_files(tmp_path: Path) -> None:
    base = write_lines(
        tmp_path / "base.jsonl",
        [line("q1", "It is Paris.", 0.5), line("q2", "Rome", 1.0, ("Rome", "Rome")), line("q3", "x", 0.0)],
    )
    tuned = write_lines(
        tmp_path / "tuned.jsonl",
        [line("q1", "Paris", 1.0), line("q2", "Rome", 1.0, ("Rome", "Rome")), line("q3", "y", 0.0)],
    )
    metrics_uri = str(tmp_path / "runs" / "r2" / "metrics.json")
    report = write_metrics_report(metrics_uri, base_predictions_uri=base, tuned_predictions_uri=tuned, resamples=200)
    summary = RunSummary(
        run_id="r2",
        dataset=None,
        tuning_plan=None,
        tuning_job=None,
        tuned_model=None,
        evaluation=ModelComparison(metrics_uri=metrics_uri, headline=report.headline()),
        promotion=PromotionDecision(True, ("enough",)),
        promoted_champion=None,
    )
    earlier = HistoryPoint("r1", 1.0, 40.0, None, 30.0, True)

    gathered = gather_run_report(summary, FixedHistory([earlier]))

    assert gathered.decision.kind is DecisionKind.PROMOTED
    assert [row.role for row in gathered.scores] == ["base", "tuned"]
    tuned_row = gathered.scores[1]
    assert tuned_row.f1 == report.models["tuned"].scores.f1
    assert tuned_row.f1_interval is not None and tuned_row.f1_interval.low <= tuned_row.f1 <= tuned_row.f1_interval.high
    assert [d.other for d in gathered.differences] == ["base"]
    # q2 agrees (same normalised answer) and is left out; q1 (F1 gap 0.5) comes before q3 (gap 0).
    assert [item.question_id for item in gathered.disagreements] == ["q1", "q3"]
    assert gathered.disagreements[0].references == ("Paris",)
    assert [answer.role for answer in gathered.disagreements[0].answers] == ["base", "tuned"]
    assert gathered.checkpoints == ()  # the summary records no checkpoint selection
    assert [point.run_id for point in gathered.history] == ["r1", "r2"]
    assert gathered.history[-1].challenger_f1 == report.models["tuned"].scores.f1
    assert gathered.cost is None and gathered.dataset is None and gathered.tuning_job is None
