"""The run report's page from hand-made records: sections, rounding, escaping and an offline chart."""

from __future__ import annotations

import pytest

from gemini_qa_tuning.contracts import PromotionDecision, RunSummary, TuningPlan
from gemini_qa_tuning.evaluation.report import BootstrapSettings
from gemini_qa_tuning.reporting import (
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
    decide_headline,
    history_point_from_summary,
    model_interval,
    render_run_report,
    report_uri,
)
from tests.reporting.html_page import parse_page

HOSTILE = '<script>alert("x")</script>'


def full_report(**changes: object) -> RunReport:
    values: dict[str, object] = {
        "run_id": "manual__2026-12-01T10:00:00+00:00",
        "decision": Decision(DecisionKind.PROMOTED, "Promoted the tuned model to champion: F1 +14.90.", ("gain",)),
        "generated_at": "2026-12-01T10:05:00+00:00",
        "summary_uri": "gs://b/p/runs/r/summary.json",
        "metrics_uri": "gs://b/p/runs/r/metrics.json",
        "scores": (
            ModelScoreRow(
                "base", "gemini-3.5-flash-lite", 20.338983050847457, 41.23456, Interval(10.0, 30.0), None, 59
            ),
            ModelScoreRow("tuned", "projects/1/endpoints/2", 35.005, 56.1, Interval(25.0, 45.0), Interval(50, 62), 59),
        ),
        "differences": (ScoreDifference("base", 14.666, Interval(5.0, 24.0), 14.9, Interval(10.2, 19.5)),),
        "checkpoints": (CheckpointRow("ckpt-1", 1, 30.0, 50.0), CheckpointRow("ckpt-2", 2, 33.3, 55.55, True)),
        "cost": CostSummary(1.5, 1.25, 1000, 900, 2),
        "dataset": DatasetSection(
            fingerprint="abc123",
            source_description="sample",
            manifest_uri="gs://b/p/datasets/abc123/manifest.json",
            counts={"records read": 120, "test": 59},
            rejects_by_reason={"answer_not_in_context": 2},
            reject_examples={"answer_not_in_context": (RejectExample("answer_not_in_context", "d", "w", HOSTILE),)},
            duplicates_dropped=3,
            training_tokens=5000,
        ),
        "tuning_job": TuningJobSection(
            "projects/1/tuningJobs/9",
            "JOB_STATE_SUCCEEDED",
            False,
            "gemini-3.5-flash-lite",
            "m",
            "e",
            {"epochs": "2"},
            3725,
        ),
        "disagreements": (
            Disagreement(
                "q1",
                HOSTILE,
                ("Paris",),
                (ModelAnswer("base", "It is Paris.", 50.0), ModelAnswer("tuned", "Paris", 100.0)),
            ),
        ),
        "history": (
            HistoryPoint("scheduled__2026-11-30", 1.0, 50.0, None, 40.0, True),
            HistoryPoint(HOSTILE, 2.0, 56.1, 50.0, 41.2, True),
        ),
    }
    values.update(changes)
    return RunReport(**values)


def test_every_section_is_rendered_with_the_rounded_numbers() -> None:
    page = parse_page(render_run_report(full_report()))

    for section in ("decision", "scores", "checkpoints", "cost", "dataset", "tuning-job", "disagreements", "history"):
        assert page.find_all("section", id=section), section
    base = page.find("tr", data_role="base")
    assert base.find("td", data_measure="exact_match").text == "20.34"
    assert base.find("td", data_measure="f1").text == "41.23"
    assert page.find("tr", data_comparison="tuned_vs_base").find("td", data_measure="f1_diff").text == "+14.90"
    assert page.find("tr", data_checkpoint="ckpt-2").find("td", data_measure="f1").text == "55.55"
    assert page.find("td", data_cost="billed").text == "1.25 USD"
    assert page.find("td", data_field="duration").text == "1 h 02 min"
    assert page.find("code", data_field="fingerprint").text == "abc123"


def test_user_text_is_escaped_and_the_page_needs_nothing_from_outside() -> None:
    html = render_run_report(full_report())
    page = parse_page(html)

    assert not page.find_all("script"), "a question, a reject or a run id must not become markup"
    assert HOSTILE in page.find("section", id="disagreements").text
    assert HOSTILE in page.find("section", id="dataset").text
    assert "&lt;script&gt;" in html
    # Nothing to fetch: no stylesheet link, no image, no script source, no remote URL in an attribute.
    for element in page.iter():
        for name, value in element.attrs.items():
            if name in ("href", "src", "xlink:href"):
                assert value.startswith("#"), (element.tag, name, value)
    assert "kozea.github.io" not in html  # pygal's default tooltip script from its CDN


def test_the_history_chart_is_an_inline_svg_with_both_series() -> None:
    page = parse_page(render_run_report(full_report()))

    (svg,) = page.find("figure", id="history-chart").find_all("svg")
    assert "challenger (tuned)" in svg.text and "champion" in svg.text
    assert not page.find("figure", id="history-chart").find_all("script")


def test_optional_sections_are_left_out_when_their_records_are_absent() -> None:
    skipped = full_report(
        decision=Decision(DecisionKind.SKIPPED, "Skipped tuning: unchanged."),
        scores=(),
        differences=(),
        checkpoints=(),
        cost=None,
        tuning_job=None,
        disagreements=(),
        history=(),
        metrics_uri=None,
    )
    page = parse_page(render_run_report(skipped))

    assert page.find("p", data_kind="skipped").text == "Skipped tuning: unchanged."
    for section in ("scores", "checkpoints", "cost", "tuning-job", "disagreements"):
        assert not page.find_all("section", id=section), section
    assert "No run under this prefix has evaluated a tuned model yet." in page.find("section", id="history").text


def _summary(**parts: object) -> RunSummary:
    values: dict[str, object] = {
        "run_id": "r",
        "dataset": None,
        "tuning_plan": None,
        "tuning_job": None,
        "tuned_model": None,
        "evaluation": None,
        "promotion": None,
        "promoted_champion": None,
    }
    values.update(parts)
    return RunSummary(**values)


def test_the_headline_says_why_a_run_skipped_or_kept_the_champion() -> None:
    from gemini_qa_tuning.contracts import ModelComparison
    from gemini_qa_tuning.evaluation.report import MetricsHeadline

    skipped = decide_headline(_summary(tuning_plan=TuningPlan(launch=False, reason="data and config unchanged")))
    assert (skipped.kind, skipped.sentence) == (DecisionKind.SKIPPED, "Skipped tuning: data and config unchanged.")

    headline = MetricsHeadline.from_json(
        {
            "questions": 100,
            "base_exact_match": 10.0,
            "base_f1": 20.0,
            "tuned_exact_match": 11.0,
            "tuned_f1": 21.0,
            **{
                f"tuned_vs_base_{m}_{s}": v
                for m in ("exact_match", "f1")
                for s, v in zip(("diff", "ci_low", "ci_high"), (1.0, -2.5, 4.25), strict=True)
            },
        }
    )
    kept = decide_headline(
        _summary(
            evaluation=ModelComparison(metrics_uri="m", headline=headline),
            promotion=PromotionDecision(False, ("F1 gain 1.00 is below the required gain of 2",)),
        )
    )
    assert kept.kind is DecisionKind.KEPT_CHAMPION
    assert kept.sentence == (
        "Kept the current champion: F1 +1.00 over the base model (95 % CI -2.50 .. +4.25); "
        "F1 gain 1.00 is below the required gain of 2."
    )


def test_a_models_interval_holds_its_mean_and_narrows_with_more_questions() -> None:
    from gemini_qa_tuning.evaluation.predictions import PredictionLine

    def lines(count: int) -> list[PredictionLine]:
        return [
            PredictionLine(
                id=str(index),
                model="m",
                prompt_sha256="p",
                status="ok",
                response="a",
                normalized_response="a",
                exact_match=float(index % 2),
                f1=0.5 + 0.5 * (index % 2),
                blocked=False,
                finish_reason="STOP",
                error=None,
                attempts=1,
                latency_seconds=0.1,
                prompt_tokens=1,
                output_tokens=1,
                total_tokens=2,
                answers=("a",),
            )
            for index in range(count)
        ]

    bootstrap = BootstrapSettings(resamples=500, seed=0, confidence=0.95)
    small_em, small_f1 = model_interval(lines(20), bootstrap)
    large_em, _ = model_interval(lines(400), bootstrap)
    assert small_em.low < 50.0 < small_em.high and small_f1.low < 75.0 < small_f1.high
    assert large_em.high - large_em.low < small_em.high - small_em.low


def test_the_reported_runs_own_point_comes_from_its_summary() -> None:
    from gemini_qa_tuning.contracts import ModelComparison
    from gemini_qa_tuning.evaluation.report import MetricsHeadline, RoleScores

    models = {"tuned": RoleScores(50.0, 60.0), "champion": RoleScores(45.0, 55.0), "base": RoleScores(30.0, 40.0)}
    evaluation = ModelComparison("gs://b/m.json", MetricsHeadline(questions=9, models=models, comparisons={}))
    promoted = _summary(run_id="late", evaluation=evaluation, promotion=PromotionDecision(True, ()))

    point = history_point_from_summary(promoted, 20.0)

    assert point is not None
    assert (point.run_id, point.written_at, point.challenger_f1, point.champion_f1, point.base_f1, point.promoted) == (
        "late",
        20.0,
        60.0,
        55.0,
        40.0,
        True,
    )
    untuned = {"base": RoleScores(30.0, 40.0)}
    kept = _summary(evaluation=ModelComparison("gs://b/m.json", MetricsHeadline(9, untuned, {})))
    assert history_point_from_summary(kept, 20.0) is None  # no tuned score: nothing to plot
    assert history_point_from_summary(_summary(), 20.0) is None  # nothing evaluated


@pytest.mark.parametrize("prefix", ["gs://bucket/prefix", "/tmp/prefix"])
def test_the_report_goes_beside_the_runs_metrics(prefix: str) -> None:
    assert report_uri(prefix, "manual__2026-12-01T10:00:00+00:00") == (
        f"{prefix}/runs/manual__2026-12-01T10_00_00_00_00/report.html"
    )
