"""The pipeline DAG end to end in ``dag.test()``, against the GCS and Vertex AI emulators.

Each scenario runs the real DAG file on the packaged sample; the emulator's request counts show what
was paid for.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from gemini_qa_tuning import storage
from gemini_qa_tuning.champion import read_champion
from tests.pipeline_runs import load_pipeline_dag, run_pipeline

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def pipeline_dag(airflow_db: float, local_airflow_env: dict, vertex_emulator: Any) -> Any:
    return load_pipeline_dag(vertex_emulator)


def asset_events(asset_name: str, run_id: str) -> list[dict[str, Any]]:
    """The extras of the events a run emitted for an asset, from the metadata database."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = (
            select(AssetEvent.extra)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.name == asset_name, AssetEvent.source_run_id == run_id)
        )
        return [dict(extra) for extra in session.scalars(query)]


def test_first_run_tunes_evaluates_and_a_rerun_on_the_same_data_pays_nothing(
    pipeline_dag: Any, vertex_emulator: Any, gcs_bucket_uri: str, capfd: pytest.CaptureFixture[str]
) -> None:
    state, tasks, summary = run_pipeline(pipeline_dag, gcs_bucket_uri)
    run_log = "".join(capfd.readouterr())  # dag.test() writes the task logs to the console
    assert "XCom not found" not in run_log  # a skipped task's missing result is no error

    assert state == "success", tasks
    for task_id in (
        "refresh_dataset",
        "export_dataset",
        "find_champion",
        "plan_tuning",
        "launch_tuning_job",
        "wait_for_tuning_job",
        "evaluate_base",
        "evaluate_tuned",
        "compare_models",
        "decide_promotion",
        "promote_champion",
        "summarize_run",
    ):
        assert tasks[task_id] == "success", (task_id, tasks)
    assert tasks["skip_tuning"] == "skipped"
    assert tasks["keep_champion"] == "skipped"
    assert tasks["evaluate_champion"] == "skipped"  # nothing was ever promoted
    assert vertex_emulator.request_counts().get("tuningJobs.create") == 1

    assert summary is not None
    dataset = summary["dataset"]
    manifest = json.loads(storage.read_text(dataset["manifest_uri"]))
    assert manifest["fingerprint"] == dataset["fingerprint"]
    assert summary["tuning_plan"]["launch"] is True
    # Vertex names resources with the project NUMBER, not the project id the request addressed.
    assert re.fullmatch(r"projects/[0-9]+/locations/us-central1/endpoints/[0-9]+", summary["tuned_model"]["endpoint"])
    assert summary["warnings"] == []
    metrics = json.loads(storage.read_text(summary["evaluation"]["metrics_uri"]))
    assert set(metrics["models"]) == {"base", "tuned"}
    assert metrics["questions"] == dataset["counts"]["test"]
    assert "tuned_vs_base" in metrics["comparisons"]
    # The stand-in tuned reader answers with short spans; its gain over the verbose base is not noise.
    assert summary["promotion"]["promote"] is True, summary["promotion"]
    champion, _ = read_champion(gcs_bucket_uri)
    assert champion is not None and champion.model == summary["tuned_model"]["endpoint"]
    assert champion.dataset_fingerprint == dataset["fingerprint"]
    assert champion.base_model == "gemini-3.5-flash-lite"  # a tuned model retires with its base
    dataset_events = asset_events("gemini_squad_tuning_dataset", summary["run_id"])
    assert dataset_events == [{"uri": dataset["dataset_uri"], "fingerprint": dataset["fingerprint"]}]
    champion_events = asset_events("gemini_squad_champion", summary["run_id"])
    # The event carries the headline scores (the run summary's evaluation part).
    assert champion_events == [{"model": champion.model, "run_id": summary["run_id"], "metrics": summary["evaluation"]}]

    questions_asked = vertex_emulator.request_counts().get("generateContent", 0)
    state, tasks, summary = run_pipeline(pipeline_dag, gcs_bucket_uri)
    run_log = "".join(capfd.readouterr())
    assert "XCom not found" not in run_log

    assert state == "success", tasks
    assert tasks["skip_tuning"] == "success"
    assert tasks["launch_tuning_job"] == "skipped"
    assert tasks["evaluate_tuned"] == "skipped"
    assert summary is not None and summary["tuning_plan"]["launch"] is False
    assert "current champion was tuned on" in summary["tuning_plan"]["reason"]
    counts = vertex_emulator.request_counts()
    assert counts.get("tuningJobs.create") == 1, "the rerun on unchanged data must not launch a second job"
    assert counts.get("generateContent", 0) == questions_asked, "the skipped run must not pay for predictions"


def test_a_tuned_model_that_is_not_better_leaves_the_champion_alone(
    pipeline_dag: Any, vertex_emulator: Any, gcs_bucket_uri: str
) -> None:
    from gemini_qa_tuning.champion import ChampionRecord, write_champion

    incumbent = ChampionRecord(
        model="gemini-3.5-flash-lite", dataset_fingerprint="older-data", promoted_at="2026-01-01"
    )
    write_champion(gcs_bucket_uri, incumbent, expected_generation=0)
    _, generation_before = read_champion(gcs_bucket_uri)

    # Demand an impossible gain: the run must go through evaluation and keep what serves.
    state, tasks, summary = run_pipeline(pipeline_dag, gcs_bucket_uri, promotion_min_f1_gain=100)

    assert state == "success", tasks
    assert tasks["keep_champion"] == "success"
    assert tasks["promote_champion"] == "skipped"
    assert tasks["evaluate_champion"] == "skipped"  # the champion is the base model, evaluated once
    assert summary is not None and summary["promotion"]["promote"] is False
    assert "below the required gain" in summary["promotion"]["reasons"][0]
    assert read_champion(gcs_bucket_uri) == (incumbent, generation_before)


def test_dry_run_validates_and_creates_nothing(pipeline_dag: Any, vertex_emulator: Any, gcs_bucket_uri: str) -> None:
    state, tasks, summary = run_pipeline(pipeline_dag, gcs_bucket_uri, dry_run=True)

    assert state == "success", tasks
    assert tasks["launch_tuning_job"] == "success"
    assert tasks["wait_for_tuning_job"] == "skipped"
    assert tasks["evaluate_tuned"] == "skipped"
    assert vertex_emulator.request_counts().get("tuningJobs.create", 0) == 0
    assert vertex_emulator.request_counts().get("generateContent", 0) == 0
    assert summary is not None and summary["tuning_job"]["dry_run"] is True


def test_over_budget_stops_before_launch(pipeline_dag: Any, vertex_emulator: Any, gcs_bucket_uri: str) -> None:
    state, tasks, _ = run_pipeline(
        pipeline_dag, gcs_bucket_uri, max_training_cost=0.01, price_per_million_training_tokens=5.0
    )

    assert state == "failed", tasks
    assert tasks["plan_tuning"] == "failed"
    assert tasks["launch_tuning_job"] == "upstream_failed"
    assert vertex_emulator.request_counts().get("tuningJobs.create", 0) == 0
    # The dataset is exported all the same: the next run with a larger budget reuses it.
    assert storage.list_uris(storage.join_uri(gcs_bucket_uri, "datasets"))


def test_a_misspelt_conf_key_fails_the_first_task_before_anything_is_read_or_paid(
    pipeline_dag: Any, vertex_emulator: Any, gcs_bucket_uri: str
) -> None:
    from airflow.utils.state import DagRunState

    dag_run = pipeline_dag.test(
        run_conf={"source_kind": "sample", "gcs_prefix": gcs_bucket_uri, "epoch_count": 5}  # not "epochs"
    )
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}

    assert dag_run.state == DagRunState.FAILED
    assert states["check_params"] == "failed"
    for task_id in ("refresh_dataset", "find_champion", "export_dataset", "launch_tuning_job"):
        assert states[task_id] == "upstream_failed", (task_id, states)
    assert not storage.list_uris(gcs_bucket_uri), "nothing may be read or written before the Params are checked"
    assert vertex_emulator.request_counts().get("tuningJobs.create", 0) == 0
    assert vertex_emulator.request_counts().get("tuningJobs.list", 0) == 0


@pytest.mark.parametrize(
    ("conf", "setting"),
    [
        ({"test_fraction": 0}, "test_fraction is 0"),  # nothing held out
        ({"max_test_examples": 5}, "raise max_test_examples to at least 100"),  # below the promotion minimum
    ],
    ids=["empty-test-split", "test-split-below-the-promotion-minimum"],
)
def test_a_run_that_could_not_be_judged_stops_at_the_refresh_before_anything_is_paid(
    pipeline_dag: Any, vertex_emulator: Any, gcs_bucket_uri: str, conf: dict[str, Any], setting: str, capfd: Any
) -> None:
    state, tasks, _ = run_pipeline(pipeline_dag, gcs_bucket_uri, **conf)

    assert state == "failed", tasks
    assert tasks["refresh_dataset"] == "failed"
    assert tasks["export_dataset"] == "upstream_failed"
    assert tasks["launch_tuning_job"] == "upstream_failed"
    counts = vertex_emulator.request_counts()
    assert counts.get("tuningJobs.create", 0) == 0 and counts.get("generateContent", 0) == 0, counts
    # The task's error (in its log) names the minimum and the setting to change.
    log = "".join(capfd.readouterr())
    assert "a promotion needs at least 100 (promotion_min_test_questions)" in log and setting in log


def test_a_stuck_tuning_job_is_cancelled_after_the_timeout_param(
    pipeline_dag: Any, vertex_emulator: Any, gcs_bucket_uri: str
) -> None:
    # Every job stays pending until moved on: only the sensor's timeout can end this run.
    vertex_emulator.configure(hold_jobs_at="JOB_STATE_PENDING")

    state, tasks, _ = run_pipeline(pipeline_dag, gcs_bucket_uri, tuning_timeout_hours=3 / 3600)

    assert state == "failed", tasks
    assert tasks["launch_tuning_job"] == "success"
    assert tasks["wait_for_tuning_job"] == "failed"
    assert tasks["evaluate_tuned"] == "upstream_failed"
    counts = vertex_emulator.request_counts()
    assert counts.get("tuningJobs.create") == 1 and counts.get("tuningJobs.cancel") == 1, counts
    assert counts.get("generateContent", 0) == 0, "a run whose job timed out must not pay for predictions"


@pytest.mark.parametrize(
    ("base_model", "expected"),
    [
        ("gemini-2.5-flash", "gemini-2.5-flash retired on 2026-10-20 (new tuning blocked from 2026-09-20)"),
        ("gemini-9.9-ultra", "'gemini-9.9-ultra' is not a model this catalog knows as tunable; choose one of"),
        ("gemini-3.8-flash", "'gemini-3.8-flash' cannot be tuned on Vertex AI"),
    ],
)
def test_a_retired_unknown_or_untunable_base_model_fails_the_first_task_and_pays_nothing(
    pipeline_dag: Any,
    vertex_emulator: Any,
    gcs_bucket_uri: str,
    capfd: pytest.CaptureFixture[str],
    base_model: str,
    expected: str,
) -> None:
    state, tasks, summary = run_pipeline(pipeline_dag, gcs_bucket_uri, base_model=base_model)
    task_log = "".join(capfd.readouterr())  # dag.test() writes the task logs to the console

    assert state == "failed", tasks
    assert tasks["check_params"] == "failed"
    assert tasks["refresh_dataset"] == "upstream_failed"
    assert expected in task_log
    assert "choose one of gemini-" in task_log.lower()
    counts = vertex_emulator.request_counts()
    assert counts.get("tuningJobs.create", 0) == 0
    assert counts.get("generateContent", 0) == 0
    assert summary is None
    assert not storage.list_uris(gcs_bucket_uri)  # nothing was read, written or paid for


def test_a_catalog_file_from_model_catalog_uri_replaces_the_packaged_one(
    pipeline_dag: Any, vertex_emulator: Any, gcs_bucket_uri: str, capfd: pytest.CaptureFixture[str]
) -> None:
    from gemini_qa_tuning.tuning import default_catalog

    data = default_catalog().to_json()
    models = data["models"]
    assert isinstance(models, list)
    data["models"] = [model for model in models if isinstance(model, dict) and model["name"] != "gemini-3.5-flash-lite"]
    data["default_model"] = "gemini-3.5-flash"
    catalog_uri = storage.join_uri(gcs_bucket_uri, "catalog", "models.json")
    storage.write_text(catalog_uri, json.dumps(data))

    state, tasks, _ = run_pipeline(pipeline_dag, gcs_bucket_uri, model_catalog_uri=catalog_uri)

    assert state == "failed", tasks
    assert tasks["check_params"] == "failed"
    assert "'gemini-3.5-flash-lite' is not a model this catalog knows as tunable" in "".join(capfd.readouterr())
    assert vertex_emulator.request_counts().get("tuningJobs.create", 0) == 0
