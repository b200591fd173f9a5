"""Every DAG file imports cleanly, fast, and follows the project's conventions."""

from __future__ import annotations

import json
import subprocess
import sys
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


#: What a DAG file must not import while it is parsed: the DAG processor re-parses every file every
#: ``min_file_process_interval``, so these load when a task runs (parse time itself: bench/dag_parse.py).
HEAVY_AT_PARSE_TIME = (
    "google.genai",
    "google.cloud.storage",
    "google.cloud.aiplatform",
    "datasets",
    "pyarrow",
    "airflow.providers.google.cloud",  # its hooks and operators (Airflow 3.1 reads the provider's info at parse)
    "airflow.providers.google.common",
    "gemini_qa_tuning.pipeline.steps",
    "gemini_qa_tuning.evaluation.runner",
    "gemini_qa_tuning.dataset.pipeline",
)


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda path: path.name)
def test_dag_file_imports_nothing_heavy_while_parsing(dag_file: Path) -> None:
    """In a fresh interpreter, after Airflow itself is imported (that cost is not ours)."""
    code = (
        "import json, runpy, sys, airflow.sdk\n"
        "before = set(sys.modules)\n"
        f"runpy.run_path({str(dag_file)!r})\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    imported = json.loads(result.stdout.strip().splitlines()[-1])
    heavy = sorted(
        name for name in imported if any(name == root or name.startswith(f"{root}.") for root in HEAVY_AT_PARSE_TIME)
    )
    assert not heavy, f"{dag_file.name} imports {heavy} while it is parsed; import them inside the task instead"


#: The tuning pipeline's stages, each a task group whose ids are not prefixed (task ids stay as they are).
PIPELINE_STAGES = ("dataset", "tuning", "evaluation", "promotion", "report")


def test_every_task_has_docs(dag_bag: Any) -> None:
    """The UI's *Task Instance Details* shows them: what the task does, reads, writes, and when it skips."""
    undocumented = [
        f"{dag_id}.{task.task_id}"
        for dag_id, dag in dag_bag.dags.items()
        for task in dag.tasks
        if not (task.doc_md or "").strip() or len((task.doc_md or "").split()) < 12
    ]
    assert not undocumented, f"tasks without docs (doc_md, or the TaskFlow function's docstring): {undocumented}"


def test_every_pipeline_task_is_in_a_stage_group(dag_bag: Any) -> None:
    dag = dag_bag.dags["gemini_squad_tuning"]
    outside = [task.task_id for task in dag.tasks if task.task_group is None or task.task_group.group_id is None]
    assert not outside, f"tasks outside a stage's task group: {outside}"
    groups = {task.task_group.group_id for task in dag.tasks}
    assert groups == set(PIPELINE_STAGES), f"stage groups {sorted(groups)}, expected {sorted(PIPELINE_STAGES)}"
    for group_id in PIPELINE_STAGES:
        group = dag.task_group.children[group_id]
        assert group.tooltip, f"task group {group_id!r} has no tooltip"
        assert group.prefix_group_id is False, f"task group {group_id!r} prefixes its task ids"
    assert all("." not in task.task_id for task in dag.tasks), "task ids must stay unprefixed"
