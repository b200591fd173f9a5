"""The README's "Use the operators in your own DAG" example (docs/examples/tune_my_data.py) parses and runs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "docs" / "examples"
EXAMPLE = EXAMPLES / "tune_my_data.py"
DAG_ID = "tune_my_data"


def _bag(monkeypatch: pytest.MonkeyPatch) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    # dag.test() reads the DAG back from the configured bundles: name one for the examples folder.
    bundle = {
        "name": "docs-examples",
        "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
        "kwargs": {"path": str(EXAMPLES), "refresh_interval": 0},
    }
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([bundle]))
    return DagBag(dag_folder=str(EXAMPLES))


def test_readme_shows_the_example_file_verbatim() -> None:
    """The README quotes the tested file; a change to one without the other fails here."""
    readme = (REPO_ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    assert EXAMPLE.read_text() in blocks


def test_example_dag_imports_and_wires_launch_then_deferrable_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    from gemini_qa_tuning import LaunchTuningJobOperator, TuningJobSensor

    bag = _bag(monkeypatch)
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags[DAG_ID]
    assert dag.tags and dag.default_args["retries"] >= 1 and not dag.catchup and dag.max_active_runs == 1
    assert dag.doc_md.startswith("## ")
    launch, wait = dag.get_task("launch_tuning_job"), dag.get_task("wait_for_tuning_job")
    assert isinstance(launch, LaunchTuningJobOperator) and isinstance(wait, TuningJobSensor)
    assert wait.upstream_task_ids == {"launch_tuning_job"}
    assert wait.deferrable is True
    # Native typed arguments, not strings to re-parse.
    assert (launch.adapter_size, launch.learning_rate_multiplier) == (4, 1.0)
    assert dag.params["dry_run"] is True  # copying the example costs nothing until a user says so


@pytest.fixture
def example_dag(airflow_db: float, monkeypatch: pytest.MonkeyPatch) -> Any:
    bag = _bag(monkeypatch)
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag(DAG_ID)


@pytest.mark.integration
@pytest.mark.slow
def test_example_dag_tunes_against_the_emulators(
    example_dag: Any, tuning_files: tuple[str, str], fast_vertex: Any
) -> None:
    from airflow.utils.state import DagRunState, TaskInstanceState

    for task in example_dag.tasks:
        task.retries = 0  # a failure shows now, not after the example's retry delays
    training, validation = tuning_files
    conf = {"training_uri": training, "validation_uri": validation, "dry_run": False, "poll_interval": 0.05}
    dag_run = example_dag.test(run_conf=conf)

    assert dag_run.state == DagRunState.SUCCESS
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states == {"launch_tuning_job": TaskInstanceState.SUCCESS, "wait_for_tuning_job": TaskInstanceState.SUCCESS}
    assert fast_vertex.request_counts()["tuningJobs.create"] == 1
    launched = dag_run.get_task_instance("launch_tuning_job").xcom_pull(task_ids="launch_tuning_job")
    assert "my-team-qa" in json.dumps(launched, default=str), "the job's identity names the owning pipeline"
