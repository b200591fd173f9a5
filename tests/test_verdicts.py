"""Verdicts: every judged model's decision and numbers, found again by data and tuning config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gemini_qa_tuning import storage
from gemini_qa_tuning.evaluation.report import ComparisonHeadline, MetricsHeadline, RoleScores
from gemini_qa_tuning.verdicts import CorruptVerdictError, Verdict, read_verdict, verdict_uri, write_verdict

HEADLINE = MetricsHeadline(
    questions=120,
    models={"base": RoleScores(exact_match=10.0, f1=30.0), "tuned": RoleScores(exact_match=50.0, f1=62.5)},
    comparisons={
        "tuned_vs_base": ComparisonHeadline(
            exact_match_diff=40.0,
            exact_match_ci_low=30.0,
            exact_match_ci_high=50.0,
            f1_diff=32.5,
            f1_ci_low=25.0,
            f1_ci_high=40.0,
        )
    },
)


def verdict(promoted: bool = False) -> Verdict:
    return Verdict(
        dataset_fingerprint="fp1",
        config_hash="abc123",
        promoted=promoted,
        reasons=("tuned F1 62.5 is 32.5 points above the base",),
        headline=HEADLINE,
        metrics_uri="gs://b/runs/r1/metrics.json",
        job_name="projects/1/locations/l/tuningJobs/7",
        model="projects/1/locations/l/endpoints/8",
        tuned_model="projects/1/locations/l/models/9@1",
        run_id="r1",
        decided_at="2026-12-01T02:30:00+00:00",
        pipeline_id="gemini_squad_tuning",
    )


def test_a_verdict_is_found_by_data_and_config_and_rejections_count(tmp_path: Path) -> None:
    prefix = str(tmp_path)
    assert read_verdict(prefix, "fp1", "abc123") is None
    uri = write_verdict(prefix, verdict(promoted=False))
    assert uri == storage.join_uri(prefix, "verdicts", "fp1-abc123.json")
    assert read_verdict(prefix, "fp1", "abc123") == verdict(promoted=False)
    assert read_verdict(prefix, "fp1", "other") is None  # another config was never judged
    write_verdict(prefix, verdict(promoted=True))  # judged again: the latest judgement counts
    found = read_verdict(prefix, "fp1", "abc123")
    assert found is not None and found.promoted
    assert found.describe() == "promoted by run r1 on 2026-12-01T02:30:00+00:00 (tuned F1 62.5)"


def test_a_verdict_round_trips_with_its_numbers() -> None:
    data = json.loads(json.dumps(verdict().to_json()))
    assert data["headline"]["tuned_vs_base_f1_ci_low"] == 25.0
    assert Verdict.from_json(data) == verdict()


def test_an_unreadable_verdict_fails_saying_what_to_do(tmp_path: Path) -> None:
    uri = verdict_uri(str(tmp_path), "fp1", "abc123")
    storage.write_text(uri, "{not json")
    with pytest.raises(CorruptVerdictError, match="Delete it to have the model judged again"):
        read_verdict(str(tmp_path), "fp1", "abc123")


def test_a_key_that_cannot_name_a_file_is_refused() -> None:
    with pytest.raises(ValueError, match=r"config_hash '\.\./x' cannot name a verdict file"):
        verdict_uri("gs://b/p", "fp1", "../x")
