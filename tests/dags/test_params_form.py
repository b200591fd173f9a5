"""The trigger form's rules for the pipeline DAG's Params, and their defaults kept equal to PipelineParams."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gemini_qa_tuning.pipeline.params import PipelineParams

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
PIPELINE_DAG_ID = "gemini_squad_tuning"


@pytest.fixture(scope="module")
def dag_bag() -> Any:
    from tests.airflow_lines import dag_bag_class

    DagBag = dag_bag_class()

    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert not bag.import_errors, bag.import_errors
    return bag


def _allows_null(schema: dict[str, Any]) -> bool:
    kinds = schema.get("type")
    return kinds == "null" or (isinstance(kinds, list) and "null" in kinds)


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and not value)


def test_a_param_that_does_not_allow_null_has_a_non_empty_default(dag_bag: Any) -> None:
    """The Airflow 3 form treats an empty value of a non-nullable Param as a required field left empty: the
    Trigger button stays disabled until the user types something."""
    problems = [
        f"{dag_id}: Param {name!r} (type {param.schema.get('type')!r}) has the empty default {param.value!r}"
        for dag_id, dag in dag_bag.dags.items()
        for name, param in dag.params.items()
        if not _allows_null(param.schema) and _is_empty(param.value)
    ]
    assert not problems, "\n".join(problems)


def test_every_param_has_a_section_and_a_title(dag_bag: Any) -> None:
    problems = [
        f"{dag_id}: Param {name!r} has no {key}"
        for dag_id, dag in dag_bag.dags.items()
        for name, param in dag.params.items()
        for key in ("section", "title")
        if not param.schema.get(key)
    ]
    assert not problems, "\n".join(problems)


def test_the_pipeline_params_are_the_record_with_the_same_defaults(dag_bag: Any) -> None:
    """One Param per PipelineParams field, each with the record's default (None in the DAG is the record's
    empty value: None, or () for a list)."""
    params = dag_bag.dags[PIPELINE_DAG_ID].params
    record = PipelineParams()
    assert list(params.keys()) and set(params.keys()) == set(PipelineParams.names())
    for name in PipelineParams.names():
        expected = getattr(record, name)
        default = params.get_param(name).value
        if default is None:
            assert expected in (None, ()), f"{name}: the DAG's default is empty, the record's is {expected!r}"
        else:
            assert default == (list(expected) if isinstance(expected, tuple) else expected), name
            assert type(default) is type(expected) or isinstance(expected, float), name


def bound(schema: dict[str, Any], key: str) -> Any:
    """A Param's bound, also when the DAG nests it in ``allOf`` (so the form does not clamp what was typed)."""
    for part in [schema, *schema.get("allOf", [])]:
        if key in part:
            return part[key]
    raise KeyError(key)


def test_promotion_minimum_and_tuning_timeout_are_form_params(dag_bag: Any) -> None:
    params = dag_bag.dags[PIPELINE_DAG_ID].params
    minimum = params.get_param("promotion_min_test_questions")
    assert (minimum.value, minimum.schema["section"], bound(minimum.schema, "minimum")) == (100, "Promotion", 1)
    timeout = params.get_param("tuning_timeout_hours")
    # Daily at 02:00, one run at a time: the default must end well before the next run would start.
    from tests.airflow_lines import cron_expression

    assert cron_expression(dag_bag.dags[PIPELINE_DAG_ID].timetable) == "0 2 * * *"
    assert 0 < timeout.value < 24 and bound(timeout.schema, "maximum") == 168
