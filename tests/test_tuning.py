"""Tuning domain logic: settings validation, job identity, request building, job states, cost."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gemini_qa_tuning.gemini_format import tuning_line
from gemini_qa_tuning.tuning import (
    CONFIG_LABEL_KEY,
    DATASET_LABEL_KEY,
    DEFAULT_BASE_MODEL,
    JOB_STATE_RULES,
    MANAGED_BY_LABEL_KEY,
    MANAGED_BY_LABEL_VALUE,
    PIPELINE_LABEL_KEY,
    TUNABLE_BASE_MODELS,
    JobOutcome,
    TuningConfig,
    TuningConfigError,
    TuningJobNameError,
    completion_result,
    console_url,
    files_fingerprint,
    job_summary,
    judge_job,
    label_value,
    labels_filter,
    parse_job_name,
    price_per_million_tokens,
    rule_for_state,
    scan_tuning_jsonl,
    select_reusable_job,
    succeeded_dataset_fingerprints,
    tuning_cost_usd,
    validate_labels,
)

JOB = "projects/local-project/locations/us-central1/tuningJobs/123"
TRAIN = "gs://bucket/datasets/abc/train.jsonl"
VALIDATION = "gs://bucket/datasets/abc/validation.jsonl"


def config(**overrides: Any) -> TuningConfig:
    return TuningConfig.from_raw(**{"training_uri": TRAIN, "validation_uri": VALIDATION, **overrides})


# --------------------------------------------------------------------------- settings
def test_defaults_are_peft_on_the_default_base_model() -> None:
    settings = config()
    assert settings.base_model == DEFAULT_BASE_MODEL == "gemini-2.5-flash"
    assert settings.tuning_mode == "TUNING_MODE_PEFT_ADAPTER"
    assert (settings.epochs, settings.adapter_size, settings.learning_rate_multiplier) == (3, 4, 1.0)
    assert DEFAULT_BASE_MODEL in TUNABLE_BASE_MODELS


def test_rendered_template_strings_are_coerced() -> None:
    settings = config(
        epochs="5",
        adapter_size="ADAPTER_SIZE_EIGHT",
        learning_rate_multiplier="0.5",
        tuning_mode="peft_adapter",
        labels="{'team': 'qa'}",
    )
    assert (settings.epochs, settings.adapter_size, settings.learning_rate_multiplier) == (5, 8, 0.5)
    assert settings.tuning_mode == "TUNING_MODE_PEFT_ADAPTER"
    assert settings.labels == {"team": "qa"}
    assert config(adapter_size="16", labels='{"a": "b"}').adapter_size == 16


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"training_uri": ""}, "training_uri is missing"),
        ({"training_uri": "/tmp/train.jsonl"}, "is not a gs://<bucket>/<object> URI"),
        ({"validation_uri": "gs://bucket/validation.csv"}, "does not end in .jsonl"),
        ({"epochs": 0}, "epochs is 0; use a whole number from 1 to 100"),
        ({"epochs": 101}, "epochs is 101"),
        ({"epochs": "three"}, "epochs must be a whole number, got 'three'"),
        ({"adapter_size": 3}, "adapter_size 3 is not one Vertex offers"),
        ({"adapter_size": "ADAPTER_SIZE_HUGE"}, "adapter_size must be a whole number"),
        ({"learning_rate_multiplier": 0}, "learning_rate_multiplier is 0.0; use a number greater than 0"),
        ({"learning_rate_multiplier": 11}, "at most 10"),
        ({"tuning_mode": "lora"}, "tuning_mode 'LORA' is unknown"),
        ({"tuning_mode": "full"}, "adapter_size applies to PEFT adapter tuning only"),
        ({"base_model": "gemini-1.5-flash-002"}, "has been retired by Vertex AI"),
        ({"tuned_model_display_name": "x" * 129}, "shorten it to at most 128"),
        ({"labels": {"Team": "qa"}}, "key 'Team' is not a valid label key"),
        ({"labels": {"team": "Q A"}}, "value 'Q A' of 'team' is not a valid label value"),
        ({"labels": {DATASET_LABEL_KEY: "x"}}, "is reserved"),
        ({"labels": "not a mapping"}, "labels must be a mapping"),
        ({"epoch": 3}, "unknown setting(s) ['epoch']"),
    ],
)
def test_invalid_settings_are_reported_clearly(overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(TuningConfigError) as caught:
        config(**overrides)
    assert expected in str(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(TuningConfigError) as caught:
        TuningConfig.from_raw(training_uri="", epochs=0, adapter_size=5)
    assert len(caught.value.problems) == 3


def test_full_tuning_without_adapter_size_is_valid() -> None:
    assert config(tuning_mode="full", adapter_size=None).tuning_mode == "TUNING_MODE_FULL"


def test_warnings_for_unknown_model_and_missing_validation() -> None:
    warnings = config(base_model="gemini-3.0-ultra", validation_uri=None).warnings()
    assert any("not in the list of known tunable models" in warning for warning in warnings)
    assert any("no validation_uri" in warning for warning in warnings)
    assert config().warnings() == []


# --------------------------------------------------------------------------- identity
def test_config_hash_covers_what_is_trained_not_cosmetics() -> None:
    base = config().config_hash()
    assert re.fullmatch(r"[0-9a-f]{16}", base)
    assert config(description="new words", tuned_model_display_name="n", labels={"a": "b"}).config_hash() == base
    assert config(training_uri="gs://other/place/train.jsonl").config_hash() == base  # data: fingerprint label
    for change in ({"epochs": 4}, {"adapter_size": 8}, {"learning_rate_multiplier": 2}, {"base_model": "x"}):
        assert config(**change).config_hash() != base, change
    assert config(base_model="publishers/google/models/gemini-2.5-flash").config_hash() == base


def test_job_labels_identify_the_job_and_follow_vertex_rules() -> None:
    settings = config(labels={"team": "qa"})
    labels = settings.job_labels("SHA256:ABCDEF" + "0" * 80, pipeline_id="My DAG")
    assert labels["team"] == "qa"
    assert labels[DATASET_LABEL_KEY].startswith("sha256-abcdef") and len(labels[DATASET_LABEL_KEY]) == 63
    assert labels[CONFIG_LABEL_KEY] == settings.config_hash()
    assert labels[PIPELINE_LABEL_KEY] == "my-dag"
    assert validate_labels({k: v for k, v in labels.items() if k == "team"}) == []
    for key, value in labels.items():
        assert re.fullmatch(r"[a-z][a-z0-9_-]{0,62}", key) and re.fullmatch(r"[a-z0-9_-]{0,63}", value)
    assert "team" not in settings.identity_labels("abc", pipeline_id="p")
    with pytest.raises(TuningConfigError, match="empty after label normalisation"):
        settings.job_labels("   ", pipeline_id="p")
    with pytest.raises(TuningConfigError, match="pipeline_id ' ' is empty"):
        settings.job_labels("fp", pipeline_id=" ")


@given(st.text(min_size=0, max_size=200))
def test_label_value_always_valid(text: str) -> None:
    assert re.fullmatch(r"[a-z0-9_-]{0,63}", label_value(text))


def test_labels_filter_is_aip160() -> None:
    assert labels_filter({"b": "2", "a": "1"}) == 'labels.a="1" AND labels.b="2"'


# --------------------------------------------------------------------------- request
def test_request_maps_to_the_sdk_fields() -> None:
    from google.genai import types

    settings = config(
        epochs=2, adapter_size=8, learning_rate_multiplier=0.5, description="d", tuned_model_display_name="n"
    )
    request = settings.request("fp", pipeline_id="p")
    dataset, sdk_config = request.to_sdk()
    assert dataset == types.TuningDataset(gcs_uri=TRAIN)
    assert sdk_config.validation_dataset == types.TuningValidationDataset(gcs_uri=VALIDATION)
    assert sdk_config.epoch_count == 2
    assert sdk_config.adapter_size == types.AdapterSize.ADAPTER_SIZE_EIGHT
    assert sdk_config.learning_rate_multiplier == 0.5
    assert sdk_config.tuning_mode == types.TuningMode.TUNING_MODE_PEFT_ADAPTER
    assert sdk_config.method == types.TuningMethod.SUPERVISED_FINE_TUNING
    assert (sdk_config.description, sdk_config.tuned_model_display_name) == ("d", "n")
    assert sdk_config.labels == settings.job_labels("fp", pipeline_id="p")
    as_data = request.as_dict()
    json.dumps(as_data)  # loggable and XCom-able
    assert as_data["config"]["validation_dataset"] == {"gcs_uri": VALIDATION}
    assert "description" in as_data["config"]
    assert (
        "adapter_size"
        not in config(tuning_mode="full", adapter_size=None).request("fp", pipeline_id="p").config_kwargs()
    )


def test_request_body_sent_by_the_sdk() -> None:
    """The camelCase body google-genai builds from our request (what Vertex receives)."""
    from google.genai import tunings, types

    request = config().request("fp", pipeline_id="p")
    dataset, sdk_config = request.to_sdk()
    parameters = types._CreateTuningJobParametersPrivate(
        base_model=request.base_model, training_dataset=dataset, config=sdk_config
    )
    body = tunings._CreateTuningJobParametersPrivate_to_vertex(parameters, None, parameters)
    spec = body["supervisedTuningSpec"]
    assert body["baseModel"] == "gemini-2.5-flash"
    assert spec["trainingDatasetUri"] == TRAIN and spec["validationDatasetUri"] == VALIDATION
    assert spec["hyperParameters"] == {
        "epochCount": 3,
        "adapterSize": "ADAPTER_SIZE_FOUR",
        "learningRateMultiplier": 1.0,
    }
    assert spec["tuningMode"] == "TUNING_MODE_PEFT_ADAPTER"
    assert body["labels"][CONFIG_LABEL_KEY] == config().config_hash()


def test_request_refuses_invalid_settings() -> None:
    with pytest.raises(TuningConfigError):
        TuningConfig(training_uri=TRAIN, epochs=0).request("fp", pipeline_id="p")


# --------------------------------------------------------------------------- names and links
def test_console_url_and_job_name() -> None:
    assert parse_job_name(JOB) == ("local-project", "us-central1", "123")
    assert console_url(JOB) == (
        "https://console.cloud.google.com/vertex-ai/generative/language/locations/us-central1"
        "/tuning/tuningJob/123?project=local-project"
    )
    with pytest.raises(TuningJobNameError, match="is not a tuning job resource name"):
        parse_job_name("tuningJobs/123")


# --------------------------------------------------------------------------- states
def test_every_sdk_job_state_has_a_documented_rule() -> None:
    from google.genai import types

    assert set(JOB_STATE_RULES) == {state.value for state in types.JobState}
    for state in types.JobState:
        rule = rule_for_state(state)
        assert rule.state == state.value and rule.reason
    assert {s for s, r in JOB_STATE_RULES.items() if r.outcome is JobOutcome.FAILED} == {
        "JOB_STATE_FAILED",
        "JOB_STATE_CANCELLED",
        "JOB_STATE_EXPIRED",
    }
    assert {s for s, r in JOB_STATE_RULES.items() if r.outcome is JobOutcome.SUCCEEDED} == {
        "JOB_STATE_SUCCEEDED",
        "JOB_STATE_PARTIALLY_SUCCEEDED",
    }
    for waiting in ("JOB_STATE_QUEUED", "JOB_STATE_PENDING", "JOB_STATE_CANCELLING", "JOB_STATE_PAUSED"):
        assert rule_for_state(waiting).outcome is JobOutcome.WAITING
    assert not rule_for_state("JOB_STATE_CANCELLING").reusable


def test_unknown_and_missing_states_wait() -> None:
    assert rule_for_state("JOB_STATE_FROM_THE_FUTURE").outcome is JobOutcome.WAITING
    assert not rule_for_state("JOB_STATE_FROM_THE_FUTURE").reusable
    assert rule_for_state(None).state == "JOB_STATE_UNSPECIFIED"


def fake_job(state: str, created: int = 0, **fields: Any) -> Any:
    return SimpleNamespace(
        name=f"{JOB}{created}", state=state, create_time=datetime.fromtimestamp(created, UTC), **fields
    )


def test_select_reusable_job_prefers_succeeded_then_newest() -> None:
    failed, running, older_running = (
        fake_job("JOB_STATE_FAILED", 9),
        fake_job("JOB_STATE_RUNNING", 5),
        fake_job("JOB_STATE_QUEUED", 1),
    )
    assert select_reusable_job([failed, older_running, running]) is running
    succeeded = fake_job("JOB_STATE_SUCCEEDED", 0)
    assert select_reusable_job([running, succeeded]) is succeeded
    assert select_reusable_job([failed, fake_job("JOB_STATE_CANCELLED"), fake_job("JOB_STATE_EXPIRED")]) is None
    assert select_reusable_job([]) is None


def sdk_job(**fields: Any) -> Any:
    from google.genai import types

    return types.TuningJob.model_validate({"name": JOB, **fields})


def test_job_summary_and_verdicts() -> None:
    succeeded = sdk_job(
        state="JOB_STATE_SUCCEEDED",
        base_model="gemini-2.5-flash",
        tuned_model={"model": "m@1", "endpoint": "e"},
        supervised_tuning_spec={"hyper_parameters": {"epoch_count": 2}},
        tuning_data_stats={"supervised_tuning_data_stats": {"total_billable_token_count": 1_000_000}},
    )
    summary = job_summary(succeeded)
    assert (summary["tuned_model"], summary["endpoint"], summary["epochs"]) == ("m@1", "e", 2)
    assert judge_job(summary).outcome is JobOutcome.SUCCEEDED
    result = completion_result(summary)
    assert result["actual_cost_usd"] == 10.0  # 1M tokens x 2 epochs x $5
    assert set(result) >= {"job_name", "state", "tuned_model", "endpoint"}

    failed = judge_job(job_summary(sdk_job(state="JOB_STATE_FAILED", error={"code": 13, "message": "boom"})))
    assert failed.outcome is JobOutcome.FAILED
    assert "boom (code 13)" in failed.message and "console.cloud.google.com" in failed.message

    partial_without_model = judge_job(job_summary(sdk_job(state="JOB_STATE_PARTIALLY_SUCCEEDED")))
    assert (
        partial_without_model.outcome is JobOutcome.FAILED
        and "no tuned model endpoint" in partial_without_model.message
    )
    partial = sdk_job(state="JOB_STATE_PARTIALLY_SUCCEEDED", tuned_model={"model": "m", "endpoint": "e"})
    assert judge_job(job_summary(partial)).outcome is JobOutcome.SUCCEEDED
    assert judge_job(job_summary(sdk_job(state="JOB_STATE_PAUSED"))).outcome is JobOutcome.WAITING


def test_succeeded_dataset_fingerprints_needs_a_model_on_this_data() -> None:
    """The skip decision's "already tuned on": any config, but only a job that produced an endpoint."""

    class JobsByLabels:
        def __init__(self, *jobs: Any) -> None:
            self.jobs, self.asked = jobs, []

        def list_tuning_jobs_by_labels(self, labels: dict[str, str]) -> list[Any]:
            self.asked.append(labels)
            return list(self.jobs)

    model = {"model": "m", "endpoint": "e"}
    hook = JobsByLabels(sdk_job(state="JOB_STATE_FAILED"), sdk_job(state="JOB_STATE_SUCCEEDED", tuned_model=model))
    assert succeeded_dataset_fingerprints(hook, "FP-1", pipeline_id="Squad") == {"FP-1"}
    assert hook.asked == [
        {DATASET_LABEL_KEY: "fp-1", MANAGED_BY_LABEL_KEY: MANAGED_BY_LABEL_VALUE, PIPELINE_LABEL_KEY: "squad"}
    ]
    running_or_empty = JobsByLabels(sdk_job(state="JOB_STATE_RUNNING"), sdk_job(state="JOB_STATE_SUCCEEDED"))
    assert succeeded_dataset_fingerprints(running_or_empty, "fp-1", pipeline_id="p") == set()
    assert succeeded_dataset_fingerprints(JobsByLabels(), "fp-1", pipeline_id="p") == set()


# --------------------------------------------------------------------------- data and cost
def test_scan_counts_examples_and_estimates_tokens_like_the_export() -> None:
    lines = [tuning_line("a" * 8, "bb"), "", tuning_line("c" * 5, "d")]
    scan = scan_tuning_jsonl(lines, TRAIN)
    assert scan.example_count == 2
    assert scan.estimated_tokens == 2 + 1 + 2 + 1
    assert scan_tuning_jsonl(lines, TRAIN).sha256 == scan.sha256
    other = scan_tuning_jsonl([tuning_line("x", "y")], TRAIN)
    assert files_fingerprint(scan, None) != files_fingerprint(scan, other) != files_fingerprint(other, scan)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (['{"contents": '], "line 1 is not a Gemini tuning record"),
        ([tuning_line("a", "b"), '{"text": "x"}'], "line 2 is not a Gemini tuning record"),
        (["", "  "], "holds no examples"),
    ],
)
def test_scan_rejects_malformed_files(lines: list[str], expected: str) -> None:
    with pytest.raises(ValueError, match=re.escape(expected)):
        scan_tuning_jsonl(lines, TRAIN)


def test_prices_and_cost() -> None:
    assert price_per_million_tokens("gemini-2.5-flash") == 5.0
    assert price_per_million_tokens("publishers/google/models/gemini-2.5-flash-lite") == 1.5
    assert price_per_million_tokens("gemini-2.5-flash-001") == 5.0
    assert price_per_million_tokens("gemini-9") is None
    assert tuning_cost_usd(2_000_000, 3, 5.0) == 30.0
    assert tuning_cost_usd(None, 3, 5.0) is None
    assert tuning_cost_usd(1, 3, None) is None
