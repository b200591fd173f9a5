"""## Tune Gemini on my own question-answering data

Launches one Vertex AI supervised tuning job for the JSONL files named in the run's Params, then waits
for it in the triggerer (no worker slot is held while the job trains). A retry or a second run with the
same data and settings finds the job it already paid for instead of creating another one.

Copy this file into your DAGs folder and install the `gemini-qa-tuning` wheel; the
`google_cloud_default` connection needs the Vertex AI User role and read access to the files.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param, XComArg

from gemini_qa_tuning import LaunchTuningJobOperator, TuningJobSensor

with DAG(
    dag_id="tune_my_data",
    doc_md=__doc__,
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["example", "vertex-tuning"],
    default_args={"retries": 2},
    params={
        "training_uri": Param("gs://my-bucket/qa/train.jsonl", type="string", title="Training JSONL"),
        "validation_uri": Param(None, type=["null", "string"], title="Validation JSONL (optional)"),
        "epochs": Param(3, type="integer", minimum=1, maximum=100),
        "dry_run": Param(True, type="boolean", description="Validate and log the request; create nothing."),
        "poll_interval": Param(60, type="number", minimum=0.01, description="Seconds between status reads."),
    },
    # Templates render native values (int, bool, None), so the operators receive typed arguments.
    render_template_as_native_obj=True,
) as dag:
    launch = LaunchTuningJobOperator(
        task_id="launch_tuning_job",
        training_uri="{{ params.training_uri }}",
        validation_uri="{{ params.validation_uri }}",
        epochs="{{ params.epochs }}",
        adapter_size=4,
        learning_rate_multiplier=1.0,
        labels={"team": "my-team"},
        # Names the owner in the job's identity labels: other pipelines tuning the same data in the same
        # project never reuse or skip this pipeline's jobs.
        pipeline_id="my-team-qa",
        dry_run="{{ params.dry_run }}",
        gcp_conn_id="google_cloud_default",
    )
    TuningJobSensor(
        task_id="wait_for_tuning_job",
        # The launch task stores the job's resource name under this XCom key (None after a dry run).
        job_name=XComArg(launch, key="tuning_job_name"),
        deferrable=True,
        poll_interval="{{ params.poll_interval }}",
        timeout=timedelta(hours=24),
    )
