"""``make airflow`` end to end: a real local Airflow on the emulators runs the pipeline DAG.

Uses the session's local stack (``tests/airflow_stack.py``, fixture ``local_airflow``, which
also checks that every socket is on loopback and that every process stops), triggers
``gemini_squad_tuning`` on the bundled sample through the REST API, watches the tuning sensor wait in the
triggerer (``deferred``) and the run succeed, and checks where its summary went.
"""

from __future__ import annotations

import time

import pytest

from tests.airflow_stack import DAG_ID, LocalAirflow, assert_only_loopback_listeners

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_make_airflow_runs_the_pipeline_dag(local_airflow: LocalAirflow) -> None:
    gcs_prefix = local_airflow.unique_gcs_prefix("airflow")
    conf = {"source_kind": "sample", "poll_interval_seconds": 2, "gcs_prefix": gcs_prefix}
    triggered = time.monotonic()
    run = local_airflow.api.request("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": conf})
    run_id = run["dag_run_id"]

    watch = local_airflow.watch_run(run_id)
    run_seconds = time.monotonic() - triggered
    local_airflow.assert_succeeded_with_deferred_sensor(run_id, watch)
    summary = local_airflow.api.request(
        "GET", f"{local_airflow.run_path(run_id)}/taskInstances/summarize_run/xcomEntries/return_value"
    )["value"]
    dataset_uri = summary["dataset"]["dataset_uri"]
    assert dataset_uri.startswith(gcs_prefix + "/"), f"dataset exported outside the run's prefix: {dataset_uri}"
    # summarize_run returns the summary itself; where it wrote it is in its log
    summary_log = local_airflow.task_log(run_id, "summarize_run")
    assert f"Run summary written to {gcs_prefix}/" in summary_log, f"summary not under {gcs_prefix}:\n{summary_log}"
    assert_only_loopback_listeners(local_airflow.processes, local_airflow.api_port)
    print(
        f"\nlocal Airflow: healthy after {local_airflow.healthy_seconds:.1f} s; run succeeded {run_seconds:.1f} s "
        f"after the trigger; peak memory of all its processes: RSS sum {watch.peak_rss_mib:.0f} MiB, "
        f"PSS sum {watch.peak_pss_mib:.0f} MiB"
    )
