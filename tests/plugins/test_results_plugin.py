"""The results plugin: its registration (a dag_run tab) and its page for a summary on a local path."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
from fastapi.testclient import TestClient

from gemini_qa_tuning.run_summary import write_run_summary

PLUGIN_FILE = Path(__file__).resolve().parents[2] / "plugins" / "gemini_qa_results.py"


@pytest.fixture(scope="module")
def plugin() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gemini_qa_results", PLUGIN_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gemini_qa_results"] = module
    spec.loader.exec_module(module)
    return module


def test_the_plugin_is_a_tab_of_every_dag_run(plugin: ModuleType) -> None:
    (view,) = plugin.GeminiQaResultsPlugin.external_views
    assert view["destination"] == "dag_run"
    assert view["href"] == "gemini-qa/runs?dag_id={DAG_ID}&run_id={RUN_ID}"
    (app,) = plugin.GeminiQaResultsPlugin.fastapi_apps
    assert app["url_prefix"] == "/gemini-qa"


SUMMARY = {
    "dataset": None,
    "tuning_plan": {"launch": True, "reason": "new data", "estimated_cost_usd": None},
    "tuning_job": None,
    "tuned_model": None,
    "evaluation": {
        "metrics_uri": "gs://b/p/runs/r/metrics.json",
        "questions": 120,
        "base_exact_match": 50.0,
        "base_f1": 60.5,
        "tuned_exact_match": 70.0,
        "tuned_f1": 80.25,
        **{
            f"tuned_vs_base_{measure}_{suffix}": value
            for measure in ("exact_match", "f1")
            for suffix, value in (("diff", 19.75), ("ci_low", 12.5), ("ci_high", 26.0))
        },
    },
    "promotion": {"promote": True, "reasons": ["F1 +19.75 over the base"]},
    "promoted_champion": None,
    "summary_uri": None,
    "warnings": [],
}


def test_the_page_shows_the_decision_and_the_scores(
    plugin: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = str(tmp_path)
    write_run_summary(prefix, "manual__1", json.loads(json.dumps(SUMMARY)))
    monkeypatch.setattr(plugin, "run_prefix", lambda dag_id, run_id: prefix)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:4443")
    response = TestClient(plugin.results_app).get("/runs", params={"dag_id": "d", "run_id": "manual__1"})
    assert response.status_code == 200
    assert "promoted: F1 +19.8 over the base (95 % CI +12.5 .. +26.0)" in response.text
    assert "<td>tuned</td><td>70.00</td>" in response.text.replace("\n", "")
    assert "gs://b/p/runs/r/metrics.json" in response.text
    # Offline the artifact links open the emulator's object, not a dead console page.
    assert 'href="http://127.0.0.1:4443/storage/v1/b/b/o/p%2Fruns%2Fr%2Fmetrics.json?alt=media"' in response.text


def test_a_run_without_summary_says_so(plugin: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plugin, "run_prefix", lambda dag_id, run_id: str(tmp_path))
    response = TestClient(plugin.results_app).get("/runs", params={"run_id": "manual__2"})
    assert "No summary yet" in response.text
