"""The best checkpoint is chosen after the tuning job and before the tuned model's test evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def pipeline_dag() -> Any:
    from tests.airflow_lines import dag_bag_class

    bag = dag_bag_class()(dag_folder=str(DAGS_FOLDER))
    assert not bag.import_errors, bag.import_errors
    return bag.dags["gemini_squad_tuning"]


def test_select_checkpoint_sits_between_the_tuning_job_and_the_tuned_evaluation(pipeline_dag: Any) -> None:
    select = pipeline_dag.get_task("select_checkpoint")
    assert "wait_for_tuning_job" in select.upstream_task_ids
    assert "evaluate_tuned" in select.downstream_task_ids
    assert "summarize_run" in {task.task_id for task in select.get_flat_relatives(upstream=False)}
    # The base and the champion do not wait for it: only the tuned endpoint's default checkpoint changes.
    assert "evaluate_base" not in select.downstream_task_ids
    assert "evaluate_champion" not in select.downstream_task_ids


def test_the_launch_passes_export_last_checkpoint_only_from_the_params(pipeline_dag: Any) -> None:
    launch = pipeline_dag.get_task("launch_tuning_job")
    assert "export_last_checkpoint_only" in launch.template_fields
