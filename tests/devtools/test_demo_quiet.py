"""``make demo`` as a user sees it: one line per task, the summary, on one screen; the log in its file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]
# Tasks every demo run goes through (force_retrain: tuning and evaluation run every time).
TASKS = (
    "check_params",
    "refresh_dataset",
    "export_dataset",
    "find_champion",
    "plan_tuning",
    "launch_tuning_job",
    "wait_for_tuning_job",
    "evaluate_base",
    "evaluate_tuned",
    "compare_models",
    "decide_promotion",
    "summarize_run",
)
ONE_SCREEN = 40


def test_demo_prints_one_line_per_task_and_the_summary_on_one_screen(tmp_path: Path) -> None:
    state = tmp_path / "demo-state"
    completed = subprocess.run(
        [sys.executable, "-m", "devtools.demo"],
        cwd=REPO_ROOT,
        env={**os.environ, "DEMO_STATE_DIR": str(state)},
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    lines = completed.stdout.splitlines()
    print(completed.stdout)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert len(lines) <= ONE_SCREEN, f"{len(lines)} lines; the demo must fit on one screen"
    for task in TASKS:
        task_lines = [line for line in lines if line.split()[1:2] == [task]]
        assert task_lines, f"no line for {task}"
        assert any(" success " in line for line in task_lines), task_lines
    assert not [line for line in lines if "[info" in line or "Returned value" in line], "Airflow log lines leaked"
    assert any(line.startswith("Evaluation") for line in lines)
    assert any(line.startswith("Promotion") for line in lines)
    log = (state / "demo.log").read_text()
    assert "[DAG TEST] end task task_id=summarize_run" in log  # the full log went to the file
    assert "XCom not found" not in log  # a skipped task's missing result is no error
    assert "Outcome: promoted: F1 " in log or "Outcome: kept champion: " in log
    assert "Skipping task." in log and "reason='No champion yet" in log  # skipped tasks say why
    assert str(state / "demo.log") in lines[-1] or lines[-1].startswith("Run report:")
