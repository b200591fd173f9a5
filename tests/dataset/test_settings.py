"""DatasetSettings: defaults, JSON round trip, clear errors (Params are converted by PipelineParams)."""

from __future__ import annotations

import pytest

from gemini_qa_tuning.dataset import DatasetSettings, DatasetSettingsError


def test_defaults_are_the_offline_sample_with_vertex_limits() -> None:
    settings = DatasetSettings()
    assert settings.source_kind == "sample"
    assert settings.max_validation_examples == 5000
    assert settings.max_prompt_tokens == 131_072
    assert settings.max_reject_share == 0.05
    assert settings.resolved_test_source is None


def test_settings_round_trip_through_json_and_ignore_unrelated_keys() -> None:
    settings = DatasetSettings(
        source_kind="jsonl",
        source_uri="gs://b/train.jsonl",
        test_source_uri="gs://b/test.jsonl",
        max_train_examples=1000,
        validation_fraction=0.2,
        seed=7,
    )
    assert settings.resolved_test_source == "gs://b/test.jsonl"
    assert DatasetSettings.from_json({**settings.to_json(), "force_retrain": True}) == settings


def test_huggingface_defaults_to_squad_and_its_validation_split() -> None:
    settings = DatasetSettings(source_kind="huggingface")
    assert settings.resolved_source_uri == "rajpurkar/squad"
    assert settings.resolved_test_source == "validation"
    assert DatasetSettings(source_kind="huggingface", test_source_uri="none").resolved_test_source is None
    assert DatasetSettings(source_kind="jsonl", source_uri="a.jsonl", test_source_uri="").resolved_test_source is None


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(DatasetSettingsError) as raised:
        DatasetSettings.from_json(
            {
                "source_kind": "csv",
                "max_validation_examples": 6000,
                "validation_fraction": 1.5,
                "test_fraction": 0.6,
                "seed": 0,
                "max_reject_share": 2,
                "max_train_examples": 0,
                "group_by": "paragraph",
            }
        )
    message = str(raised.value)
    for expected in (
        "source_kind must be one of sample, squad_json, jsonl, huggingface, not 'csv'",
        "max_validation_examples must be an integer from 0 to 5000",
        "validation_fraction must be a number in [0, 1)",
        "must be below 1",
        "max_reject_share must be a number in [0, 1]",
        "max_train_examples must be a positive integer or null",
        "group_by must be 'title' or 'context'",
    ):
        assert expected in message


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"source_kind": "squad_json"}, "needs source_uri"),
        ({"seed": "abc"}, "seed must be a 64-bit integer, not 'abc'"),
        ({"seed": True}, "seed must be a 64-bit integer, not True"),
        ({"validation_fraction": "lots"}, "must be a number"),
        ({"max_prompt_tokens": 0}, "max_prompt_tokens must be a positive integer"),
        ({"test_source_uri": 3}, "test_source_uri must be a string"),
    ],
)
def test_single_bad_values(params: dict, message: str) -> None:
    with pytest.raises(DatasetSettingsError, match=message):
        DatasetSettings.from_json(params)
