"""The rollback DAG's shape: manual only, its Params equal the domain record's defaults, the champion Asset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dag_bag() -> Any:
    from tests.airflow_lines import dag_bag_class

    return dag_bag_class()(dag_folder=str(DAGS_FOLDER))


def test_the_rollback_dag_is_manual_and_restores_through_one_task(dag_bag: Any) -> None:
    """gemini_squad_rollback: no schedule, the history entry Param, and the champion Asset as its outlet."""
    assert "gemini_squad_rollback" in dag_bag.dags, sorted(dag_bag.dags)
    dag = dag_bag.dags["gemini_squad_rollback"]
    assert type(dag.timetable).__name__ == "NullTimetable"  # schedule=None: only a person triggers a rollback
    assert {"history_entry", "gcs_prefix", "gcp_conn_id"} <= set(dag.params)
    from gemini_qa_tuning.rollback import RollbackParams

    defaults = RollbackParams.from_params({name: dag.params[name] for name in dag.params})
    assert defaults == RollbackParams()  # the DAG's defaults are the record's
    assert [task.task_id for task in dag.topological_sort()] == ["check_params", "roll_back"]
    outlets = [asset.name for asset in dag.get_task("roll_back").outlets]
    tuning = dag_bag.dags["gemini_squad_tuning"]
    assert outlets == [asset.name for asset in tuning.get_task("promote_champion").outlets] == ["gemini_squad_champion"]
