"""The rules of Airflow 3.3's trigger form, checked on every DAG's Params without a browser.

What the form does, seen in ``test_trigger_form.py``'s real browser: a Param whose type does not allow
null and whose value is empty counts as a required field left empty, and Trigger stays disabled with no
word why; a number is clamped to the schema's top-level ``minimum``/``maximum`` when the field loses focus,
so the run starts with a value the user did not type. These tests keep every DAG clear of both, and keep
the trigger form of ``gemini_squad_tuning`` grouped, titled and offering the catalog's models.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGS_FOLDER = REPO_ROOT / "dags"
PIPELINE_DAG_ID = "gemini_squad_tuning"
PIPELINE_SECTIONS = {"Source", "Split", "Tuning", "Budget", "Evaluation", "Promotion", "Notifications", "Advanced"}
# Keywords the form reads to clamp a number on blur (nested in allOf they are still validated, not clamped).
CLAMPED_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
# A limit counts as stated when it appears as a whole number: "1" is in "1 to 100", not in "1,000" or "0.1".
NOT_INSIDE_A_NUMBER = (r"(?<![\d.])(?<!\d,)", r"(?!\d|[.,]\d)")


@pytest.fixture(scope="module")
def dags() -> dict[str, Any]:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert not bag.import_errors, bag.import_errors
    return dict(bag.dags)


def all_params(dags: dict[str, Any]) -> list[tuple[str, str, Any]]:
    return [(dag_id, name, dag.params.get_param(name)) for dag_id, dag in dags.items() for name in dag.params]


def allows_null(schema: dict[str, Any]) -> bool:
    types = schema.get("type")
    return types is None or types == "null" or (isinstance(types, list) and "null" in types)


def test_every_param_is_triggerable_with_its_default(dags: dict[str, Any]) -> None:
    """Non-null types need a non-empty default, and every default passes the Param's own schema."""
    empty_required = [
        f"{dag_id}.{name} (default {param.value!r}: make the type ['null', ...] with default None)"
        for dag_id, name, param in all_params(dags)
        if not allows_null(param.schema) and param.value in (None, "", [], {})
    ]
    assert not empty_required, "Trigger would stay disabled: " + ", ".join(empty_required)
    from airflow.sdk.definitions.param import ParamValidationError

    invalid = []
    for dag_id, name, param in all_params(dags):
        try:
            copy.deepcopy(param).resolve()
        except ParamValidationError as error:
            invalid.append(f"{dag_id}.{name}: {str(error).splitlines()[0]}")
    assert not invalid, "defaults their own schema refuses: " + "; ".join(invalid)


def test_no_number_is_clamped_by_the_form(dags: dict[str, Any]) -> None:
    clamped = [
        f"{dag_id}.{name}: {keyword}"
        for dag_id, name, param in all_params(dags)
        for keyword in CLAMPED_KEYWORDS
        if keyword in param.schema
    ]
    assert not clamped, f"top-level bounds the form clamps silently (nest them in allOf): {clamped}"


def test_out_of_range_numbers_are_still_refused(dags: dict[str, Any]) -> None:
    from airflow.sdk.definitions.param import ParamValidationError

    epochs = copy.deepcopy(dags[PIPELINE_DAG_ID].params.get_param("epochs"))
    for out_of_range in (-2, 0, 500):
        with pytest.raises(ParamValidationError):
            copy.deepcopy(epochs).resolve(out_of_range)


def test_every_numeric_limit_is_stated_in_the_description(dags: dict[str, Any]) -> None:
    unstated = []
    for dag_id, name, param in all_params(dags):
        for bounds in param.schema.get("allOf", []):
            for keyword in CLAMPED_KEYWORDS:
                if keyword not in bounds:
                    continue
                limit = bounds[keyword]
                spellings = {str(limit), f"{limit:,}", f"{limit:g}"}
                if not any(
                    re.search(
                        rf"{NOT_INSIDE_A_NUMBER[0]}{re.escape(s)}{NOT_INSIDE_A_NUMBER[1]}", param.description or ""
                    )
                    for s in spellings
                ):
                    unstated.append(f"{dag_id}.{name}: {keyword}={limit} (description: {param.description!r})")
    assert not unstated, "limits the trigger form does not show: " + "; ".join(unstated)


def test_the_pipeline_form_is_grouped_and_titled(dags: dict[str, Any]) -> None:
    params = dags[PIPELINE_DAG_ID].params
    untitled = [name for name in params if not params.get_param(name).schema.get("title")]
    assert not untitled, f"Params shown with their snake_case names: {untitled}"
    sections = {name: params.get_param(name).schema.get("section") for name in params}
    assert set(sections.values()) == PIPELINE_SECTIONS, sections


def test_base_model_offers_the_catalogs_models(dags: dict[str, Any]) -> None:
    from gemini_qa_tuning.tuning import TUNABLE_BASE_MODELS

    base_model = dags[PIPELINE_DAG_ID].params.get_param("base_model")
    assert list(base_model.schema.get("examples", [])) == list(TUNABLE_BASE_MODELS)
    assert base_model.value in TUNABLE_BASE_MODELS
