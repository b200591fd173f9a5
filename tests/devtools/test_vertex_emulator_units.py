"""Unit tests of the Vertex AI emulator's parts: stand-in readers, job timeline, filters, config, faults."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devtools.vertex_emulator import admin, jobs, readers
from devtools.vertex_emulator.__main__ import argument_parser, startup_config
from devtools.vertex_emulator.config import CONFIG_KEYS, JOB_OUTCOMES, EmulatorConfig
from devtools.vertex_emulator.datasets import DatasetProblem, parse_tuning_file, supervised_tuning_data_stats
from devtools.vertex_emulator.errors import ApiError
from devtools.vertex_emulator.faults import FaultInjector
from devtools.vertex_emulator.models import model_table, parse_model_table
from devtools.vertex_emulator.process import VertexEmulatorProcess
from devtools.vertex_emulator.server import Emulator
from devtools.vertex_emulator.store import EndpointRecord, Store, TunedModelRecord, TuningJobRecord

TABLE = model_table()
TODAY = date(2026, 12, 1)
TEMPLATE = "Answer with a span.\n\nContext:\n{context}\n\nQuestion:\n{question}"
CONTEXT = (
    "The bridge over the Amstel was opened in 1904. It was designed by the engineer Pieter Vos. "
    "Trams crossed it until 1956."
)


def prompt(question: str, context: str = CONTEXT) -> str:
    return TEMPLATE.format(context=context, question=question)


# --------------------------------------------------------------------------------------------- readers
def test_parse_prompt_uses_the_last_question_marker() -> None:
    text = TEMPLATE.format(context="Line one.\n\nQuestion:\nnot this one", question="Who?")
    parsed = readers.parse_prompt(text)
    assert parsed.question == "Who?"
    assert parsed.context == "Line one.\n\nQuestion:\nnot this one"


def test_parse_prompt_without_markers_treats_everything_as_context() -> None:
    assert readers.parse_prompt("just text") == readers.ParsedPrompt(context="just text", question="")


def test_base_answer_is_the_best_matching_whole_sentence() -> None:
    assert readers.base_answer(prompt("Which engineer designed it?")) == "It was designed by the engineer Pieter Vos."
    assert readers.base_answer(prompt("Until when did trams cross it?")) == "Trams crossed it until 1956."
    # no overlap at all: the first sentence
    assert readers.base_answer(prompt("Xyz?")) == "The bridge over the Amstel was opened in 1904."


def test_profile_learns_lengths_per_question_type_and_case() -> None:
    pairs = [(prompt("When was it opened?"), "1904")] * 3 + [
        (prompt("Who designed it?"), "the engineer pieter vos")
    ] * 3
    profile = readers.build_reader_profile(pairs)
    assert profile["example_count"] == 6
    assert profile["answer_words_by_question_type"] == {"when": 1, "who": 4}
    assert profile["numeric_share_by_question_type"] == {"when": 1.0, "who": 0.0}
    assert profile["lower_case_answers"] is True
    assert profile["median_answer_words"] == 3  # median of 1,1,1,4,4,4 is 2.5, rounded half up


def test_tuned_answer_is_a_short_span_next_to_the_question_words() -> None:
    profile = readers.build_reader_profile([(prompt("When was it opened?"), "1904")] * 3)
    assert readers.tuned_answer(prompt("When was the bridge over the Amstel opened?"), profile) == "1904"
    two_words = {"kind": readers.READER_PROFILE_KIND, "median_answer_words": 2, "lower_case_answers": True}
    assert readers.tuned_answer(prompt("Which engineer designed it?"), two_words) == "pieter vos"


def test_tuned_reader_without_profile_data_still_answers() -> None:
    profile = readers.build_reader_profile([])
    assert profile["median_answer_words"] == 1
    assert len(readers.tuned_answer(prompt("Who designed the bridge?"), profile).split()) == 1
    assert readers.tuned_answer(prompt("Who?", context=""), profile) == ""


@settings(max_examples=60, deadline=None)
@given(
    sentences=st.lists(st.text(alphabet="abcdefg XYZ019,", min_size=1, max_size=40), min_size=1, max_size=5),
    question=st.text(alphabet="abcdefg XYZ?", max_size=30),
    length=st.integers(min_value=1, max_value=8),
)
def test_readers_answer_from_the_context_only(sentences: list[str], question: str, length: int) -> None:
    context = ". ".join(sentences) + "."
    text = prompt(question, context)
    base = readers.base_answer(text)
    assert base in readers.split_sentences(context) or base == ""
    profile = {"kind": readers.READER_PROFILE_KIND, "median_answer_words": length}
    tuned = readers.tuned_answer(text, profile)
    assert tuned in context
    assert len(tuned.split()) <= length
    assert readers.tuned_answer(text, profile) == tuned  # deterministic


# --------------------------------------------------------------------------------------------- datasets
def line(*turns: tuple[str, str]) -> str:
    return json.dumps({"contents": [{"role": role, "parts": [{"text": text}]} for role, text in turns]})


def test_parse_tuning_file_reports_line_and_reason() -> None:
    good = line(("user", "q"), ("model", "a"))
    assert len(parse_tuning_file(f"{good}\n\n{good}\n", "gs://b/t.jsonl", "Training dataset")) == 2
    with pytest.raises(DatasetProblem, match=r"gs://b/t.jsonl line 3 .*'contents\[0\]\.parts'") as raised:
        parse_tuning_file(f"{good}\n{good}\n" + json.dumps({"contents": [{"role": "user"}]}), "gs://b/t.jsonl", "T")
    assert raised.value.code == 3
    with pytest.raises(DatasetProblem, match="first turn"):
        parse_tuning_file(line(("model", "a"), ("model", "b")), "x", "T")


def test_stats_count_every_text_part_of_the_dataset_once() -> None:
    examples = parse_tuning_file(line(("user", "12345"), ("model", "abc")), "x", "T")
    stats = supervised_tuning_data_stats(examples)
    assert stats["totalBillableTokenCount"] == str(math.ceil(5 / 4) + math.ceil(3 / 4))
    assert stats["totalTuningCharacterCount"] == "8"
    assert stats["tuningDatasetExampleCount"] == "1"


# --------------------------------------------------------------------------------------------- jobs
def job_record(**changes: object) -> TuningJobRecord:
    values: dict[str, object] = {
        "job_id": "1",
        "project": "p",
        "location": "l",
        "create_time": 1000.0,
        "request": {"baseModel": "gemini-2.5-flash", "labels": {"fingerprint": "abc", "config": "x"}},
        "outcome": "succeed",
        "pending_seconds": 1.0,
        "queued_seconds": 1.0,
        "running_seconds": 2.0,
        "cancelling_seconds": 0.5,
        "model_id": "2",
        "endpoint_id": "3",
    }
    values.update(changes)
    return TuningJobRecord(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "at", "state"),
    [
        ({}, 1000.5, jobs.PENDING),
        ({}, 1001.0, jobs.QUEUED),
        ({}, 1002.5, jobs.RUNNING),
        ({}, 1004.0, jobs.SUCCEEDED),
        ({"outcome": "fail"}, 1004.0, jobs.FAILED),
        ({"outcome": "cancel"}, 1004.2, jobs.CANCELLING),
        ({"outcome": "cancel"}, 1004.5, jobs.CANCELLED),
        ({"outcome": "never_finish"}, 99999.0, jobs.RUNNING),
        ({"data_error": {"code": 3, "message": "bad"}}, 1001.0, jobs.FAILED),
        ({"cancel_time": 1002.0}, 1002.2, jobs.CANCELLING),
        ({"cancel_time": 1002.0}, 1003.0, jobs.CANCELLED),
    ],
)
def test_job_state_follows_the_clock(changes: dict[str, object], at: float, state: str) -> None:
    assert jobs.current_state(job_record(**changes), at) == state


def test_job_json_times_and_tuned_model() -> None:
    body = jobs.job_json(job_record(), 1010.0)
    assert body["state"] == jobs.SUCCEEDED
    assert body["startTime"] == jobs.timestamp(1002.0) and body["endTime"] == jobs.timestamp(1004.0)
    assert body["tunedModel"] == {
        "model": "projects/p/locations/l/models/2@1",
        "endpoint": "projects/p/locations/l/endpoints/3",
    }
    assert "tunedModel" not in jobs.job_json(job_record(), 1003.0)


@pytest.mark.parametrize(("outcome", "serves"), [("succeed", True), ("never_finish", False), ("fail", False)])
def test_tuned_endpoint_serves_only_after_its_job_succeeded(outcome: str, serves: bool) -> None:
    emulator = Emulator(EmulatorConfig(today="2026-09-01"), Store())
    job = job_record(outcome=outcome, create_time=0.0)  # long ago: the job has reached its planned end
    emulator.store.jobs[job.job_id] = job
    emulator.store.models["2"] = TunedModelRecord("2", "p", "l", "1", "gemini-2.5-flash", None, "gs://b/t", {})
    emulator.store.endpoints["3"] = EndpointRecord("3", "p", "l", "2", "1")
    params = {"project": "p", "location": "l", "endpoint_id": "3"}
    if serves:
        answer_with, facts = emulator._answerer(params)
        assert facts.model_id == "gemini-2.5-flash" and answer_with(prompt("Who?")) != ""
    else:
        with pytest.raises(ApiError) as raised:
            emulator._answerer(params)
        assert raised.value.http_code == 404


# --------------------------------------------------------------------------------------------- hold and advance
def history(job: TuningJobRecord, now: float) -> list[str]:
    return [transition.state for transition in jobs.reached(job, now)]


def test_a_held_job_waits_for_the_test_and_advances_one_state_at_a_time() -> None:
    job = job_record(hold_state=jobs.PENDING)
    assert jobs.current_state(job, 99999.0) == jobs.PENDING  # long after its planned end
    jobs.advance(job, None, 1100.0)
    assert history(job, 99999.0) == [jobs.PENDING, jobs.QUEUED]  # and it stays there
    jobs.advance(job, None, 1101.0)
    jobs.advance(job, None, 1102.0)
    assert history(job, 1102.0) == [jobs.PENDING, jobs.QUEUED, jobs.RUNNING, jobs.SUCCEEDED]
    body = jobs.job_json(job, 1200.0)
    assert body["startTime"] == jobs.timestamp(1101.0) and body["endTime"] == jobs.timestamp(1102.0)
    assert body["tunedModel"]["endpoint"] == "projects/p/locations/l/endpoints/3"


def test_hold_stops_the_clock_at_that_state() -> None:
    job = job_record(hold_state=jobs.RUNNING)
    assert history(job, 1001.5) == [jobs.PENDING, jobs.QUEUED]  # the clock runs until the hold state
    assert history(job, 99999.0) == [jobs.PENDING, jobs.QUEUED, jobs.RUNNING]
    held = job_record()
    jobs.hold(held, None, 1002.5)  # where it is now: RUNNING
    assert jobs.current_state(held, 99999.0) == jobs.RUNNING


def test_advance_to_a_final_state_passes_through_the_states_before_it() -> None:
    succeeded = job_record(hold_state=jobs.PENDING)
    jobs.advance(succeeded, jobs.SUCCEEDED, 1100.0)
    assert history(succeeded, 1100.0) == [jobs.PENDING, jobs.QUEUED, jobs.RUNNING, jobs.SUCCEEDED]
    cancelled = job_record(hold_state=jobs.PENDING)
    jobs.advance(cancelled, jobs.CANCELLED, 1100.0)
    assert history(cancelled, 1100.0) == [jobs.PENDING, jobs.CANCELLING, jobs.CANCELLED]
    assert jobs.job_json(cancelled, 1100.0)["error"]["code"] == 1


@pytest.mark.parametrize(
    ("changes", "message_part"),
    [
        ({"outcome": "fail"}, "job_outcome=fail"),  # the failure it was created to have
        ({}, "emulator admin: advanced to JOB_STATE_FAILED"),
        ({"data_error": {"code": 3, "message": "train.jsonl line 2 is not valid JSON"}}, "line 2"),
    ],
)
def test_advance_to_failed_carries_the_planned_error(changes: dict[str, object], message_part: str) -> None:
    job = job_record(hold_state=jobs.PENDING, **changes)
    jobs.advance(job, jobs.FAILED, 1100.0)
    body = jobs.job_json(job, 1100.0)
    assert body["state"] == jobs.FAILED and message_part in body["error"]["message"]


def test_a_held_job_with_bad_data_stays_pending_and_can_only_fail() -> None:
    job = job_record(hold_state=jobs.RUNNING, data_error={"code": 3, "message": "bad line"}, model_id=None)
    assert jobs.current_state(job, 99999.0) == jobs.PENDING  # never ends by the clock while held
    with pytest.raises(ApiError, match="training data failed the check"):
        jobs.advance(job, jobs.SUCCEEDED, 1100.0)
    jobs.advance(job, None, 1100.0)
    assert jobs.job_json(job, 1100.0)["error"] == {"code": 3, "message": "bad line"}


@pytest.mark.parametrize(
    ("action", "changes", "state", "message"),
    [
        ("advance", {}, jobs.PENDING, "only moves forward"),  # at 1002.5 the job is RUNNING
        ("advance", {"outcome": "fail"}, jobs.SUCCEEDED, None),  # allowed: a test may override the outcome
        ("advance", {"outcome": "never_finish"}, None, "no next state"),
        ("advance", {"create_time": 0.0}, None, "already ended"),
        ("advance", {}, "JOB_STATE_EXPLODED", "use one of"),
        ("hold", {}, jobs.SUCCEEDED, "a hold keeps a job in one of"),
        ("hold", {}, jobs.QUEUED, "already JOB_STATE_RUNNING"),
        ("hold", {"create_time": 0.0}, jobs.CANCELLING, "already ended"),
    ],
)
def test_admin_moves_vertex_could_not_make_are_refused(
    action: str, changes: dict[str, object], state: str | None, message: str | None
) -> None:
    job = job_record(**changes)
    control = jobs.advance if action == "advance" else jobs.hold
    if message is None:
        control(job, state, 1002.5)
        assert jobs.current_state(job, 1002.5) == state
        return
    with pytest.raises(ApiError, match=message) as raised:
        control(job, state, 1002.5)
    assert raised.value.http_code == 400


def test_a_client_cancel_is_never_held_unless_held_in_cancelling() -> None:
    held = job_record(hold_state=jobs.PENDING, cancel_time=1000.5)
    assert history(held, 1001.0) == [jobs.PENDING, jobs.CANCELLING, jobs.CANCELLED]
    advanced = job_record(hold_state=jobs.PENDING)
    jobs.advance(advanced, jobs.RUNNING, 1100.0)
    advanced.cancel_time = 1101.0  # what the cancel endpoint records
    assert jobs.current_state(advanced, 1101.0) == jobs.CANCELLING
    assert jobs.current_state(advanced, 1102.0) == jobs.CANCELLED
    kept = job_record(hold_state=jobs.PENDING)
    kept.cancel_time = 1000.5
    jobs.hold(kept, jobs.CANCELLING, 1000.6)
    assert jobs.current_state(kept, 99999.0) == jobs.CANCELLING
    jobs.advance(kept, None, 1100.0)
    assert history(kept, 1100.0) == [jobs.PENDING, jobs.CANCELLING, jobs.CANCELLED]


@pytest.mark.parametrize(
    ("given", "expected"),
    [("123", "123"), ("projects/p/locations/l/tuningJobs/123", "123"), ("tuningJobs/7/", "7")],
)
def test_admin_client_takes_a_job_id_or_name(given: str, expected: str) -> None:
    assert admin.job_id(given) == expected
    with pytest.raises(ValueError, match="neither a tuning job id"):
        admin.job_id("projects/p/locations/l/endpoints/3")


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ('labels.fingerprint="abc" AND labels.config="x"', [("fingerprint", "abc"), ("config", "x")]),
        ("labels.fingerprint=abc", [("fingerprint", "abc")]),
        ("labels.config:*", [("config", None)]),
        ("", []),
    ],
)
def test_label_filter(text: str, terms: list[tuple[str, str | None]]) -> None:
    assert jobs.parse_label_filter(text) == terms
    assert jobs.matches_filter(job_record(), terms)


@pytest.mark.parametrize("text", ['state="JOB_STATE_SUCCEEDED"', "labels.a=b OR labels.c=d", "labels.a:b"])
def test_unsupported_filters_are_rejected(text: str) -> None:
    with pytest.raises(ApiError) as raised:
        jobs.parse_label_filter(text)
    assert raised.value.http_code == 400


@pytest.mark.parametrize(
    "labels", [{"Fingerprint": "a"}, {"fingerprint": "A"}, {"fingerprint": "x" * 64}, {"1abc": "a"}, {"k": 1}]
)
def test_labels_follow_gcp_rules(labels: dict[str, object]) -> None:
    body = {"baseModel": "gemini-3.5-flash-lite", "supervisedTuningSpec": {"trainingDatasetUri": "gs://b/t.jsonl"}}
    jobs.validate_create_request({**body, "labels": {"fingerprint": "a" * 63, "config": "v-1_2"}}, TABLE, TODAY)
    with pytest.raises(ApiError, match="Label"):
        jobs.validate_create_request({**body, "labels": labels}, TABLE, TODAY)


# --------------------------------------------------------------------------------------------- store, config, faults
def test_store_round_trip_is_atomic(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    store = Store.open(state_file)
    store.jobs["1"] = job_record(cancel_time=1002.0)
    store.jobs["2"] = job_record(job_id="2", hold_state=jobs.PENDING)
    jobs.advance(store.jobs["2"], jobs.RUNNING, 1100.0)
    issued = int(store.new_id())
    store.save()
    assert [path.name for path in tmp_path.iterdir()] == ["state.json"]
    loaded = Store.open(state_file)
    assert loaded.jobs == store.jobs
    assert jobs.current_state(loaded.jobs["2"], 99999.0) == jobs.RUNNING  # still held after a restart
    assert int(loaded.new_id()) > issued  # ids never repeat after a restart
    state_file.write_text("{}")
    with pytest.raises(ValueError, match="Delete it to start empty"):
        Store.open(state_file)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"latency": 1}, "unknown config key"),
        ({"latency_seconds": -1}, ">= 0"),
        ({"error_rate_503": 1.5}, "between 0 and 1"),
        ({"requests_per_minute": 0}, "positive integer"),
        ({"job_outcome": "explode"}, "job_outcome"),
        ({"fault_methods": ["generate"]}, "unknown method key"),
        ({"hold_jobs_at": "JOB_STATE_SUCCEEDED"}, "hold_jobs_at must be one of"),
    ],
)
def test_config_rejects_bad_values(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EmulatorConfig().updated(changes)


def test_quota_window_slides_and_says_when_to_retry() -> None:
    config = EmulatorConfig(requests_per_minute=2, retry_after_on_429=True)
    faults = FaultInjector(config)
    assert faults.check("generateContent", config, 0.0) is None
    assert faults.check("generateContent", config, 10.0) is None
    rejected = faults.check("generateContent", config, 20.0)
    assert rejected is not None and rejected.http_code == 429 and rejected.headers["Retry-After"] == "40"
    plain = EmulatorConfig(requests_per_minute=1)  # as on Vertex: no Retry-After unless asked for
    plain_faults = FaultInjector(plain)
    assert plain_faults.check("generateContent", plain, 0.0) is None
    rejected = plain_faults.check("generateContent", plain, 1.0)
    assert rejected is not None and rejected.http_code == 429 and rejected.headers == {}
    assert faults.check("countTokens", config, 20.0) is None  # each method has its own window
    assert faults.check("generateContent", config, 60.5) is None  # the first call left the window


def test_faults_apply_only_to_their_methods() -> None:
    config = EmulatorConfig(error_rate_503=1.0, fault_methods=("countTokens",))
    faults = FaultInjector(config)
    assert faults.check("generateContent", config, 0.0) is None
    rejected = faults.check("countTokens", config, 0.0)
    assert rejected is not None and rejected.to_json()["error"]["status"] == "UNAVAILABLE"


@pytest.mark.parametrize("job_outcome", JOB_OUTCOMES)
def test_every_config_key_is_a_start_up_flag(job_outcome: str) -> None:
    values = {
        "latency_seconds": 0.25,
        "requests_per_minute": 7,
        "quota_window_seconds": 6.0,
        "error_rate_503": 0.5,
        "error_seed": 9,
        "job_outcome": job_outcome,
        "pending_seconds": 1.5,
        "queued_seconds": 2.5,
        "running_seconds": 3.5,
        "cancelling_seconds": 4.5,
        "fault_methods": ["countTokens", "generateContent"],
        "hold_jobs_at": jobs.RUNNING,
        "retry_after_on_429": True,
        "today": "2026-09-01",
        "project_number": "42",
        "model_thinking": False,
        "min_training_examples": 3,
        "best_checkpoint_epoch": 2,
        "slow_create_seconds": 5.5,
        "batch_running_seconds": 0.75,
        "batch_line_error_rate": 0.25,
    }
    assert set(values) == set(CONFIG_KEYS) - {"gcs_endpoint"}
    launcher = VertexEmulatorProcess(port=8090, gcs_endpoint="http://127.0.0.1:4443", **values)
    command = launcher.command()
    assert command[1:3] == ["-m", "devtools.vertex_emulator"]
    config = startup_config(argument_parser().parse_args(command[3:])).to_json()
    assert config == {**values, "gcs_endpoint": "http://127.0.0.1:4443"}


# --------------------------------------------------------------------------------------------- model table
def test_model_table_has_the_issue_10_models_with_their_facts() -> None:
    assert TABLE.get("publishers/google/models/gemini-3.5-flash-lite") is TABLE.get("gemini-3.5-flash-lite")
    flash_lite = TABLE.models["gemini-3.5-flash-lite"]
    assert flash_lite.tunable and flash_lite.retires is None and flash_lite.adapter_sizes == (1, 2, 4, 8, 16)
    assert flash_lite.thinking is not None and flash_lite.thinking.default_level == "MINIMAL"
    assert not flash_lite.thinking.can_disable
    assert TABLE.models["gemini-3.5-flash"].thinking.default_level == "MEDIUM"  # type: ignore[union-attr]
    assert TABLE.models["gemini-2.5-pro"].adapter_sizes == (1, 2, 4, 8)
    for retired in ("gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.5-pro"):
        facts = TABLE.models[retired]
        assert facts.retires == date(2026, 10, 20) and facts.blocked_from() == date(2026, 9, 20)
        assert not facts.new_access_blocked(date(2026, 9, 19)) and facts.new_access_blocked(date(2026, 9, 20))
        assert not facts.retired(date(2026, 10, 19)) and facts.retired(date(2026, 10, 20))
    assert TABLE.models["gemini-2.0-flash-001"].retires == date(2026, 6, 1)
    assert TABLE.tunable_now(TODAY) == ["gemini-3.1-flash-lite", "gemini-3.5-flash", "gemini-3.5-flash-lite"]
    assert TABLE.validation_examples_max == 5000 and TABLE.training_examples_min == 16
    assert TABLE.servable("gemini-2.5-flash", TODAY) is None and TABLE.servable("gemini-9.9-ultra", TODAY) is None


def test_every_fact_in_models_json_names_a_listed_source() -> None:
    from devtools.vertex_emulator.models import MODELS_FILE

    document = json.loads(MODELS_FILE.read_text())
    sources = document["sources"]
    for model_id, raw in document["models"].items():
        cited = [*raw["sources"], raw["limits_source"]]
        assert cited and all(source in sources for source in cited), model_id
    assert document["tuning_limits"]["training_examples_min_source"] in sources
    assert all("http" in text or "ASSUMPTION" in text for text in sources.values())
    assert parse_model_table(document) == TABLE


# --------------------------------------------------------------------------------------------- create validation
def create_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "baseModel": "gemini-3.5-flash-lite",
        "supervisedTuningSpec": {"trainingDatasetUri": "gs://b/train.jsonl", "hyperParameters": {}},
    }
    body.update(changes)
    return body


def violations(body: dict[str, Any], today: date = TODAY) -> list[dict[str, str]]:
    with pytest.raises(ApiError) as raised:
        jobs.validate_create_request(body, TABLE, today)
    error = raised.value.to_json()["error"]
    assert error["code"] == 400 and error["status"] == "INVALID_ARGUMENT"
    (detail,) = error["details"]
    assert detail["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    return list(detail["fieldViolations"])


def spec(**changes: Any) -> dict[str, Any]:
    return {"trainingDatasetUri": "gs://b/train.jsonl", **changes}


@pytest.mark.parametrize(
    ("body", "field", "description_part"),
    [
        (create_body(baseModel="gemini-9.9-ultra"), "tuning_job.base_model", "not supported for tuning"),
        (create_body(baseModel="gemini-2.5-flash"), "tuning_job.base_model", "retired on 2026-10-20"),
        (create_body(baseModel="gemini-2.0-flash-001"), "tuning_job.base_model", "retired on 2026-06-01"),
        (create_body(supervisedTuningSpec={}), "tuning_job.supervised_tuning_spec.training_dataset_uri", "required"),
        (
            create_body(supervisedTuningSpec=spec(trainingDatasetUri="/tmp/train.jsonl")),
            "tuning_job.supervised_tuning_spec.training_dataset_uri",
            "should be a GCS object of type JSONL",
        ),
        (
            create_body(supervisedTuningSpec=spec(trainingDatasetUri="gs://b/train.csv")),
            "tuning_job.supervised_tuning_spec.training_dataset_uri",
            "type JSONL",
        ),
        (
            create_body(supervisedTuningSpec=spec(validationDatasetUri="gs://b/v.json")),
            "tuning_job.supervised_tuning_spec.validation_dataset_uri",
            "type JSONL",
        ),
        (
            create_body(supervisedTuningSpec=spec(hyperParameters={"adapterSize": "ADAPTER_SIZE_THIRTY_TWO"})),
            "tuning_job.supervised_tuning_spec.hyper_parameters.adapter_size",
            "adapter size is not supported for this base model",
        ),
        (
            create_body(
                baseModel="gemini-3.5-flash",
                supervisedTuningSpec=spec(hyperParameters={"epochCount": "0"}),
            ),
            "tuning_job.supervised_tuning_spec.hyper_parameters.epoch_count",
            "between 1 and 100",
        ),
    ],
    ids=["unknown-model", "retired-2.5", "retired-2.0", "no-uri", "local-path", "csv", "validation-json", "32", "ep0"],
)
def test_create_request_violations_name_the_field(body: dict[str, Any], field: str, description_part: str) -> None:
    (violation,) = violations(body)
    assert violation["field"] == field and description_part in violation["description"]


def test_create_request_lists_every_violation_in_one_error() -> None:
    body = create_body(
        baseModel="gemini-9.9-ultra",
        supervisedTuningSpec=spec(trainingDatasetUri="gs://b/t.txt", hyperParameters={"learningRateMultiplier": 0}),
    )
    found = violations(body)
    assert [violation["field"] for violation in found] == [
        "tuning_job.base_model",
        "tuning_job.supervised_tuning_spec.training_dataset_uri",
        "tuning_job.supervised_tuning_spec.hyper_parameters.learning_rate_multiplier",
    ]
    with pytest.raises(ApiError) as raised:
        jobs.validate_create_request(body, TABLE, TODAY)
    assert raised.value.message.startswith("List of found errors:\t1.Field: tuning_job.base_model; Message: ")


def test_blocked_month_and_pinned_today() -> None:
    body = create_body(baseModel="gemini-2.5-flash")
    jobs.validate_create_request(body, TABLE, date(2026, 9, 19))
    (violation,) = violations(body, date(2026, 9, 20))
    assert "new tuning jobs are blocked since 2026-09-20" in violation["description"]
    assert "gemini-3.5-flash-lite" in violation["description"]  # says what to use instead


def test_adapter_sizes_are_per_model() -> None:
    def with_size(model: str, size: str) -> dict[str, Any]:
        return create_body(baseModel=model, supervisedTuningSpec=spec(hyperParameters={"adapterSize": size}))

    before_retirement = date(2026, 9, 1)
    jobs.validate_create_request(with_size("gemini-2.5-flash", "ADAPTER_SIZE_SIXTEEN"), TABLE, before_retirement)
    (violation,) = violations(with_size("gemini-2.5-pro", "ADAPTER_SIZE_SIXTEEN"), before_retirement)
    assert "[1, 2, 4, 8]" in violation["description"]
    jobs.validate_create_request(with_size("gemini-3.5-flash", "ADAPTER_SIZE_SIXTEEN"), TABLE, TODAY)


@pytest.mark.parametrize(
    ("body", "unknown", "at"),
    [
        (create_body(trainingDatasetUri="gs://b/t.jsonl"), "trainingDatasetUri", "tuning_job"),
        (create_body(supervisedTuningSpec=spec(epochCount=3)), "epochCount", "tuning_job.supervised_tuning_spec"),
        (
            create_body(supervisedTuningSpec=spec(hyperParameters={"epochs": 3})),
            "epochs",
            "tuning_job.supervised_tuning_spec.hyper_parameters",
        ),
    ],
)
def test_unknown_fields_are_refused_like_proto_json_parsing(body: dict[str, Any], unknown: str, at: str) -> None:
    (violation,) = violations(body)
    assert violation == {
        "field": at,
        "description": f"Invalid JSON payload received. Unknown name \"{unknown}\" at '{at}': Cannot find field.",
    }


def test_snake_case_field_names_are_accepted_as_proto_json_does() -> None:
    body = {
        "base_model": "gemini-3.5-flash-lite",
        "supervised_tuning_spec": {"training_dataset_uri": "gs://b/t.jsonl", "hyper_parameters": {"epoch_count": 2}},
    }
    create = jobs.validate_create_request(body, TABLE, TODAY)
    assert create.base_model == "gemini-3.5-flash-lite" and create.epochs == 2
    assert create.echoed["supervisedTuningSpec"]["trainingDatasetUri"] == "gs://b/t.jsonl"


# --------------------------------------------------------------------------------------------- job progress
def test_running_job_reports_detail_state_and_completed_epochs() -> None:
    # RUNNING from 1002 to 1012 (10 s): 1 s processing data, 8 s for 4 epochs (2 s each), 1 s post-processing.
    job = job_record(running_seconds=10.0, epochs=4)
    assert jobs.tuning_job_state(job, 1000.5) == "TUNING_JOB_STATE_WAITING_FOR_QUOTA"
    assert jobs.tuning_job_state(job, 1001.5) == "TUNING_JOB_STATE_WAITING_FOR_CAPACITY"
    assert jobs.tuning_job_state(job, 1002.5) == "TUNING_JOB_STATE_PROCESSING_DATASET"
    assert [jobs.completed_epochs(job, at) for at in (1002.5, 1003.5, 1005.1, 1007.2, 1011.5, 1012.0)] == [
        0,
        0,
        1,
        2,
        4,
        4,
    ]
    assert jobs.tuning_job_state(job, 1006.0) == "TUNING_JOB_STATE_TUNING"
    assert jobs.tuning_job_state(job, 1011.5) == "TUNING_JOB_STATE_POST_PROCESSING"
    assert jobs.tuning_job_state(job, 1012.0) is None  # ended
    body = jobs.job_json(job, 1007.5)
    assert body["tuningJobMetadata"] == {"completedEpochCount": "2"}
    assert body["tuningJobState"] == "TUNING_JOB_STATE_TUNING"
    v1 = jobs.job_json(job, 1007.5, api_version="v1")  # detail fields exist only in v1beta1
    assert "tuningJobMetadata" not in v1 and "tuningJobState" not in v1
    assert body["experiment"] == "projects/p/locations/l/metadataStores/default/contexts/tuning-experiment-1"


def test_names_use_the_project_number_and_checkpoints_are_listed() -> None:
    job = job_record(
        project_number="123456789012",
        epochs=2,
        steps_per_epoch=3,
        checkpoint_endpoints=[{"epoch": 1, "endpoint_id": "11"}, {"epoch": 2, "endpoint_id": "12"}],
    )
    assert job.in_project("p") and job.in_project("123456789012") and not job.in_project("other")
    body = jobs.job_json(job, 1010.0)
    prefix = "projects/123456789012/locations/l"
    assert body["name"] == f"{prefix}/tuningJobs/1"
    assert body["tunedModel"] == {
        "model": f"{prefix}/models/2@1",
        "endpoint": f"{prefix}/endpoints/3",
        "checkpoints": [
            {"checkpointId": "1", "epoch": "1", "step": "3", "endpoint": f"{prefix}/endpoints/11"},
            {"checkpointId": "2", "epoch": "2", "step": "6", "endpoint": f"{prefix}/endpoints/12"},
        ],
    }


def test_checkpoints_answer_worse_away_from_the_best_epoch() -> None:
    assert [readers.checkpoint_extra_words(epoch, 2) for epoch in (1, 2, 3, 4)] == [1, 0, 1, 2]
    profile = {"kind": readers.READER_PROFILE_KIND, "median_answer_words": 1}
    text = prompt("When was the bridge over the Amstel opened?")
    lengths = [len(readers.tuned_answer(text, profile, extra_words=extra).split()) for extra in (0, 1, 2)]
    assert lengths == [1, 2, 3]


# --------------------------------------------------------------------------------------------- thinking
def think(model: str, thinking_config: dict[str, Any] | None = None, model_thinking: bool = True) -> int:
    from devtools.vertex_emulator import thinking

    body: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": "q"}]}]}
    if thinking_config is not None:
        body["generationConfig"] = {"thinkingConfig": thinking_config}
    facts = TABLE.models[model]
    return thinking.thinking_tokens(body, facts, model_thinking)


def test_thinking_tokens_follow_the_model_and_the_request() -> None:
    assert think("gemini-3.5-flash-lite") == 16  # MINIMAL by default
    assert think("gemini-3.5-flash") == 512  # MEDIUM by default
    assert think("gemini-3.5-flash", {"thinkingLevel": "MINIMAL"}) == 16
    assert think("gemini-3.5-flash", {"thinkingLevel": "HIGH"}) == 2048
    assert think("gemini-3.5-flash", {"thinkingBudget": 100}) == 100
    assert think("gemini-2.5-flash") == 1024  # dynamic
    assert think("gemini-2.5-flash", {"thinkingBudget": 0}) == 0  # 2.5 Flash can turn it off
    assert think("gemini-2.5-flash-lite") == 0  # does not think by default
    assert think("gemini-2.0-flash-001") == 0
    assert think("gemini-3.5-flash", model_thinking=False) == 0


@pytest.mark.parametrize(
    ("model", "thinking_config", "message"),
    [
        ("gemini-3.5-flash-lite", {"thinkingBudget": 0}, "only works in thinking mode"),
        ("gemini-2.5-pro", {"thinkingBudget": 0}, "only works in thinking mode"),
        ("gemini-2.5-pro", {"thinkingBudget": 64}, "out of range"),
        ("gemini-2.5-flash", {"thinkingLevel": "LOW"}, "thinking_level is not supported"),
        ("gemini-3.5-flash", {"thinkingLevel": "MINIMAL", "thinkingBudget": 10}, "not both"),
        ("gemini-3.5-flash", {"thinkingLevel": "EXTREME"}, "not supported"),
        ("gemini-2.0-flash-001", {"thinkingBudget": 100}, "not supported"),
    ],
)
def test_thinking_configs_vertex_refuses(model: str, thinking_config: dict[str, Any], message: str) -> None:
    with pytest.raises(ApiError, match=message) as raised:
        think(model, thinking_config, model_thinking=False)  # refused even when the spending is switched off
    assert raised.value.http_code == 400 and raised.value.status == "INVALID_ARGUMENT"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"today": "1 Dec 2026"}, "ISO date"),
        ({"project_number": "my-project"}, "digits"),
        ({"model_thinking": "maybe"}, "true or false"),
        ({"min_training_examples": 0}, "positive integer"),
    ],
)
def test_fidelity_config_rejects_bad_values(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EmulatorConfig().updated(changes)


def test_null_project_number_survives_the_command_line() -> None:
    launcher = VertexEmulatorProcess(port=8090, project_number=None, today=None)
    config = startup_config(argument_parser().parse_args(launcher.command()[3:]))
    assert config.project_number is None and config.today is None
    assert EmulatorConfig(today="2026-09-01").today_date() == date(2026, 9, 1)


def test_a_shortened_quota_window_slides_just_as_fast() -> None:
    config = EmulatorConfig(requests_per_minute=2, quota_window_seconds=1.0)
    faults = FaultInjector(config)
    assert faults.check("generateContent", config, 0.0) is None
    assert faults.check("generateContent", config, 0.5) is None
    rejected = faults.check("generateContent", config, 0.9)
    assert rejected is not None and "2 requests per 1 s" in rejected.message
    assert faults.check("generateContent", config, 1.01) is None  # the first call left the 1 s window
    with pytest.raises(ValueError, match="quota_window_seconds must be > 0"):
        config.updated({"quota_window_seconds": 0})
