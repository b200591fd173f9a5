"""The run report of real runs: the pipeline DAG in ``dag.test()`` against the GCS and Vertex AI
emulators, twice, then the second run's ``report.html`` read back with an HTML parser (every section,
the numbers of its ``metrics.json`` as rounded on the page) and opened in headless Chromium (no request
leaves the page, the history chart's SVG is visible). The screenshot's path is printed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gemini_qa_tuning import storage
from gemini_qa_tuning.reporting import SCORE_DECIMALS
from tests.browser import fresh_page
from tests.pipeline_runs import load_pipeline_dag, run_pipeline
from tests.reporting.html_page import Element, parse_page

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO_ROOT / ".local" / "report-screenshot.png"
PRICED = {"price_per_million_training_tokens": 2.0}
SECTIONS = ("decision", "scores", "cost", "dataset", "tuning-job", "disagreements", "history")


def rounded(value: float) -> str:
    return f"{value:.{SCORE_DECIMALS}f}"


def signed(value: float) -> str:
    return f"{value:+.{SCORE_DECIMALS}f}"


@pytest.fixture
def pipeline_dag(airflow_db: float, local_airflow_env: dict, vertex_emulator: Any) -> Any:
    return load_pipeline_dag(vertex_emulator)


@pytest.fixture
def two_runs(pipeline_dag: Any, gcs_bucket_uri: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A first run that tunes and promotes, and a second that tunes again (force_retrain) on the same data.

    With a training price, so the cost section shows an estimate and a bill rather than "unknown".
    """
    first_state, first_tasks, first = run_pipeline(pipeline_dag, gcs_bucket_uri, **PRICED)
    assert first_state == "success" and first is not None, first_tasks
    second_state, second_tasks, second = run_pipeline(pipeline_dag, gcs_bucket_uri, force_retrain=True, **PRICED)
    assert second_state == "success" and second is not None, second_tasks
    assert second["run_id"] != first["run_id"]
    return first, second


def test_a_real_runs_report_shows_its_metrics_and_history_and_opens_offline_in_chromium(
    two_runs: tuple[dict, dict],
) -> None:
    first, summary = two_runs
    check_parsed_page(first, summary)
    check_in_browser(summary)


def check_parsed_page(first: dict[str, Any], summary: dict[str, Any]) -> None:
    metrics_uri = summary["evaluation"]["metrics_uri"]
    assert summary["report_uri"] == metrics_uri.removesuffix("metrics.json") + "report.html"
    metrics = json.loads(storage.read_text(metrics_uri))
    page = parse_page(storage.read_text(summary["report_uri"]))

    for section in SECTIONS:
        assert page.find_all("section", id=section), f"section {section!r} missing"
    selection = summary["checkpoint_selection"]
    assert selection["chosen_checkpoint_id"], "the run's tuning job left several checkpoints to choose from"
    for score in selection["scores"]:
        row = page.find("section", id="checkpoints").find("tr", data_checkpoint=score["checkpoint"]["checkpoint_id"])
        assert row.find("td", data_measure="exact_match").text == rounded(score["exact_match"])
        assert row.find("td", data_measure="f1").text == rounded(score["f1"])

    decision = page.find("section", id="decision").find("p", class_="decision promoted")
    assert decision.text.startswith("Promoted the tuned model to champion: F1 +"), decision.text
    for role, entry in metrics["models"].items():
        row = page.find("tr", data_role=role)
        assert row.find("td", data_measure="exact_match").text == rounded(entry["exact_match"])
        assert row.find("td", data_measure="f1").text == rounded(entry["f1"])
        assert " .. " in row.text  # its interval
    for name, comparison in metrics["comparisons"].items():
        row = page.find("tr", data_comparison=name)
        assert row.find("td", data_measure="f1_diff").text == signed(comparison["f1_diff"])
        assert row.find("td", data_measure="exact_match_diff").text == signed(comparison["exact_match_diff"])

    dataset = summary["dataset"]
    assert page.find("code", data_field="fingerprint").text == dataset["fingerprint"]
    assert page.find("span", data_field="duplicates_dropped").text == str(dataset["duplicates_dropped"])
    assert page.find("td", data_count="test").text == str(dataset["counts"]["test"])
    for reason, count in dataset["rejects_by_reason"].items():
        assert page.find("tr", data_reason=reason).find_all("td")[0].text == str(count)
    job = page.find("section", id="tuning-job")
    assert summary["tuning_job"]["job_name"] in job.text
    assert page.find("tr", data_hyperparameter="epochs").text.endswith(str(summary["tuning_job"]["epochs"]))
    assert page.find("td", data_field="duration").text != "unknown"
    estimated, billed = summary["tuning_job"]["estimated_cost_usd"], summary["tuned_model"]["actual_cost_usd"]
    assert estimated is not None and billed is not None, "a training price gives both costs"
    assert page.find("td", data_cost="estimated").text == f"{estimated:.2f} USD"
    assert page.find("td", data_cost="billed").text == f"{billed:.2f} USD"

    samples = page.find("section", id="disagreements").find_all("tr")[1:]  # after the header row
    assert samples, "the stand-in tuned model answers differently from the base: some disagreements are shown"
    assert all(row.find_all("td", data_role="tuned") and row.find_all("td", data_role="base") for row in samples)

    history_runs = [row.attrs["data-run"] for row in page.find("table", id="history-points").find_all("tr")[1:]]
    assert history_runs == [first["run_id"], summary["run_id"]]
    assert _svg(page).find_all("path") or _svg(page).find_all("polyline")


def _svg(page: Element) -> Element:
    (svg,) = page.find("figure", id="history-chart").find_all("svg")
    return svg


def check_in_browser(summary: dict[str, Any]) -> None:
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    report_file = SCREENSHOT.with_name("report-under-test.html")
    report_file.write_bytes(storage.read_bytes(summary["report_uri"]))
    requests: list[str] = []
    failed: list[str] = []
    with fresh_page(1280, 900) as page:
        page.on("request", lambda request: requests.append(request.url))
        page.on("requestfailed", lambda request: failed.append(f"{request.url}: {request.failure}"))
        page.goto(report_file.as_uri(), wait_until="networkidle")
        chart = page.locator("#history-chart svg")
        chart.wait_for(state="visible")
        box = chart.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 150, box
        assert page.locator("#decision .decision").inner_text().startswith("Promoted the tuned model")
        page.screenshot(path=str(SCREENSHOT), full_page=True)

    assert failed == [], failed
    assert requests == [report_file.as_uri()], f"the page fetched more than itself: {requests}"
    print(f"\nrun report screenshot: {SCREENSHOT}")
