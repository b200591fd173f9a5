"""The deferrable sensor inside ``dag.test()``: it defers, the trigger runs, the task resumes and succeeds."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

logger = logging.getLogger(__name__)
DAGS_FOR_TESTS = Path(__file__).resolve().parents[1] / "dags_for_tests"
DAG_ID = "test_tuning_launch_and_sense"


@pytest.fixture
def test_dag(airflow_db: float, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The test DAG, in a DAG bundle of its own (tests/dags_for_tests) that dag.test() syncs and serializes."""
    from tests.airflow_lines import dag_bag_class

    DagBag = dag_bag_class()

    # dag.test() reads the DAG back from the configured bundles; the dags-folder bundle's path was fixed
    # when Airflow was imported, so name a bundle for this folder instead of changing DAGS_FOLDER.
    bundle = {
        "name": "vertex-tuning-tests",
        "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
        "kwargs": {"path": str(DAGS_FOR_TESTS), "refresh_interval": 0},
    }
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([bundle]))
    bag = DagBag(dag_folder=str(DAGS_FOR_TESTS))
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag(DAG_ID)


def test_sensor_defers_and_resumes_in_dag_test(
    test_dag: Any, training_uri: str, vertex_emulator: Any, local_airflow_env: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.utils.state import DagRunState, TaskInstanceState

    from gemini_qa_tuning.sensors.tuning import TuningJobSensor
    from gemini_qa_tuning.triggers.tuning import TuningJobTrigger

    vertex_emulator.reset()
    # The job is held until the trigger runs, so the sensor always finds it unfinished and defers (by the
    # clock alone, a slow start of the sensor task could find it ended and return without deferring).
    vertex_emulator.configure(hold_jobs_at="JOB_STATE_PENDING")
    calls: list[str] = []
    real_run, real_complete = TuningJobTrigger.run, TuningJobSensor.execute_complete

    def recording_run(self: TuningJobTrigger) -> Any:
        calls.append("trigger.run")
        vertex_emulator.advance_job(self.job_name, "JOB_STATE_SUCCEEDED")
        return real_run(self)

    def recording_complete(self: TuningJobSensor, context: Any, event: dict[str, Any]) -> Any:
        calls.append(f"execute_complete:{event['status']}")
        return real_complete(self, context, event)

    monkeypatch.setattr(TuningJobTrigger, "run", recording_run)
    monkeypatch.setattr(TuningJobSensor, "execute_complete", recording_complete)

    started = time.monotonic()
    dag_run = test_dag.test(run_conf={"training_uri": training_uri, "dataset_fingerprint": "dag-test"})
    logger.info("dag.test() took %.1f s", time.monotonic() - started)

    assert dag_run.state == DagRunState.SUCCESS
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states == {"launch_tuning_job": TaskInstanceState.SUCCESS, "wait_for_tuning_job": TaskInstanceState.SUCCESS}
    assert calls == ["trigger.run", "execute_complete:success"]
    wait_ti = dag_run.get_task_instance("wait_for_tuning_job")
    result = wait_ti.xcom_pull(task_ids="wait_for_tuning_job")
    assert result["state"] == "JOB_STATE_SUCCEEDED" and result["endpoint"]
    assert vertex_emulator.request_counts()["tuningJobs.create"] == 1


def test_dry_run_in_dag_test_creates_nothing_and_skips_the_sensor(
    test_dag: Any, training_uri: str, vertex_emulator: Any, local_airflow_env: dict
) -> None:
    from airflow.utils.state import DagRunState, TaskInstanceState

    vertex_emulator.reset()
    dag_run = test_dag.test(run_conf={"training_uri": training_uri, "dry_run": True})
    assert dag_run.state == DagRunState.SUCCESS
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states == {"launch_tuning_job": TaskInstanceState.SUCCESS, "wait_for_tuning_job": TaskInstanceState.SKIPPED}
    launched = dag_run.get_task_instance("launch_tuning_job").xcom_pull(task_ids="launch_tuning_job")
    assert launched["dry_run"] is True and launched["job_name"] is None
    assert sum(vertex_emulator.request_counts().values()) == 0


def test_serialized_tasks_carry_the_console_link(test_dag: Any) -> None:
    from tests.airflow_lines import dag_serialization

    DagSerialization = dag_serialization()

    tasks = DagSerialization.serialize_dag(test_dag)["tasks"]
    links = {task["__var"]["task_id"]: task["__var"].get("_operator_extra_links") for task in tasks}
    expected = {"Vertex AI tuning job": "_link_VertexTuningJobLink"}
    assert links == {"launch_tuning_job": expected, "wait_for_tuning_job": expected}
