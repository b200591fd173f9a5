"""PipelineParams: the one conversion of a run's Params, refusing typos and wrong types."""

from __future__ import annotations

import pytest

from gemini_qa_tuning.pipeline.params import PipelineParams, PipelineParamsError


def test_defaults_and_json_round_trip() -> None:
    params = PipelineParams.from_params({})
    assert params == PipelineParams()
    assert PipelineParams.from_json(params.to_json()) == params


def test_a_misspelt_key_names_the_closest_param() -> None:
    with pytest.raises(
        PipelineParamsError, match=r"'epoch_count' is not a Param of this pipeline; did you mean 'epochs'\?"
    ):
        PipelineParams.from_params({"epoch_count": 5})


def test_an_unknown_key_with_no_close_match_lists_the_params() -> None:
    with pytest.raises(PipelineParamsError, match=r"'zzz' is not a Param.*the Params are: gcs_prefix, gcp_conn_id"):
        PipelineParams.from_params({"zzz": 1})


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(PipelineParamsError) as raised:
        PipelineParams.from_params({"epochs": "3", "dry_run": "yes", "seed": True, "gcs_prefix": None, "epoc": 1})
    message = str(raised.value)
    assert "4 problem(s)" not in message and "5 problem(s)" in message
    assert "epochs must be a whole number, not str '3'" in message
    assert "dry_run must be true or false, not str 'yes'" in message
    assert "seed must be a whole number, not bool True" in message
    assert "gcs_prefix must not be empty" in message
    assert "did you mean 'epochs'?" in message


def test_native_values_are_kept_and_ints_count_as_numbers() -> None:
    params = PipelineParams.from_params(
        {"epochs": 5, "learning_rate_multiplier": 2, "max_test_examples": None, "impersonation_chain": ["a@b", "c@d"]}
    )
    assert params.epochs == 5
    assert params.learning_rate_multiplier == 2.0 and isinstance(params.learning_rate_multiplier, float)
    assert params.max_test_examples is None
    assert params.impersonation_chain == ("a@b", "c@d")
    assert PipelineParams.from_params({"impersonation_chain": "a@b, c@d"}).impersonation_chain == ("a@b", "c@d")


def test_dataset_settings_come_from_the_params() -> None:
    settings = PipelineParams(source_kind="sample", source_uri=None, seed=7, max_test_examples=20).dataset_settings()
    assert (settings.source_kind, settings.source_uri, settings.seed, settings.max_test_examples) == (
        "sample",
        "",
        7,
        20,
    )


def test_owner_defaults_to_the_dag_id() -> None:
    assert PipelineParams().owner("gemini_squad_tuning") == "gemini_squad_tuning"
    assert PipelineParams(pipeline_id="team-a").owner("gemini_squad_tuning") == "team-a"
