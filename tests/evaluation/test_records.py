"""The evaluation's typed records: each JSON form reads back to an equal record, and bad input is refused."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from gemini_qa_tuning.evaluation import (
    READABLE_SCHEMA_VERSIONS,
    SCHEMA_VERSION,
    AnswerRecord,
    BootstrapSettings,
    MetricsHeadline,
    MetricsReport,
    ModelReport,
    ModelScores,
    PredictionLine,
    PredictionRun,
    read_metrics_report,
)
from gemini_qa_tuning.evaluation.scoring import PairedComparison, QuestionScore, compare_paired

SCORES = ModelScores(
    exact_match=62.5,
    f1=71.25,
    questions=8,
    answered=7,
    errors=1,
    empty=1,
    blocked=0,
    mean_answer_tokens=2.5,
    latency_mean_seconds=0.2,
    latency_p50_seconds=0.15,
    latency_p95_seconds=None,
    prompt_tokens=320,
    output_tokens=24,
    total_tokens=344,
    error_share=0.125,
)


def through_json(data: dict[str, Any]) -> dict[str, Any]:
    """What a reader gets back after the form was stored (XCom, a file)."""
    loaded: dict[str, Any] = json.loads(json.dumps(data))
    return loaded


def comparison(f1_diff: float) -> PairedComparison:
    tuned = [QuestionScore(1.0, 1.0), QuestionScore(0.0, 0.5), QuestionScore(1.0, 1.0)]
    other = [QuestionScore(0.0, 0.2), QuestionScore(0.0, 0.5), QuestionScore(1.0, 1.0 - f1_diff / 100)]
    return compare_paired(tuned, other, resamples=50, seed=1)


def a_report() -> MetricsReport:
    return MetricsReport(
        questions=8,
        question_set_sha256="ab" * 32,
        models={
            "base": ModelReport(
                model="gemini-2.0-flash-001", predictions_uri="gs://b/base/predictions.jsonl", scores=SCORES
            ),
            "tuned": ModelReport(model=None, predictions_uri="gs://b/tuned/predictions.jsonl", scores=SCORES),
        },
        comparisons={"tuned_vs_base": comparison(10.0), "tuned_vs_champion": comparison(0.0)},
        bootstrap=BootstrapSettings(resamples=50, seed=1, confidence=0.95),
        context={"run_id": "manual__1", "nested": {"models": ["a", "b"], "n": 2}},
    )


def test_answer_record_round_trip() -> None:
    answered = AnswerRecord(
        id="q1",
        prompt_sha256="0" * 64,
        status="ok",
        response="France",
        blocked=False,
        finish_reason="STOP",
        error=None,
        attempts=2,
        latency_seconds=0.1234,
        prompt_tokens=40,
        output_tokens=3,
        total_tokens=43,
    )
    failed = replace(answered, status="error", response=None, error="HTTP 503")
    for record in (answered, failed):
        assert AnswerRecord.from_json(through_json(record.to_json())) == record
    with pytest.raises(ValueError, match="'status' must be 'ok' or 'error'"):
        AnswerRecord.from_json({**answered.to_json(), "status": "maybe"})


def test_prediction_line_round_trip() -> None:
    line = PredictionLine(
        id="q1",
        model="projects/p/locations/l/endpoints/2",
        prompt_sha256="0" * 64,
        status="ok",
        response="The France.",
        normalized_response="the france.",
        exact_match=1.0,
        f1=1.0,
        blocked=False,
        finish_reason="STOP",
        error=None,
        attempts=1,
        latency_seconds=0.05,
        prompt_tokens=None,
        output_tokens=None,
        total_tokens=None,
        answers=("France", "the French Republic"),
    )
    assert PredictionLine.from_json(through_json(line.to_json())) == line


def test_prediction_run_round_trip_keeps_the_flat_form() -> None:
    run = PredictionRun(
        model="gemini-2.0-flash-001",
        model_slug="base",
        test_uri="gs://b/data/test.jsonl",
        predictions_uri="gs://b/eval/base/predictions.jsonl",
        summary_uri="gs://b/eval/base/summary.json",
        checkpoint_prefix_uri="gs://b/eval/base/checkpoint",
        resumed_from_checkpoint=3,
        requests_sent=6,
        retries=1,
        elapsed_seconds=1.5,
        scores=SCORES,
    )
    data = through_json(run.to_json())
    assert data["f1"] == 71.25 and data["predictions_uri"] == run.predictions_uri  # flat, as XCom had it
    assert PredictionRun.from_json(data) == run
    # What the pipeline adds beside the run (its role) does not stop the run from being read back.
    assert PredictionRun.from_json({"role": "base", **data}) == run


def test_prediction_run_names_a_missing_or_mistyped_key() -> None:
    data = {**SCORES.to_json(), "model": "m", "model_slug": "m"}
    with pytest.raises(ValueError, match=r"prediction run: field 'test_uri' is missing \(fields present: answered, "):
        PredictionRun.from_json(data)
    with pytest.raises(ValueError, match=r"model scores: field 'errors' must be a whole number, got '1'"):
        ModelScores.from_json({**SCORES.to_json(), "errors": "1"})


def test_metrics_report_round_trip() -> None:
    report = a_report()
    data = through_json(report.to_json())
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["comparisons"]["tuned_vs_base"]["f1_significant"] == report.comparisons["tuned_vs_base"].f1_significant
    assert MetricsReport.from_json(data) == report


@pytest.mark.parametrize("version", [3, 0, "1", None, True])
def test_metrics_report_refuses_an_unknown_schema_version(version: object) -> None:
    data = through_json(a_report().to_json())
    if version is None:
        del data["schema_version"]
    else:
        data["schema_version"] = version
    with pytest.raises(ValueError, match=rf"schema_version {version!r} is not supported") as refused:
        MetricsReport.from_json(data)
    message = str(refused.value)
    assert f"reads schema_version {sorted(READABLE_SCHEMA_VERSIONS)}" in message
    assert "compare_models" in message  # says what to do


def test_a_version_1_report_reads_with_zero_thinking_statistics() -> None:
    report = a_report()
    data = through_json(report.to_json())
    data["schema_version"] = 1
    new_keys = ("thinking_tokens", "mean_thinking_tokens", "max_tokens_finishes", "empty_or_truncated")
    for entry in data["models"].values():
        for key in (*new_keys, "empty_or_truncated_share"):
            del entry[key]
    read = MetricsReport.from_json(data)
    assert SCHEMA_VERSION == 2 and 1 in READABLE_SCHEMA_VERSIONS
    for role, entry in read.models.items():
        assert entry.scores.thinking_tokens == 0 and entry.scores.max_tokens_finishes == 0
        assert entry.scores.exact_match == report.models[role].scores.exact_match


def test_scores_round_trip_with_thinking_statistics() -> None:
    scores = replace(
        SCORES,
        thinking_tokens=160,
        mean_thinking_tokens=22.8571,
        max_tokens_finishes=1,
        empty_or_truncated=2,
        empty_or_truncated_share=0.25,
    )
    assert ModelScores.from_json(through_json(scores.to_json())) == scores


def test_read_metrics_report_names_the_file(tmp_path: Any) -> None:
    from gemini_qa_tuning import storage

    uri = str(tmp_path / "metrics.json")
    storage.write_text(uri, json.dumps({**a_report().to_json(), "schema_version": 99}))
    with pytest.raises(ValueError, match=r"metrics\.json is not a readable metrics report: .*schema_version 99"):
        read_metrics_report(uri)
    storage.write_text(uri, json.dumps(a_report().to_json()))
    assert read_metrics_report(uri) == a_report()


def test_headline_round_trip_and_flat_keys() -> None:
    headline = a_report().headline()
    data = through_json(headline.to_json())
    # The flat keys the run summary, the demo and the champion record read.
    assert data["questions"] == 8
    assert data["tuned_f1"] == 71.25 and data["base_exact_match"] == 62.5
    assert data["tuned_vs_base_f1_diff"] == headline.comparisons["tuned_vs_base"].f1_diff
    assert (
        data["tuned_vs_champion_exact_match_ci_high"] == headline.comparisons["tuned_vs_champion"].exact_match_ci_high
    )
    assert MetricsHeadline.from_json(data) == headline
    # The comparison step's XCom carries the report's URI beside the headline.
    assert MetricsHeadline.from_json({"metrics_uri": "gs://b/metrics.json", **data}) == headline
    del data["tuned_vs_base_f1_ci_low"]
    with pytest.raises(ValueError, match=r"comparison 'tuned_vs_base' lacks \['tuned_vs_base_f1_ci_low'\]"):
        MetricsHeadline.from_json(data)


def test_paired_comparison_round_trip() -> None:
    original = comparison(5.0)
    assert PairedComparison.from_json(through_json(original.to_json())) == original
