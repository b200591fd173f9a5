"""The *Results* tab of a finished DAG run, in a real browser: the decision and the scores are there.

Against the session's ``make airflow`` stack (fixture ``local_airflow``) and its sample run (fixture
``sample_run``: triggered through the REST API and watched to its end; the REST test reads it too): once it
has succeeded, open the run's page in headless Chromium at the plugin's tab
(``/dags/<dag>/runs/<run>/plugin/gemini-qa-results``) and read the plugin's page inside it. The run's task
logs must hold no ``XCom not found`` error line (a skipped branch's missing result is no error), and the
run's note (written through the REST API, Param ``run_note_conn_id``) says what it did.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.airflow_stack import DAG_ID, FinishedRun, LocalAirflow
from tests.browser import fresh_page
from tests.ui.test_trigger_form import UI_TIMEOUT_MS

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO_ROOT / ".local" / "test-artifacts" / "ui-results" / "results-tab.png"


@pytest.fixture
def browser_page() -> Iterator[Any]:
    with fresh_page(timeout_ms=UI_TIMEOUT_MS) as page:
        yield page


def test_the_results_tab_of_a_finished_run_shows_the_decision_and_the_scores(
    local_airflow: LocalAirflow, sample_run: FinishedRun, browser_page: Any
) -> None:
    # The session's sample run (fixture sample_run), which also writes its outcome as its note through this
    # stack's REST API (Param run_note_conn_id); the REST test reads the same run.
    run_id, watch = sample_run.run_id, sample_run.watch
    assert sample_run.conf["run_note_conn_id"], sample_run.conf
    if watch.run_state != "success":
        local_airflow.fail("the run failed", run_id, watch)

    note = local_airflow.api.request("GET", local_airflow.run_path(run_id))["note"]
    assert note and note.startswith(("promoted:", "kept champion:")), note

    for task_id in watch.task_states:
        assert "XCom not found" not in local_airflow.task_log(run_id, task_id), f"{task_id} logged 'XCom not found'"

    page = browser_page
    page.goto(
        f"{local_airflow.base_url}/dags/{DAG_ID}/runs/{urllib.parse.quote(run_id, safe='')}/plugin/gemini-qa-results"
    )
    frame = page.frame_locator("iframe").first
    outcome = frame.locator("#outcome")
    outcome.wait_for()
    text = outcome.inner_text()
    assert text.startswith(("promoted:", "kept champion:")), text
    scores = frame.locator("#scores").inner_text()
    assert "Exact Match" in scores and "base" in scores and "tuned" in scores, scores
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    print(f"\nresults tab: {text}\nscreenshot: {SCREENSHOT}")

    # The summarize_run task's page has the extra link "Run report": offline it opens the report in the GCS
    # emulator (not a dead console page), and following it shows the report's decision.
    quoted_run = urllib.parse.quote(run_id, safe="")
    links = local_airflow.api.request(
        "GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{quoted_run}/taskInstances/summarize_run/links"
    )["extra_links"]
    href = links.get("Run report") or ""
    assert href.startswith("http://127.0.0.1:") and "/storage/v1/b/" in href, links  # the emulator's object
    assert href.endswith("report.html?alt=media"), href
    # The task's Details tab lists its extra links (as buttons opening their URL).
    page.goto(f"{local_airflow.base_url}/dags/{DAG_ID}/runs/{quoted_run}/tasks/summarize_run/details")
    report_link = page.locator(f'a[href="{href}"]')
    try:
        report_link.wait_for(timeout=60_000)
    finally:
        page.screenshot(path=str(SCREENSHOT.with_name("summarize-run-task.png")), full_page=True)
    assert report_link.inner_text().strip() == "Run report"
    page.goto(href)
    decision = page.locator("#decision").inner_text()
    assert "Promoted" in decision or "Kept" in decision, decision
    print(f"run report link: {href}")
