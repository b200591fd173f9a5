"""No paid model left unjudged, keyed by data and tuning config; continuous tuning — through ``dag.test()``.

Each scenario runs the real DAG file on the packaged sample against the GCS and Vertex AI emulators and
counts the emulator's ``tuningJobs.create`` requests: the number of tuning jobs paid for.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gemini_qa_tuning import storage
from gemini_qa_tuning.champion import read_champion
from gemini_qa_tuning.pipeline.params import PipelineParams
from gemini_qa_tuning.run_summary import find_latest_summary

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
DAG_ID = "gemini_squad_tuning"
FAST_JOBS = {"pending_seconds": 0.05, "queued_seconds": 0.05, "running_seconds": 0.5}


@pytest.fixture
def pipeline_dag(airflow_db: float, local_airflow_env: dict, vertex_emulator: Any) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    vertex_emulator.reset()
    vertex_emulator.configure(**FAST_JOBS)
    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag(DAG_ID)


# dag.test() leaves a run's conf in the DAG's params for the next dag.test() of the same DAG object, so
# every run names the Params these tests change, at their defaults unless overridden.
_DEFAULTS = PipelineParams()
CHANGED_PARAMS = {
    name: getattr(_DEFAULTS, name) for name in ("eval_thinking", "epochs", "promotion_min_f1_gain", "tune_from")
}


def conf(prefix: str, **overrides: Any) -> dict[str, Any]:
    return {"source_kind": "sample", "gcs_prefix": prefix, "poll_interval_seconds": 1, **CHANGED_PARAMS, **overrides}


def run_pipeline(dag: Any, prefix: str, **overrides: Any) -> tuple[str, dict[str, str], Any]:
    """Run the DAG once; the run state, each task's state, and the dag run (for its XComs)."""
    dag_run = dag.test(run_conf=conf(prefix, **overrides))
    return str(dag_run.state), {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}, dag_run


def xcom(dag_run: Any, task_id: str) -> Any:
    (ti,) = [ti for ti in dag_run.get_task_instances() if ti.task_id == task_id]
    return ti.xcom_pull(task_ids=task_id)


def jobs_created(vertex_emulator: Any) -> int:
    return int(vertex_emulator.request_counts().get("tuningJobs.create", 0))


def verdicts(prefix: str) -> list[dict[str, Any]]:
    return [json.loads(storage.read_text(uri)) for uri in storage.list_uris(storage.join_uri(prefix, "verdicts"))]


def test_a_run_killed_after_its_job_was_created_is_judged_by_the_rerun_without_a_new_job(
    pipeline_dag: Any, vertex_emulator: Any, gcs_bucket_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The killed run: everything up to and including the launch, nothing after it (no wait, no evaluation).
    killed = pipeline_dag.partial_subset(task_ids=["launch_tuning_job"], include_upstream=True)
    dag_run = killed.test(run_conf=conf(gcs_bucket_uri))
    launch = xcom(dag_run, "launch_tuning_job")
    assert launch["job_name"] and launch["reused"] is False
    assert jobs_created(vertex_emulator) == 1
    assert find_latest_summary(gcs_bucket_uri) is None and verdicts(gcs_bucket_uri) == []

    # The job finishes before the rerun (0.6 s of emulated tuning); the rerun judges the model it paid for.
    state, tasks, rerun = run_pipeline(pipeline_dag, gcs_bucket_uri)

    assert state == "success", tasks
    plan = xcom(rerun, "plan_tuning")
    assert plan["action"] == "evaluate_existing" and plan["job_name"] == launch["job_name"], plan
    assert "was tuned and never judged" in plan["reason"]
    assert plan["config_hash"] == launch["config_hash"]  # one config hash: the plan's key is the launch's label
    relaunch = xcom(rerun, "launch_tuning_job")
    assert relaunch["reused"] is True and relaunch["job_name"] == launch["job_name"]
    for task_id in ("evaluate_tuned", "compare_models", "decide_promotion", "promote_champion", "record_verdict"):
        assert tasks[task_id] == "success", (task_id, tasks)
    created = jobs_created(vertex_emulator)
    with capsys.disabled():
        print(f"\n[killed-after-create] emulator tuningJobs.create after the killed run and its rerun: {created}")
    assert created == 1, "the rerun must judge the paid model, not pay for another"
    (verdict,) = verdicts(gcs_bucket_uri)
    assert verdict["promoted"] is True and verdict["job_name"] == launch["job_name"]
    assert verdict["config_hash"] == launch["config_hash"] and verdict["run_id"] == rerun.run_id
    assert verdict["headline"]["tuned_f1"] > verdict["headline"]["base_f1"]
    champion, _ = read_champion(gcs_bucket_uri)
    assert champion is not None and champion.tuning_job == launch["job_name"]

    # Judged now: the next run on the same data and config pays for nothing.
    state, tasks, third = run_pipeline(pipeline_dag, gcs_bucket_uri)
    assert state == "success" and tasks["skip_tuning"] == "success", tasks
    assert xcom(third, "plan_tuning")["action"] == "skip"
    assert jobs_created(vertex_emulator) == 1


def test_a_run_whose_evaluation_failed_is_judged_by_the_rerun_on_unchanged_data_without_a_new_job(
    pipeline_dag: Any, vertex_emulator: Any, gcs_bucket_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # A thinking setting no model has: the evaluation fails (no retry) after the job has been paid for.
    state, tasks, failed = run_pipeline(pipeline_dag, gcs_bucket_uri, eval_thinking="VERY_HIGH")
    assert state == "failed", tasks
    assert tasks["wait_for_tuning_job"] == "success"
    # The tuned model's first evaluation (its checkpoints on validation) fails; nothing judges it.
    assert tasks["select_checkpoint"] == "failed" and tasks["evaluate_tuned"] == "upstream_failed", tasks
    assert tasks["record_verdict"] == "upstream_failed", tasks
    assert jobs_created(vertex_emulator) == 1 and verdicts(gcs_bucket_uri) == []
    paid = xcom(failed, "launch_tuning_job")["job_name"]

    state, tasks, rerun = run_pipeline(pipeline_dag, gcs_bucket_uri)

    assert state == "success", tasks
    plan = xcom(rerun, "plan_tuning")
    assert plan["action"] == "evaluate_existing" and plan["job_name"] == paid, plan
    assert tasks["evaluate_tuned"] == "success" and tasks["record_verdict"] == "success", tasks
    created = jobs_created(vertex_emulator)
    with capsys.disabled():
        print(f"\n[evaluation-failed] emulator tuningJobs.create after the failed run and its rerun: {created}")
    assert created == 1
    (verdict,) = verdicts(gcs_bucket_uri)
    assert verdict["job_name"] == paid and verdict["run_id"] == rerun.run_id


def test_a_rejected_model_is_judged_and_a_changed_epoch_count_on_unchanged_data_tunes_again(
    pipeline_dag: Any, vertex_emulator: Any, gcs_bucket_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # An impossible gain: the model is judged and rejected, and that verdict counts as judged too.
    state, tasks, first = run_pipeline(pipeline_dag, gcs_bucket_uri, promotion_min_f1_gain=100)
    assert state == "success" and tasks["keep_champion"] == "success", tasks
    (rejected,) = verdicts(gcs_bucket_uri)
    assert rejected["promoted"] is False and "below the required gain" in rejected["reasons"][0]
    state, tasks, _ = run_pipeline(pipeline_dag, gcs_bucket_uri, promotion_min_f1_gain=100)
    assert tasks["skip_tuning"] == "success" and jobs_created(vertex_emulator) == 1, tasks

    # Same data, one epoch fewer (no force_retrain): another model, so another job, judged on its own.
    state, tasks, second = run_pipeline(pipeline_dag, gcs_bucket_uri, epochs=2)

    assert state == "success", tasks
    plan = xcom(second, "plan_tuning")
    assert plan["action"] == "launch" and plan["config_hash"] != xcom(first, "plan_tuning")["config_hash"]
    created = jobs_created(vertex_emulator)
    with capsys.disabled():
        print(f"\n[changed-epochs] emulator tuningJobs.create after 3 runs (epochs 3, 3, then 2): {created}")
    assert created == 2
    assert xcom(second, "launch_tuning_job")["epochs"] == 2
    assert len(verdicts(gcs_bucket_uri)) == 2


def test_continuous_tuning_from_the_champion_creates_a_job_whose_parent_is_the_champions_model(
    pipeline_dag: Any, vertex_emulator: Any, gcs_bucket_uri: str, genai_client: Any
) -> None:
    vertex_emulator.configure(**FAST_JOBS)  # genai_client reset the emulator
    state, tasks, _ = run_pipeline(pipeline_dag, gcs_bucket_uri, tune_from="champion")
    assert state == "success", tasks
    # No champion yet: the first run tuned the base and said so.
    champion, _ = read_champion(gcs_bucket_uri)
    assert champion is not None and champion.tuned_model and champion.tuned_model.startswith("projects/")
    summary = json.loads(storage.read_text(find_latest_summary(gcs_bucket_uri) or ""))
    assert summary["tuning_plan"]["tune_from"] == "base"
    assert any("there is no champion yet" in warning for warning in summary["tuning_plan"]["warnings"])

    # The same data: continuing the champion is another tuning config, so it is tuned (and judged).
    state, tasks, continued = run_pipeline(pipeline_dag, gcs_bucket_uri, tune_from="champion")

    assert state == "success", tasks
    plan = xcom(continued, "plan_tuning")
    assert plan["action"] == "launch" and plan["tune_from"] == "champion", plan
    assert plan["pre_tuned_model"] == champion.tuned_model
    job = genai_client.tunings.get(name=xcom(continued, "launch_tuning_job")["job_name"])
    assert job.pre_tuned_model is not None and job.pre_tuned_model.tuned_model_name == champion.tuned_model
    assert job.pre_tuned_model.base_model == "gemini-3.5-flash-lite"
    assert jobs_created(vertex_emulator) == 2
    # Compared against the base model and the champion it continued.
    assert tasks["evaluate_base"] == "success" and tasks["evaluate_champion"] == "success", tasks
    metrics = json.loads(storage.read_text(xcom(continued, "compare_models")["metrics_uri"]))
    assert set(metrics["models"]) == {"base", "tuned", "champion"}
