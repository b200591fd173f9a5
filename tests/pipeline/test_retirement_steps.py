"""The retirement guard as the pipeline runs it: check_params fails first, warnings reach the summary."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from gemini_qa_tuning.champion import ChampionRecord, new_champion_record
from gemini_qa_tuning.contracts import CurrentChampion, RunSummary
from gemini_qa_tuning.pipeline import steps
from gemini_qa_tuning.pipeline.params import PipelineParams
from gemini_qa_tuning.tuning import default_catalog

DAG_ID = "gemini_squad_tuning"


@pytest.fixture
def today(monkeypatch: pytest.MonkeyPatch) -> date:
    pinned = date(2026, 12, 1)
    monkeypatch.setattr(steps, "today_utc", lambda: pinned)
    return pinned


def test_the_default_base_model_passes_the_guard(today: date) -> None:
    params = steps.check_params({}, DAG_ID)
    assert params.base_model == "gemini-3.5-flash-lite"
    assert params.model_catalog_uri is None


@pytest.mark.parametrize(
    ("base_model", "expected"),
    [
        ("gemini-2.5-flash", "gemini-2.5-flash retired on 2026-10-20 (new tuning blocked from 2026-09-20)"),
        ("gemini-2.0-flash-001", "gemini-2.0-flash-001 retired on 2026-06-01"),
        ("gemini-9.9-ultra", "not a model this catalog knows as tunable"),
        ("gemini-3.8-flash", "cannot be tuned on Vertex AI"),
    ],
)
def test_check_params_fails_for_a_base_model_that_cannot_be_tuned(today: date, base_model: str, expected: str) -> None:
    with pytest.raises(AirflowFailException, match=expected.replace("(", r"\(").replace(")", r"\)")):
        steps.check_params({"base_model": base_model}, DAG_ID)


def test_check_params_warns_in_the_log_60_days_ahead(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(steps, "today_utc", lambda: date(2027, 3, 1))
    steps.check_params({"base_model": "gemini-3.5-flash"}, DAG_ID)
    assert "gemini-3.5-flash retires on 2027-05-19 or later" in caplog.text


def test_a_catalog_file_given_by_model_catalog_uri_is_the_one_checked(today: date, tmp_path: Path) -> None:
    data = json.loads(json.dumps(default_catalog().to_json()))
    data["models"].append(dict(data["models"][0], name="gemini-9.9-ultra", retirement_date=None))
    path = tmp_path / "models.json"
    path.write_text(json.dumps(data), encoding="utf-8")

    params = steps.check_params({"base_model": "gemini-9.9-ultra", "model_catalog_uri": str(path)}, DAG_ID)

    assert params.model_catalog().model("gemini-9.9-ultra") is not None
    with pytest.raises(AirflowFailException, match=r"model_catalog_uri: model catalog .*cannot be read"):
        steps.check_params({"model_catalog_uri": str(tmp_path / "missing.json")}, DAG_ID)


def test_the_catalog_price_of_an_override_file_is_used(today: date, tmp_path: Path) -> None:
    data = json.loads(json.dumps(default_catalog().to_json()))
    data["models"][0]["price_per_million_training_tokens_usd"] = 2.5
    path = tmp_path / "models.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert steps._training_price(PipelineParams(model_catalog_uri=str(path))) == 2.5
    assert steps._training_price(PipelineParams()) is None  # no official price: the budget asks for the Param


def test_a_promotion_records_the_base_model_and_a_retired_champion_base_warns(today: date) -> None:
    record = new_champion_record(
        model="projects/123/locations/us-central1/endpoints/9",
        dataset_fingerprint="fp",
        tuned_model=None,
        tuning_job=None,
        headline={},
        promoted_at="2026-08-01T00:00:00+00:00",
        run_id="r",
        base_model="gemini-2.5-flash",
    )
    assert ChampionRecord.from_json(record.to_json()).base_model == "gemini-2.5-flash"
    warnings = steps.champion_warnings(CurrentChampion(record=record, generation=1), PipelineParams())
    assert len(warnings) == 1 and "which retired on 2026-10-20: it no longer answers" in warnings[0]
    assert steps.champion_warnings(None, PipelineParams()) == []


def test_the_run_summary_carries_the_warnings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, today: date) -> None:
    champion = CurrentChampion(
        record=ChampionRecord(model="projects/1/locations/l/endpoints/2", base_model="gemini-2.5-flash"), generation=1
    )
    summary = RunSummary.from_task_results(
        run_id="run-1", exported=None, plan=None, job=None, tuned=None, comparison=None, decision=None, promoted=None
    )
    params = PipelineParams(gcs_prefix=str(tmp_path))
    monkeypatch.setattr(steps, "as_connection", lambda params, hook=None: _no_connection())

    written = steps.summarize_run(summary, params, champion)

    assert len(written.warnings) == 1 and "gemini-2.5-flash" in written.warnings[0]
    assert RunSummary.from_json(json.loads(json.dumps(written.to_json()))) == written
    stored = json.loads((tmp_path / "runs" / "run-1" / "summary.json").read_text(encoding="utf-8"))
    assert stored["warnings"] == list(written.warnings)


def _no_connection() -> object:
    import contextlib

    return contextlib.nullcontext()
