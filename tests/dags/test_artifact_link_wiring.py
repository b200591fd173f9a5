"""The pipeline gives each artifact link to the task that leaves the artifact, and the serialized DAG
(what the API server reads) names each link with its XCom key, where the worker stores the URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"

EXPECTED = {
    "export_dataset": {"Dataset folder"},
    "compare_models": {"metrics.json"},
    "wait_for_tuning_job": {"Vertex AI tuning job", "Tuned model", "Endpoint"},
    "summarize_run": {"Run report"},
    "evaluate_base": set(),  # the links are the task's own, not the shared TaskFlow operator class's
}


@pytest.fixture(scope="module")
def pipeline_dag() -> Any:
    from tests.airflow_lines import dag_bag_class

    bag = dag_bag_class()(dag_folder=str(DAGS_FOLDER))
    assert not bag.import_errors, bag.import_errors
    return bag.dags["gemini_squad_tuning"]


def test_each_artifact_link_is_on_the_task_that_leaves_the_artifact(pipeline_dag: Any) -> None:
    for task_id, names in EXPECTED.items():
        assert {link.name for link in pipeline_dag.get_task(task_id).operator_extra_links} == names, task_id


def test_the_serialized_dag_names_each_link_with_its_xcom_key(pipeline_dag: Any) -> None:
    from tests.airflow_lines import dag_serialization

    serialized = dag_serialization().to_dict(pipeline_dag)
    tasks = {task["__var"]["task_id"]: task["__var"] for task in serialized["dag"]["tasks"]}
    for task_id, names in EXPECTED.items():
        stored = tasks[task_id].get("_operator_extra_links", {})
        assert set(stored) == names, task_id
        keys = {link.name: link.xcom_key for link in pipeline_dag.get_task(task_id).operator_extra_links}
        assert stored == keys, task_id
