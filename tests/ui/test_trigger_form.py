"""The trigger form of ``gemini_squad_tuning`` in a real browser, as a new user meets it.

Headless Chromium (Debian's ``chromium``; Playwright cannot download its own browser offline) against the
session's ``make airflow`` stack (fixture ``local_airflow``). Everything a user does goes through the
form: open the DAG, open "Trigger", check Trigger is enabled with the defaults, choose the packaged
sample, set the poll interval and an artifact prefix of its own, submit. The REST API is only read, to
watch the run succeed with the tuning sensor deferred and to check which conf a run got. Then an
out-of-range number of epochs (-2 and 500): the form must keep what was typed (not silently clamp it)
and refuse to trigger, so no run starts with a value the user did not choose.

Each step leaves a screenshot in ``.local/test-artifacts/ui/`` (their paths are printed).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.airflow_stack import DAG_ID, LocalAirflow
from tests.browser import fresh_page

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / ".local" / "test-artifacts" / "ui"
UI_TIMEOUT_MS = 60_000  # a loaded 2-core machine renders the React UI slowly (more so beside a second pytest worker)
RUN_CREATED_SECONDS = 20
REFUSAL_SETTLE_SECONDS = 3
SECTIONS = ("Source", "Split", "Tuning", "Budget", "Evaluation", "Promotion", "Notifications", "Advanced")


class Screenshots:
    """Numbered screenshots of the steps, in the order taken."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.taken: list[Path] = []

    def take(self, step: str) -> Path:
        path = ARTIFACTS / f"{len(self.taken) + 1:02d}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


@pytest.fixture
def page() -> Iterator[Any]:
    """A page of a fresh headless Chromium profile (nothing remembered from an earlier run)."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    with fresh_page(timeout_ms=UI_TIMEOUT_MS) as page:
        yield page


def dag_runs(stack: LocalAirflow) -> list[dict[str, Any]]:
    return list(stack.api.request("GET", f"/api/v2/dags/{DAG_ID}/dagRuns?limit=100")["dag_runs"])


def open_trigger_form(page: Any, stack: LocalAirflow) -> Any:
    """The DAG's page, then its "Trigger" dialog; returns the dialog's Trigger (submit) button."""
    page.goto(f"{stack.base_url}/dags/{DAG_ID}")
    page.get_by_role("button", name="Trigger").first.click()  # the header's "Trigger" (aria name may say more)
    page.get_by_text(f"Trigger Dag - {DAG_ID}").wait_for()
    submit = page.get_by_test_id("trigger-dag-submit")
    submit.wait_for()
    return submit


def open_section(page: Any, section: str) -> None:
    """Sections are collapsible and only one is open at a time: open ``section`` unless it is open."""
    header = page.get_by_role("button", name=section, exact=True)
    if header.get_attribute("aria-expanded") != "true":
        header.click()


def number_field(page: Any, name: str) -> Any:
    return page.locator(f"[id='number-input:element_{name}'] input")


def test_the_trigger_form_starts_an_offline_run_and_refuses_out_of_range_epochs(
    local_airflow: LocalAirflow, page: Any
) -> None:
    shots = Screenshots(page)
    try:
        # 1. the DAG's page and its trigger form, untouched: every section there, Trigger enabled
        page.goto(f"{local_airflow.base_url}/dags/{DAG_ID}")
        page.get_by_text(DAG_ID).first.wait_for()
        shots.take("dag-page")
        submit = open_trigger_form(page, local_airflow)
        for section in SECTIONS:
            assert page.get_by_role("button", name=section, exact=True).is_visible(), f"no section {section}"
        shots.take("trigger-form-defaults")
        assert submit.is_enabled(), "Trigger is disabled with the DAG's defaults (a Param without a valid default)"

        # 2. the offline choices, through the form
        open_section(page, "Source")
        page.locator("#element_source_kind").click()
        page.get_by_role("option", name="Packaged sample (offline demo)").click()
        assert page.locator("input[name='element_source_kind']").input_value() == "sample"
        shots.take("source-sample")
        assert submit.is_enabled(), "Trigger is disabled after choosing the packaged sample"
        gcs_prefix = local_airflow.unique_gcs_prefix("ui")
        open_section(page, "Advanced")
        page.locator("#element_gcs_prefix").fill(gcs_prefix)
        # a pipeline id of its own: the REST test on the same stack tuned this data, which would skip tuning
        pipeline_id = gcs_prefix.rsplit("/", 1)[1]
        page.locator("#element_pipeline_id").fill(pipeline_id)
        poll_interval = number_field(page, "poll_interval_seconds")
        poll_interval.fill("2")
        poll_interval.press("Tab")
        shots.take("advanced-prefix-and-poll-interval")
        assert submit.is_enabled(), "Trigger is disabled after setting the artifact prefix and poll interval"

        # 3. submit through the form, then watch the run it created
        runs_before = {run["dag_run_id"] for run in dag_runs(local_airflow)}
        submit.click()
        deadline = time.monotonic() + RUN_CREATED_SECONDS
        while not (created := [run for run in dag_runs(local_airflow) if run["dag_run_id"] not in runs_before]):
            if time.monotonic() > deadline:
                shots.take("no-run-created")
                local_airflow.fail(f"no run created {RUN_CREATED_SECONDS} s after submitting the form")
            time.sleep(0.5)
        shots.take("submitted")
        (run,) = created
        assert run["conf"]["source_kind"] == "sample", run["conf"]
        assert run["conf"]["gcs_prefix"] == gcs_prefix, run["conf"]
        assert run["conf"]["poll_interval_seconds"] == 2, run["conf"]
        assert run["conf"]["pipeline_id"] == pipeline_id, run["conf"]
        watch = local_airflow.watch_run(run["dag_run_id"])
        local_airflow.assert_succeeded_with_deferred_sensor(run["dag_run_id"], watch)
        page.goto(f"{local_airflow.base_url}/dags/{DAG_ID}/runs/{run['dag_run_id']}")
        page.get_by_text("success").first.wait_for()
        shots.take("run-succeeded")

        # 4. out-of-range epochs: shown as typed, refused, and no run starts with another value
        for typed in ("-2", "500"):
            runs_before = {run["dag_run_id"] for run in dag_runs(local_airflow)}
            submit = open_trigger_form(page, local_airflow)
            open_section(page, "Tuning")
            epochs = number_field(page, "epochs")
            epochs.fill(typed)
            epochs.press("Tab")  # the form used to clamp here: -2 became 1, 500 became 100
            assert epochs.input_value() == typed, f"the form changed epochs {typed} to {epochs.input_value()}"
            shots.take(f"epochs-{typed.replace('-', 'minus')}-typed")
            submit.click()
            page.get_by_text("Failed to Trigger Dag").first.wait_for()
            shots.take(f"epochs-{typed.replace('-', 'minus')}-refused")
            time.sleep(REFUSAL_SETTLE_SECONDS)
            started = [run for run in dag_runs(local_airflow) if run["dag_run_id"] not in runs_before]
            assert not started, f"epochs={typed} started runs with conf {[run['conf'] for run in started]}"
    finally:
        print("\nscreenshots of the trigger form:\n" + "\n".join(f"  {path}" for path in shots.taken))
