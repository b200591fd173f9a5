"""The report's history comes from the verdict records: a judgement shows in the chart whether or not its
run wrote a summary, and a model judged again keeps its earlier point."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from gemini_qa_tuning.contracts import PromotionDecision, RunSummary
from gemini_qa_tuning.evaluation.report import MetricsHeadline, RoleScores
from gemini_qa_tuning.reporting import VerdictHistoryReader, gather_run_report, render_run_report
from gemini_qa_tuning.verdicts import Verdict, write_verdict
from tests.reporting.html_page import parse_page


def verdict(run_id: str, decided_at: str, tuned_f1: float, champion_f1: float | None = None) -> Verdict:
    models = {"base": RoleScores(exact_match=10.0, f1=30.0), "tuned": RoleScores(exact_match=40.0, f1=tuned_f1)}
    if champion_f1 is not None:
        models["champion"] = RoleScores(exact_match=35.0, f1=champion_f1)
    return Verdict(
        dataset_fingerprint="fp1",
        config_hash="abc123",
        promoted=champion_f1 is None,
        reasons=("why",),
        headline=MetricsHeadline(questions=50, models=models, comparisons={}),
        metrics_uri=f"gs://b/runs/{run_id}/metrics.json",
        job_name=None,
        model=None,
        tuned_model=None,
        run_id=run_id,
        decided_at=decided_at,
    )


def test_a_verdict_without_a_summary_shows_in_the_chart(tmp_path: Path) -> None:
    prefix = str(tmp_path)
    # Neither run left a summary.json (e.g. its summarize_run failed); the second judged the same model again.
    write_verdict(prefix, verdict("manual__first", "2026-11-29T02:30:00+00:00", 50.0))
    write_verdict(prefix, verdict("manual__again", "2026-11-30T02:30:00+00:00", 52.0, champion_f1=50.0))
    assert not (tmp_path / "runs").exists()

    points = VerdictHistoryReader(prefix).read_history(limit=10)
    assert [(p.run_id, p.challenger_f1, p.champion_f1, p.promoted) for p in points] == [
        ("manual__first", 50.0, None, True),
        ("manual__again", 52.0, 50.0, False),
    ]
    assert [p.run_id for p in VerdictHistoryReader(prefix).read_history(limit=1)] == ["manual__again"]

    summary = RunSummary(
        run_id="manual__now",
        dataset=None,
        tuning_plan=None,
        tuning_job=None,
        tuned_model=None,
        evaluation=None,
        promotion=PromotionDecision(False, ("skipped",)),
        promoted_champion=None,
    )
    page = parse_page(render_run_report(gather_run_report(summary, VerdictHistoryReader(prefix))))
    rows = page.find("table", id="history-points").find_all("tr")[1:]
    assert [row.attrs["data-run"] for row in rows] == ["manual__first", "manual__again"]
    assert page.find("figure", id="history-chart").find_all("svg")


def test_a_verdict_from_before_the_history_counts_once_and_a_damaged_one_is_left_out(tmp_path: Path) -> None:
    prefix = str(tmp_path)
    write_verdict(prefix, verdict("r1", "2026-11-29T02:30:00+00:00", 50.0))
    for kept in (tmp_path / "verdict_history").rglob("*.json"):
        kept.unlink()  # as written by a version without the history: only the current verdict exists
    other = replace(verdict("r2", "2026-11-30T02:30:00+00:00", 55.0), config_hash="def456")
    write_verdict(prefix, other)
    assert len(list((tmp_path / "verdicts").glob("*.json"))) == 2  # one current verdict per key, nothing else
    (tmp_path / "verdicts" / "broken.json").write_text("{not json")

    assert [p.run_id for p in VerdictHistoryReader(prefix).read_history(limit=10)] == ["r1", "r2"]
