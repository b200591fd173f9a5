"""## Launch a tuning job and wait for it (test DAG)

Used only by ``tests/sensors/test_tuning_sensor_dag.py`` to run the launch operator and the deferrable
sensor inside ``dag.test()``: the sensor defers, ``dag.test()`` runs the trigger in process, and the
task resumes in ``execute_complete``. The real pipeline DAG lives in ``dags/``.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from gemini_qa_tuning.operators.tuning import LaunchTuningJobOperator
from gemini_qa_tuning.sensors.tuning import TuningJobSensor

with DAG(
    dag_id="test_tuning_launch_and_sense",
    doc_md=__doc__,
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["test", "vertex-tuning"],
    default_args={"retries": 0},
    params={
        "training_uri": Param("gs://gemini-qa-tuning/missing/train.jsonl", type="string"),
        "dataset_fingerprint": Param("dag-test", type="string"),
        "dry_run": Param(False, type="boolean"),
        "poll_interval": Param(0.05, type="number"),
    },
    render_template_as_native_obj=True,
) as dag:
    launch = LaunchTuningJobOperator(
        task_id="launch_tuning_job",
        training_uri="{{ params.training_uri }}",
        dataset_fingerprint="{{ params.dataset_fingerprint }}",
        dry_run="{{ params.dry_run }}",
    )
    wait = TuningJobSensor(
        task_id="wait_for_tuning_job",
        job_name="{{ ti.xcom_pull(task_ids='launch_tuning_job')['job_name'] }}",
        poll_interval="{{ params.poll_interval }}",
        timeout=60,
    )
    launch >> wait
