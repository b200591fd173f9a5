"""Tuning settings: native values, validation against the catalog, identity labels and the request."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest

from gemini_qa_tuning.tuning import (
    CONFIG_LABEL_KEY,
    DATASET_LABEL_KEY,
    DEFAULT_BASE_MODEL,
    IDENTITY_LABEL_KEYS,
    MANAGED_BY_LABEL_KEY,
    PIPELINE_LABEL_KEY,
    TUNABLE_BASE_MODELS,
    TuningConfig,
    TuningConfigError,
    TuningRequest,
    validate_labels,
)
from gemini_qa_tuning.tuning.catalog import ModelCatalog, default_catalog

TRAIN = "gs://bucket/datasets/abc/train.jsonl"
VALIDATION = "gs://bucket/datasets/abc/validation.jsonl"
PIPELINE = "gemini_squad_tuning"


def config(**overrides: Any) -> TuningConfig:
    return TuningConfig.validated(**{"training_uri": TRAIN, "validation_uri": VALIDATION, **overrides})


# --------------------------------------------------------------------------- settings
def test_defaults_are_peft_on_the_default_base_model() -> None:
    settings = config()
    assert settings.base_model == DEFAULT_BASE_MODEL == "gemini-3.5-flash-lite"
    assert settings.tuning_mode == "TUNING_MODE_PEFT_ADAPTER"
    assert (settings.epochs, settings.adapter_size, settings.learning_rate_multiplier) == (3, 4, 1.0)
    assert DEFAULT_BASE_MODEL in TUNABLE_BASE_MODELS


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"training_uri": ""}, "training_uri is missing"),
        ({"training_uri": "/tmp/train.jsonl"}, "is not a gs://<bucket>/<object> URI"),
        ({"validation_uri": "gs://bucket/validation.csv"}, "does not end in .jsonl"),
        ({"epochs": 0}, "epochs is 0; use a whole number from 1 to 100"),
        ({"epochs": 101}, "epochs is 101"),
        ({"adapter_size": 3}, "adapter_size 3 is not one Vertex offers"),
        ({"learning_rate_multiplier": 0}, "learning_rate_multiplier is 0; use a number greater than 0"),
        ({"learning_rate_multiplier": 11}, "at most 10"),
        ({"tuning_mode": "TUNING_MODE_LORA"}, "tuning_mode 'TUNING_MODE_LORA' is unknown"),
        ({"tuning_mode": "TUNING_MODE_FULL"}, "adapter_size applies to PEFT adapter tuning only"),
        ({"base_model": "gemini-1.5-flash-002"}, "has been retired by Vertex AI"),
        ({"tuned_model_display_name": "x" * 129}, "shorten it to at most 128"),
        ({"labels": {"Team": "qa"}}, "key 'Team' is not a valid label key"),
        ({"labels": {"team": "Q A"}}, "value 'Q A' of 'team' is not a valid label value"),
        ({"labels": {DATASET_LABEL_KEY: "x"}}, "is reserved"),
        ({"labels": {PIPELINE_LABEL_KEY: "x"}}, "is reserved"),
        ({"labels": "not a mapping"}, "labels must be a mapping"),
        ({"epoch": 3}, "unknown setting(s) ['epoch']"),
        # Native values only: a rendered string is refused, never parsed.
        ({"epochs": "3"}, "epochs is '3'; use a whole number"),
        ({"epochs": True}, "epochs is True"),
        ({"adapter_size": "ADAPTER_SIZE_EIGHT"}, "adapter_size 'ADAPTER_SIZE_EIGHT' is not one Vertex offers"),
        ({"learning_rate_multiplier": "0.5"}, "learning_rate_multiplier is '0.5'"),
        ({"tuning_mode": "peft_adapter"}, "TUNING_MODES maps the short names"),
        ({"labels": '{"team": "qa"}'}, "labels must be a mapping"),
        # The catalog knows which adapter sizes each model takes.
        (
            {"adapter_size": 32},
            "adapter_size 32 is not supported for gemini-3.5-flash-lite; use one of [1, 2, 4, 8, 16]",
        ),
        ({"base_model": "gemini-2.5-pro", "adapter_size": 16}, "not supported for gemini-2.5-pro"),
    ],
)
def test_invalid_settings_are_reported_clearly(overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(TuningConfigError) as caught:
        config(**overrides)
    assert expected in str(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(TuningConfigError) as caught:
        TuningConfig.validated(training_uri="", epochs=0, adapter_size=5)
    assert len(caught.value.problems) == 3


def test_full_tuning_without_adapter_size_is_valid() -> None:
    assert config(tuning_mode="TUNING_MODE_FULL", adapter_size=None).tuning_mode == "TUNING_MODE_FULL"


def test_unknown_models_are_not_checked_for_adapter_sizes_and_versioned_names_are() -> None:
    assert config(base_model="gemini-3.0-ultra", adapter_size=32).adapter_size == 32  # Vertex decides
    with pytest.raises(TuningConfigError, match=r"not supported for gemini-2.5-flash"):
        config(base_model="gemini-2.5-flash-001", adapter_size=32)


def test_warnings_for_unknown_model_and_missing_validation() -> None:
    warnings = config(base_model="gemini-3.0-ultra", validation_uri=None).warnings()
    assert any("not in the list of known tunable models" in warning for warning in warnings)
    assert any("no validation_uri" in warning for warning in warnings)
    assert config().warnings() == []


def test_a_config_is_checked_against_the_catalog_it_is_given() -> None:
    packaged = default_catalog()
    flash = packaged.model("gemini-3.5-flash-lite")
    assert flash is not None
    only_small = ModelCatalog(
        default_model="gemini-3.5-flash-lite",
        models=(replace(flash, adapter_sizes=(1, 2)),),
        retired_prefixes=(),
    )
    with pytest.raises(TuningConfigError, match=r"use one of \[1, 2\]"):
        TuningConfig.validated(catalog=only_small, training_uri=TRAIN, adapter_size=4)
    assert TuningConfig.validated(catalog=only_small, training_uri=TRAIN, adapter_size=2).catalog is only_small
    unknown = TuningConfig(training_uri=TRAIN, base_model="gemini-2.5-pro", catalog=only_small)
    assert any("not in the list of known tunable models" in warning for warning in unknown.warnings())


# --------------------------------------------------------------------------- identity
def test_config_hash_is_pinned() -> None:
    """The hash labels jobs already paid for: changing it would make every retry launch a new job."""
    pinned = config(base_model="gemini-2.5-flash")
    assert pinned.config_hash() == "835a76ee71573ee3"
    assert pinned.hashed_settings() == {
        "version": "v1",
        "base_model": "gemini-2.5-flash",
        "epochs": 3,
        "adapter_size": 4,
        "learning_rate_multiplier": 1.0,
        "tuning_mode": "TUNING_MODE_PEFT_ADAPTER",
    }
    full = config(
        base_model="gemini-2.5-pro",
        epochs=5,
        adapter_size=None,
        learning_rate_multiplier=2,
        tuning_mode="TUNING_MODE_FULL",
    )
    assert full.config_hash() == "bc9d0c47971548a0"


def test_config_hash_covers_what_is_trained_not_cosmetics() -> None:
    base = config().config_hash()
    assert re.fullmatch(r"[0-9a-f]{16}", base)
    assert config(description="new words", tuned_model_display_name="n", labels={"a": "b"}).config_hash() == base
    assert config(training_uri="gs://other/place/train.jsonl").config_hash() == base  # data: fingerprint label
    for change in ({"epochs": 4}, {"adapter_size": 8}, {"learning_rate_multiplier": 2}, {"base_model": "x"}):
        assert config(**change).config_hash() != base, change
    assert config(base_model="publishers/google/models/gemini-3.5-flash-lite").config_hash() == base
    other_catalog = ModelCatalog(default_catalog().default_model, default_catalog().models, ())
    assert TuningConfig.validated(catalog=other_catalog, training_uri=TRAIN, validation_uri=VALIDATION) == config()


def test_job_labels_identify_the_job_and_follow_vertex_rules() -> None:
    settings = config(labels={"team": "qa"})
    labels = settings.job_labels("SHA256:ABCDEF" + "0" * 80, pipeline_id=PIPELINE)
    assert labels["team"] == "qa"
    assert labels[DATASET_LABEL_KEY].startswith("sha256-abcdef") and len(labels[DATASET_LABEL_KEY]) == 63
    assert labels[CONFIG_LABEL_KEY] == settings.config_hash()
    assert validate_labels({k: v for k, v in labels.items() if k == "team"}) == []
    for key, value in labels.items():
        assert re.fullmatch(r"[a-z][a-z0-9_-]{0,62}", key) and re.fullmatch(r"[a-z0-9_-]{0,63}", value)
    assert "team" not in settings.identity_labels("abc", pipeline_id=PIPELINE)
    with pytest.raises(TuningConfigError, match="empty after label normalisation"):
        settings.job_labels("   ", pipeline_id=PIPELINE)


def test_the_pipeline_is_part_of_the_job_identity() -> None:
    settings = config()
    ours = settings.identity_labels("fp", pipeline_id="Team A/Nightly")
    theirs = settings.identity_labels("fp", pipeline_id="team_b_nightly")
    assert set(ours) == IDENTITY_LABEL_KEYS
    assert ours[PIPELINE_LABEL_KEY] == "team-a-nightly"  # a valid label value, not the raw id
    assert theirs[PIPELINE_LABEL_KEY] == "team_b_nightly"
    assert {k: v for k, v in ours.items() if k != PIPELINE_LABEL_KEY} == {
        k: v for k, v in theirs.items() if k != PIPELINE_LABEL_KEY
    }
    assert ours[MANAGED_BY_LABEL_KEY] == "gemini-qa-tuning"
    assert settings.request("fp", pipeline_id="Team A/Nightly").labels[PIPELINE_LABEL_KEY] == "team-a-nightly"


@pytest.mark.parametrize("pipeline_id", ["", "   ", "///", None])
def test_a_job_needs_a_pipeline(pipeline_id: Any) -> None:
    with pytest.raises(TuningConfigError, match=r"pipeline_id .* is empty after label normalisation.*DAG id"):
        config().request("fp", pipeline_id=pipeline_id)


def test_label_keyword_arguments_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        config().job_labels("fp", PIPELINE)  # type: ignore[call-arg]


# --------------------------------------------------------------------------- request
def test_request_maps_to_the_sdk_fields() -> None:
    from google.genai import types

    settings = config(
        epochs=2, adapter_size=8, learning_rate_multiplier=0.5, description="d", tuned_model_display_name="n"
    )
    request = settings.request("fp", pipeline_id=PIPELINE)
    dataset, sdk_config = request.to_sdk()
    assert dataset == types.TuningDataset(gcs_uri=TRAIN)
    assert sdk_config.validation_dataset == types.TuningValidationDataset(gcs_uri=VALIDATION)
    assert sdk_config.epoch_count == 2
    assert sdk_config.adapter_size == types.AdapterSize.ADAPTER_SIZE_EIGHT
    assert sdk_config.learning_rate_multiplier == 0.5
    assert sdk_config.tuning_mode == types.TuningMode.TUNING_MODE_PEFT_ADAPTER
    assert sdk_config.method == types.TuningMethod.SUPERVISED_FINE_TUNING
    assert (sdk_config.description, sdk_config.tuned_model_display_name) == ("d", "n")
    assert sdk_config.labels == settings.job_labels("fp", pipeline_id=PIPELINE)
    as_data = request.as_dict()
    json.dumps(as_data)  # loggable and XCom-able
    assert as_data["config"]["validation_dataset"] == {"gcs_uri": VALIDATION}
    assert "description" in as_data["config"]
    full = config(tuning_mode="TUNING_MODE_FULL", adapter_size=None).request("fp", pipeline_id=PIPELINE)
    assert "adapter_size" not in full.config_kwargs()


def test_request_body_sent_by_the_sdk() -> None:
    """The camelCase body google-genai builds from our request (what Vertex receives)."""
    from google.genai import tunings, types

    request = config().request("fp", pipeline_id=PIPELINE)
    dataset, sdk_config = request.to_sdk()
    parameters = types._CreateTuningJobParametersPrivate(
        base_model=request.base_model, training_dataset=dataset, config=sdk_config
    )
    body = tunings._CreateTuningJobParametersPrivate_to_vertex(parameters, None, parameters)
    spec = body["supervisedTuningSpec"]
    assert body["baseModel"] == "gemini-3.5-flash-lite"
    assert spec["trainingDatasetUri"] == TRAIN and spec["validationDatasetUri"] == VALIDATION
    assert spec["hyperParameters"] == {
        "epochCount": 3,
        "adapterSize": "ADAPTER_SIZE_FOUR",
        "learningRateMultiplier": 1.0,
    }
    assert spec["tuningMode"] == "TUNING_MODE_PEFT_ADAPTER"
    assert body["labels"][CONFIG_LABEL_KEY] == config().config_hash()
    assert body["labels"][PIPELINE_LABEL_KEY] == "gemini_squad_tuning"


def test_request_refuses_invalid_settings() -> None:
    with pytest.raises(TuningConfigError):
        TuningConfig(training_uri=TRAIN, epochs=0).request("fp", pipeline_id=PIPELINE)


# --------------------------------------------------------------------------- JSON
def test_config_and_request_round_trip_through_json() -> None:
    settings = config(labels={"team": "qa"}, description="d", adapter_size=8)
    assert TuningConfig.from_json(json.loads(json.dumps(settings.to_json()))) == settings
    request = settings.request("fp", pipeline_id=PIPELINE)
    assert TuningRequest.from_json(json.loads(json.dumps(request.to_json()))) == request


def test_from_json_refuses_what_a_config_would() -> None:
    with pytest.raises(TuningConfigError, match="unknown setting"):
        TuningConfig.from_json({**config().to_json(), "epoch": 3})
    with pytest.raises(ValueError, match="tuning request: field 'epoch_count' must be a whole number, got '3'"):
        TuningRequest.from_json({**config().request("fp", pipeline_id=PIPELINE).to_json(), "epoch_count": "3"})
