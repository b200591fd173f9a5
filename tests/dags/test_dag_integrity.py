"""Every DAG file imports cleanly, fast, and follows the project's conventions."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGS_FOLDER = REPO_ROOT / "dags"
DAG_FILES = sorted(DAGS_FOLDER.glob("*.py"))


@pytest.fixture(scope="module")
def dag_bag() -> Any:
    from tests.airflow_lines import dag_bag_class

    DagBag = dag_bag_class()

    return DagBag(dag_folder=str(DAGS_FOLDER))


def test_there_are_dags(dag_bag: Any) -> None:
    assert DAG_FILES, "no DAG files found"
    assert dag_bag.dags, "no DAG was collected"


def test_every_dag_imports_without_errors(dag_bag: Any) -> None:
    assert dag_bag.import_errors == {}


def test_every_dag_follows_the_conventions(dag_bag: Any) -> None:
    for dag_id, dag in dag_bag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.max_active_runs == 1, f"{dag_id}: max_active_runs must be 1"
        assert dag.catchup is False, f"{dag_id}: catchup must be off"
        assert dag.doc_md and dag.doc_md.lstrip().startswith("##"), f"{dag_id}: doc_md must start with a ## title"
        for task in dag.tasks:
            assert task.retries >= 2, f"{dag_id}.{task.task_id} has retries={task.retries}, needs >= 2"


def test_every_param_is_described(dag_bag: Any) -> None:
    for dag_id, dag in dag_bag.dags.items():
        for name, param in dag.params.items():
            assert param.description, f"{dag_id}: Param {name!r} has no description"
            assert "type" in param.schema, f"{dag_id}: Param {name!r} has no type"


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda path: path.name)
def test_dag_file_parses_in_under_a_second(dag_file: Path) -> None:
    """Parse time in a fresh interpreter, after Airflow itself is imported (that cost is not ours)."""
    code = (
        "import time, runpy, airflow.sdk\n"
        "start = time.perf_counter()\n"
        f"runpy.run_path({str(dag_file)!r})\n"
        "print(time.perf_counter() - start)\n"
    )
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    seconds = float(result.stdout.strip().splitlines()[-1])
    assert seconds < 1.0, f"{dag_file.name} took {seconds:.2f} s to parse (total {time.monotonic() - started:.1f} s)"
