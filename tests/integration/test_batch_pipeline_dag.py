"""The whole pipeline DAG in ``dag.test()`` with ``eval_mode`` batch, against the emulators.

One run (each costs 15–30 s): every evaluation is one Vertex batch prediction job waited for in the
triggerer; the comparison, the report and the promotion read the batch answers as they read online ones.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from gemini_qa_tuning import storage
from tests.pipeline_runs import load_pipeline_dag, run_pipeline

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def pipeline_dag(airflow_db: float, local_airflow_env: dict, vertex_emulator: Any) -> Any:
    dag = load_pipeline_dag(vertex_emulator)
    vertex_emulator.configure(batch_running_seconds=0.05)
    return dag


def test_a_batch_run_evaluates_every_model_with_one_batch_job_and_promotes_as_online(
    pipeline_dag: Any, vertex_emulator: Any, gcs_bucket_uri: str
) -> None:
    state, tasks, summary = run_pipeline(pipeline_dag, gcs_bucket_uri, eval_mode="batch")

    assert state == "success", tasks
    assert tasks["evaluate_base"] == "success" and tasks["evaluate_tuned"] == "success", tasks
    assert tasks["compare_models"] == "success" and tasks["promote_champion"] == "success", tasks
    counts = vertex_emulator.request_counts()
    assert counts["batchPredictionJobs.create"] == 2  # base and tuned; no champion yet
    # Online calls only come from checkpoint selection (validation questions), never from the test set.
    assert summary is not None
    metrics = json.loads(storage.read_text(summary["evaluation"]["metrics_uri"]))
    assert set(metrics["models"]) == {"base", "tuned"}
    assert metrics["questions"] == summary["dataset"]["counts"]["test"]
    assert summary["promotion"]["promote"] is True, summary["promotion"]
    cost = summary["evaluation_cost"]  # online vs batch, also in the report
    assert cost["mode"] == "batch" and cost["models"] == 2
    assert cost["batch_usd"] == pytest.approx(cost["online_usd"] / 2)
    assert 'data-cost="batch"' in storage.read_text(summary["report_uri"])
    base_folder = summary["evaluation"]["metrics_uri"].rsplit("/", 1)[0] + "/evaluation/base"
    assert storage.exists(f"{base_folder}/batch/requests.jsonl")
    assert storage.exists(f"{base_folder}/predictions.jsonl")
