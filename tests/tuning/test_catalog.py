"""The model catalog: the packaged data, a user's override file, and errors that name file and field."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from gemini_qa_tuning.tuning import (
    ADAPTER_SIZES,
    DEFAULT_BASE_MODEL,
    RETIRED_BASE_MODEL_PREFIXES,
    TUNABLE_BASE_MODELS,
    CatalogError,
    ModelCatalog,
    TunableModel,
    default_catalog,
    load_catalog,
)
from gemini_qa_tuning.tuning.catalog import PACKAGED_CATALOG

PACKAGED = Path(__file__).parents[2] / "include" / "gemini_qa_tuning" / "tuning" / PACKAGED_CATALOG


def packaged_data() -> dict[str, Any]:
    return json.loads(PACKAGED.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "my-models.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def test_the_packaged_catalog_holds_the_current_and_the_retired_models() -> None:
    catalog = load_catalog()
    assert catalog == default_catalog()
    assert catalog.names == (
        "gemini-3.5-flash-lite",
        "gemini-3.5-flash",
        "gemini-3.1-flash-lite",
        "gemini-3.8-flash",
        "gemini-2.5-pro",
        "gemini-2.5-flash",
        "gemini-2.5-flash-lite",
        "gemini-2.0-flash-001",
        "gemini-2.0-flash-lite-001",
    )
    # No official tuning price was found for the Gemini 3 models (2026-12-01): null, with a note saying so.
    assert dict(catalog.prices()) == {
        "gemini-2.5-pro": 25.0,
        "gemini-2.5-flash": 5.0,
        "gemini-2.5-flash-lite": 1.5,
        "gemini-2.0-flash-001": 3.0,
        "gemini-2.0-flash-lite-001": 1.0,
    }
    assert catalog.blocked_months_before_retirement == 1 and catalog.blocked_sources
    for name, released, retires, default_level in (
        ("gemini-3.5-flash-lite", date(2026, 7, 21), date(2027, 7, 21), "MINIMAL"),
        ("gemini-3.5-flash", date(2026, 5, 19), date(2027, 5, 19), "MEDIUM"),
        ("gemini-3.1-flash-lite", date(2026, 5, 7), date(2027, 5, 7), "MINIMAL"),
    ):
        model = catalog.model(name)
        assert model is not None and model.tunable
        assert model.release_date == released and model.retirement_date == retires
        assert model.retirement_no_earlier_than
        assert model.price_per_million_training_tokens_usd is None
        assert any("price" in note and "null" in note for note in model.notes)
        assert any(note.startswith("ASSUMPTION: adapter sizes") for note in model.notes)
        assert model.adapter_sizes == (1, 2, 4, 8, 16)
        assert model.max_example_tokens == 131_072 and model.max_validation_examples == 5000
        thinking = model.thinking
        assert thinking is not None and thinking.default_on and not thinking.can_disable
        assert thinking.level_based and thinking.levels == ("MINIMAL", "LOW", "MEDIUM", "HIGH")
        assert thinking.default_level == default_level and thinking.lowest_level == "MINIMAL"
    not_tunable = catalog.model("gemini-3.8-flash")
    assert not_tunable is not None and not not_tunable.tunable
    flash = catalog.model("gemini-2.5-flash")
    assert flash is not None and flash.adapter_sizes == (1, 2, 4, 8, 16)
    assert flash.max_example_tokens == 131_072 and flash.max_validation_examples == 5000
    assert flash.thinking is not None and flash.thinking.default_on and flash.thinking.can_disable
    assert not flash.thinking.level_based
    pro = catalog.model("gemini-2.5-pro")
    assert pro is not None and pro.thinking is not None and not pro.thinking.can_disable
    retired = catalog.model("gemini-2.0-flash-001")
    assert retired is not None and retired.retirement_date == date(2026, 6, 1)
    assert retired.is_retired(date(2026, 6, 1)) and not retired.is_retired(date(2026, 5, 31))
    assert retired.successor == "gemini-3.1-flash-lite"
    for name in ("gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite"):
        model = catalog.model(name)
        assert model is not None and model.retirement_date == date(2026, 10, 20)
        assert model.successor in catalog.tunable_on(date(2026, 12, 1))
    assert catalog.tunable_on(date(2026, 12, 1)) == (
        "gemini-3.5-flash-lite",
        "gemini-3.5-flash",
        "gemini-3.1-flash-lite",
    )
    for model in catalog.models:
        assert model.sources and all(source.url.startswith("https://") for source in model.sources)


def test_module_constants_are_derived_from_the_packaged_catalog() -> None:
    catalog = default_catalog()
    assert DEFAULT_BASE_MODEL == catalog.default_model == "gemini-3.5-flash-lite"
    assert dict(TUNABLE_BASE_MODELS) == {
        "gemini-3.5-flash-lite": None,
        "gemini-3.5-flash": None,
        "gemini-3.1-flash-lite": None,
    }
    assert RETIRED_BASE_MODEL_PREFIXES == catalog.retired_prefixes == ("gemini-1.0-", "gemini-1.5-", "gemini-pro")
    assert sorted(ADAPTER_SIZES) == [1, 2, 4, 8, 16, 32]


def test_lookups_match_versioned_and_publisher_names_by_longest_prefix() -> None:
    catalog = default_catalog()
    lite = catalog.model("publishers/google/models/gemini-2.5-flash-lite-001")
    assert lite is not None and lite.name == "gemini-2.5-flash-lite"
    versioned = catalog.model(" gemini-2.5-flash-002 ")
    assert versioned is not None and versioned.name == "gemini-2.5-flash"
    assert catalog.model("gemini-2.5-flashy") is None
    assert catalog.model("gemini-3.5-flash-preview-05-19").name == "gemini-3.5-flash"  # type: ignore[union-attr]
    # A "-lite" is another model, never a version: without its own entry it is unknown.
    without_lite = ModelCatalog(
        catalog.default_model, tuple(m for m in catalog.models if m.name != "gemini-3.5-flash-lite"), ()
    )
    assert without_lite.model("gemini-3.5-flash-lite") is None
    assert catalog.price_per_million("gemini-9") is None
    assert catalog.is_retired_family("gemini-1.5-flash-002") and not catalog.is_retired_family("gemini-2.5-flash")


def test_an_override_file_replaces_the_packaged_catalog(tmp_path: Path) -> None:
    data = packaged_data()
    newer = {**data["models"][1], "name": "gemini-3.6-flash", "family": "gemini-3.6", "retirement_date": None}
    newer["price_per_million_training_tokens_usd"] = 4.0
    data["models"].append(newer)
    data["default_model"] = "gemini-3.6-flash"
    catalog = load_catalog(write(tmp_path, data))
    assert catalog.default_model == "gemini-3.6-flash"
    assert catalog.price_per_million("gemini-3.6-flash-001") == 4.0
    assert default_catalog().model("gemini-3.6-flash") is None  # the packaged one is unchanged
    assert load_catalog(str(write(tmp_path, data))) == catalog  # a str path works too


def test_the_catalog_round_trips_through_json(tmp_path: Path) -> None:
    catalog = default_catalog()
    assert ModelCatalog.from_json(json.loads(json.dumps(catalog.to_json()))) == catalog
    assert load_catalog(write(tmp_path, catalog.to_json())) == catalog
    for model in catalog.models:
        assert TunableModel.from_json(json.loads(json.dumps(model.to_json()))) == model


def broken(change: Any) -> dict[str, Any]:
    data = packaged_data()
    change(data)
    return data


def set_model_field(index: int, key: str, value: Any) -> Any:
    return lambda data: data["models"][index].__setitem__(key, value)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("{not json", r"is not valid JSON: .* line 1, column 2"),
        ([], "must hold a JSON object with 'models', got list"),
        (broken(lambda d: d.pop("models")), "field 'models' is missing"),
        (broken(lambda d: d.__setitem__("schema_version", 2)), "schema_version 2 is not supported"),
        (broken(lambda d: d.__setitem__("default_model", "gemini-9")), "'default_model' is 'gemini-9', which is not"),
        (broken(lambda d: d.__setitem__("extra", 1)), r"unknown field\(s\) \['extra'\]"),
        (
            broken(set_model_field(5, "price_per_million_training_tokens_usd", "cheap")),
            r"models\[5\] \(gemini-2.5-flash\): field 'price_per_million_training_tokens_usd' must be a number",
        ),
        (
            broken(set_model_field(4, "adapter_sizes", [1, 3])),
            r"models\[4\] \(gemini-2.5-pro\): field 'adapter_sizes' must list sizes among",
        ),
        (broken(set_model_field(6, "retirement_date", "October 2026")), r"'retirement_date' must be an ISO date"),
        (
            broken(set_model_field(6, "adapter_size", [1])),
            r"\(gemini-2.5-flash-lite\): unknown field\(s\) \['adapter_size'\]",
        ),
        (broken(set_model_field(7, "sources", [])), r"\(gemini-2.0-flash-001\): field 'sources' is empty"),
        (broken(set_model_field(5, "max_example_tokens", 0)), "'max_example_tokens' must be at least 1"),
        (
            broken(set_model_field(5, "thinking", {"default_on": "yes", "can_disable": True, "min_budget": 0})),
            r"\(gemini-2.5-flash\) thinking: field 'default_on' must be true or false",
        ),
        (
            broken(lambda d: d["models"][4]["sources"][0].__setitem__("retrieved", "yesterday")),
            r"\(gemini-2.5-pro\) sources\[0\]: field 'retrieved' must be an ISO date",
        ),
        (broken(lambda d: d["models"].append(d["models"][0])), r"lists \['gemini-3.5-flash-lite'\] more than once"),
    ],
)
def test_a_bad_file_is_refused_naming_the_file_and_the_field(tmp_path: Path, data: Any, expected: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(CatalogError, match=expected) as caught:
        load_catalog(path)
    assert str(caught.value).startswith(f"model catalog {path}")


def test_a_gcs_catalog_is_read_through_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    from gemini_qa_tuning import storage

    data = packaged_data()
    data["default_model"] = "gemini-3.5-flash"
    monkeypatch.setattr(storage, "read_text", lambda uri: json.dumps(data) if uri == "gs://b/models.json" else "")
    assert load_catalog("gs://b/models.json").default_model == "gemini-3.5-flash"
    assert load_catalog("") == load_catalog(None) == default_catalog()  # an empty Param: the packaged one


def test_a_missing_gcs_catalog_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    from gemini_qa_tuning import storage

    def missing(uri: str) -> str:
        raise FileNotFoundError(uri)

    monkeypatch.setattr(storage, "read_text", missing)
    with pytest.raises(CatalogError, match=r"gs://b/none.json does not exist; upload .* or clear model_catalog_uri"):
        load_catalog("gs://b/none.json")


def test_a_bad_thinking_level_is_refused(tmp_path: Path) -> None:
    data = packaged_data()
    data["models"][0]["thinking"]["default_level"] = "OFF"
    with pytest.raises(
        CatalogError, match=r"\(gemini-3.5-flash-lite\) thinking: field 'default_level' 'OFF' is not among"
    ):
        load_catalog(write(tmp_path, data))


def test_a_missing_file_is_refused_with_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"nope.json cannot be read .*laid out like the packaged models.json"):
        load_catalog(tmp_path / "nope.json")


def test_the_catalog_file_ships_in_the_wheel() -> None:
    import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    package_data = pyproject["tool"]["setuptools"]["package-data"]["gemini_qa_tuning"]
    assert f"tuning/{PACKAGED_CATALOG}" in package_data


LEVEL_THINKING = {
    "default_on": True,
    "can_disable": False,
    "min_budget": None,
    "levels": ["MINIMAL", "LOW"],
    "default_level": "MINIMAL",
    "expected_level_tokens": {"MINIMAL": 256, "LOW": 1024},
}


def test_level_based_thinking_reads_its_levels_lowest_first(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, broken(set_model_field(1, "thinking", LEVEL_THINKING))))
    model = catalog.model(packaged_data()["models"][1]["name"])
    assert model is not None and model.thinking is not None
    assert model.thinking.lowest_level == "MINIMAL"
    assert dict(model.thinking.expected_level_tokens) == {"MINIMAL": 256, "LOW": 1024}
    assert load_catalog(write(tmp_path, catalog.to_json())) == catalog


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"levels": ["LOW", "MINIMAL"]}, "field 'levels' must list distinct values among .* lowest first"),
        ({"levels": ["NONE"]}, "field 'levels' must list distinct values"),
        ({"default_level": "HIGH"}, "field 'default_level' 'HIGH' is not among 'levels'"),
        ({"expected_level_tokens": {"MINIMAL": 256}}, "'expected_level_tokens' must give a number >= 0 for each"),
        ({"max_budget": -1}, "field 'max_budget' must be >= 0"),
    ],
)
def test_bad_thinking_levels_are_refused(tmp_path: Path, changes: dict[str, Any], expected: str) -> None:
    with pytest.raises(CatalogError, match=expected):
        load_catalog(write(tmp_path, broken(set_model_field(1, "thinking", {**LEVEL_THINKING, **changes}))))
