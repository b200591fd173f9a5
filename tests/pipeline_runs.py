"""Run the pipeline DAG in ``dag.test()`` against the local emulators: shared by the tests that need a
real run (tests/integration, tests/reporting)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gemini_qa_tuning import storage
from gemini_qa_tuning.run_summary import find_latest_summary

DAGS_FOLDER = Path(__file__).resolve().parents[1] / "dags"
DAG_ID = "gemini_squad_tuning"
FAST_JOBS = {"pending_seconds": 0.05, "queued_seconds": 0.05, "running_seconds": 0.5}


def load_pipeline_dag(vertex_emulator: Any) -> Any:
    """The pipeline DAG parsed from dags/, with the Vertex AI emulator reset and its jobs made fast.

    A test module's ``pipeline_dag`` fixture returns it (with ``airflow_db`` and ``local_airflow_env``).
    """
    from airflow.dag_processing.dagbag import DagBag

    vertex_emulator.reset()
    vertex_emulator.configure(**FAST_JOBS)
    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag(DAG_ID)


def run_pipeline(dag: Any, prefix: str, **conf: Any) -> tuple[str, dict[str, str], dict[str, Any] | None]:
    """Run the DAG once; return the run state, each task's state and the run summary (if written)."""
    dag_run = dag.test(run_conf={"source_kind": "sample", "gcs_prefix": prefix, "poll_interval_seconds": 1, **conf})
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    summary_uri = find_latest_summary(prefix)
    summary = json.loads(storage.read_text(summary_uri)) if summary_uri else None
    return str(dag_run.state), states, summary
