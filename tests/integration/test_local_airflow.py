"""``make airflow`` end to end: a real local Airflow on the emulators runs the pipeline DAG.

Uses the session's local stack (``tests/airflow_stack.py``, fixture ``local_airflow``, which
also checks that every socket is on loopback and that every process stops) and its sample run (fixture
``sample_run``: ``gemini_squad_tuning`` triggered on the bundled sample through the REST API and watched to
its end), checks that the tuning sensor waited in the triggerer (``deferred``), that the run succeeded, and
where its summary went.
"""

from __future__ import annotations

import pytest

from tests.airflow_stack import FinishedRun, LocalAirflow, assert_only_loopback_listeners

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_make_airflow_runs_the_pipeline_dag(local_airflow: LocalAirflow, sample_run: FinishedRun) -> None:
    # The session's sample run (fixture sample_run), triggered through the REST API; the Results-tab test
    # reads the same run.
    run_id, watch, run_seconds = sample_run.run_id, sample_run.watch, sample_run.run_seconds
    gcs_prefix = sample_run.conf["gcs_prefix"]
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
