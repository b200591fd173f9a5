"""Contract tests of the Vertex AI emulator, driven through the real google-genai SDK.

Only the SDK and the emulator's admin API (faults, counts) are used: if these pass, the pipeline's
google-genai calls see the behaviour described in devtools/vertex_emulator/README.md.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:The SDK's tuning implementation is experimental"),
]

PROJECT, LOCATION = "local-project", "us-central1"
PROJECT_NUMBER = "123456789012"  # the emulator's default project number, shown in every resource name
BASE_MODEL = "gemini-3.5-flash-lite"  # tunable on 2026-12-01; thinks at MINIMAL (16 emulator tokens)
MINIMAL_THOUGHTS = 16
FAST_JOBS = {"pending_seconds": 0.05, "queued_seconds": 0.05, "running_seconds": 0.15, "cancelling_seconds": 0.2}
# The emulator's own strict defaults, switched back on over the session fixture's library-compatibility pins.
STRICT = {"today": None, "model_thinking": True, "min_training_examples": None, "project_number": PROJECT_NUMBER}
# Each passage is repeated so a training file has 16 lines, the emulator's minimum.
REPEATS = 4
TEMPLATE = (
    "Answer the question with the shortest span copied from the context. Reply with the answer only.\n\n"
    "Context:\n{context}\n\nQuestion:\n{question}"
)
# Made-up passages: each (context, question, answer) becomes one training line.
PASSAGES = [
    (
        "The lighthouse at Kestrel Point was built in 1872 by the harbour board. Its lamp burned whale oil "
        "until the keepers switched to kerosene in 1890. Today the tower is a small museum.",
        "In what year was the lighthouse at Kestrel Point built?",
        "1872",
    ),
    (
        "Marta Ilves founded the Tallow Street bakery after leaving the navy. The bakery became famous for "
        "rye bread baked in a stone oven that her grandfather had built.",
        "Who founded the Tallow Street bakery?",
        "marta ilves",
    ),
    (
        "The river Oskel rises in the northern hills and flows south for ninety kilometres. It reaches the "
        "sea at the fishing town of Brannoch, where a ferry crosses it.",
        "Where does the river Oskel reach the sea?",
        "brannoch",
    ),
    (
        "The council planted four hundred oak trees along the canal in spring. Volunteers watered them "
        "through the dry summer that followed.",
        "How many oak trees did the council plant along the canal?",
        "four hundred",
    ),
]
TEST_CONTEXT = (
    "The old observatory stands on a ridge above the village of Lorn. Astronomers there discovered the "
    "comet Halvard in 1931 using a refracting telescope made in Hamburg. The building closed in 1968."
)
TEST_QUESTION = "In what year did astronomers discover the comet Halvard?"
TEST_PROMPT = TEMPLATE.format(context=TEST_CONTEXT, question=TEST_QUESTION)


# --------------------------------------------------------------------------------------------- helpers
def training_line(context: str, question: str, answer: str) -> str:
    prompt = TEMPLATE.format(context=context, question=question)
    return json.dumps(
        {"contents": [{"role": "user", "parts": [{"text": prompt}]}, {"role": "model", "parts": [{"text": answer}]}]}
    )


def training_jsonl(answers: list[str] | None = None) -> str:
    rows = [
        (context, question, answers[i] if answers else answer) for i, (context, question, answer) in enumerate(PASSAGES)
    ]
    return "".join(training_line(*row) + "\n" for row in rows * REPEATS)


def billable_tokens(jsonl: str) -> int:
    return sum(
        math.ceil(len(part["text"]) / 4)
        for line in jsonl.splitlines()
        for content in json.loads(line)["contents"]
        for part in content["parts"]
    )


def upload(uri: str, text: str) -> str:
    from google.cloud import storage

    bucket, _, name = uri.removeprefix("gs://").partition("/")
    storage.Client(project=PROJECT).bucket(bucket).blob(name).upload_from_string(text)
    return uri


def make_client(base_url: str, api_version: str | None = None) -> Any:
    import google.oauth2.credentials
    from google import genai
    from google.genai import types

    return genai.Client(
        vertexai=True,
        project=PROJECT,
        location=LOCATION,
        credentials=google.oauth2.credentials.Credentials(token="local-token"),
        http_options=types.HttpOptions(
            base_url=base_url, api_version=api_version, retry_options=types.HttpRetryOptions(attempts=1)
        ),
    )


def assert_google_error(error: Any, code: int, status: str) -> None:
    """The SDK error carries Google's JSON error body: {code, message, status} and, for bad fields, details."""
    assert error.code == code and error.status == status
    assert error.details["error"]["code"] == code and error.details["error"]["status"] == status
    assert set(error.details["error"]) <= {"code", "message", "status", "details"} and error.details["error"]["message"]


def field_violations(error: Any) -> list[dict[str, str]]:
    """The google.rpc.BadRequest field violations of a 400 (Vertex's shape for a bad tuning request)."""
    assert_google_error(error, 400, "INVALID_ARGUMENT")
    (detail,) = error.details["error"]["details"]
    assert detail["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    return list(detail["fieldViolations"])


def tune(client: Any, training_uri: str, **config: Any) -> Any:
    from google.genai import types

    return client.tunings.tune(
        base_model=BASE_MODEL,
        training_dataset=types.TuningDataset(gcs_uri=training_uri),
        config=types.CreateTuningJobConfig(**config),
    )


def wait_until_ended(client: Any, name: str, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        job = client.tunings.get(name=name)
        if job.has_ended or time.monotonic() > deadline:
            return job
        time.sleep(0.03)


def states_seen(client: Any, name: str, timeout: float = 5.0) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.tunings.get(name=name)
        if not seen or seen[-1] != job.state.value:
            seen.append(job.state.value)
        if job.has_ended:
            break
        time.sleep(0.01)
    return seen


# --------------------------------------------------------------------------------------------- fixtures
@pytest.fixture
def _client(genai_client: Any, vertex_emulator: Any) -> Any:
    """The lead's freshly reset client, with short job phases and the emulator's strict defaults."""
    vertex_emulator.configure(**FAST_JOBS, **STRICT)
    return genai_client


@pytest.fixture
def _training_uri(gcs_bucket_uri: str) -> str:
    return upload(f"{gcs_bucket_uri}/train.jsonl", training_jsonl())


@pytest.fixture
def _tuned_job(_client: Any, vertex_emulator: Any, _training_uri: str) -> Any:
    """A succeeded job, ended by the admin control rather than by waiting for the clock."""
    vertex_emulator.configure(hold_jobs_at="JOB_STATE_PENDING")
    name = tune(_client, _training_uri, epoch_count=2).name
    vertex_emulator.advance_job(name, "JOB_STATE_SUCCEEDED")
    job = _client.tunings.get(name=name)
    assert job.state.value == "JOB_STATE_SUCCEEDED"
    return job


@pytest.fixture
def _own_emulator(tmp_path: Path, gcs_emulator: Any) -> Iterator[Any]:
    from devtools.vertex_emulator.process import VertexEmulatorProcess

    emulator = VertexEmulatorProcess(
        gcs_endpoint=gcs_emulator.endpoint,
        state_file=tmp_path / "state.json",
        job_outcome="fail",
        latency_seconds=0.01,
        **FAST_JOBS,
    )
    yield emulator
    emulator.stop()


# --------------------------------------------------------------------------------------------- tuning jobs
def test_job_goes_through_every_state_and_reports_what_it_was_given(
    _client: Any, vertex_emulator: Any, gcs_bucket_uri: str
) -> None:
    from google.genai import types

    # Phases long enough that polling sees each one even on a loaded 2-core machine.
    vertex_emulator.configure(pending_seconds=0.5, queued_seconds=0.8, running_seconds=0.5)
    training = training_jsonl()
    training_uri = upload(f"{gcs_bucket_uri}/train.jsonl", training)
    validation_uri = upload(f"{gcs_bucket_uri}/validation.jsonl", training_line(*PASSAGES[0]) + "\n")
    created = tune(
        _client,
        training_uri,
        validation_dataset=types.TuningValidationDataset(gcs_uri=validation_uri),
        epoch_count=3,
        adapter_size="ADAPTER_SIZE_FOUR",
        learning_rate_multiplier=1.0,
        tuned_model_display_name="squad-reader",
        description="contract test",
        labels={"fingerprint": "abc123", "config": "x"},
    )
    assert created.state.value == "JOB_STATE_PENDING"
    assert created.name.startswith(f"projects/{PROJECT_NUMBER}/locations/{LOCATION}/tuningJobs/")

    assert states_seen(_client, created.name) == [
        "JOB_STATE_PENDING",
        "JOB_STATE_QUEUED",
        "JOB_STATE_RUNNING",
        "JOB_STATE_SUCCEEDED",
    ]
    job = _client.tunings.get(name=created.name)
    assert job.base_model == BASE_MODEL
    assert job.tuned_model_display_name == "squad-reader"
    assert job.description == "contract test"
    assert job.labels == {"fingerprint": "abc123", "config": "x"}
    spec = job.supervised_tuning_spec
    assert spec.training_dataset_uri == training_uri and spec.validation_dataset_uri == validation_uri
    assert spec.hyper_parameters.epoch_count == 3 and spec.hyper_parameters.adapter_size.value == "ADAPTER_SIZE_FOUR"
    assert job.create_time <= job.start_time <= job.end_time == job.update_time
    stats = job.tuning_data_stats.supervised_tuning_data_stats
    assert stats.tuning_dataset_example_count == len(PASSAGES) * REPEATS
    assert stats.total_billable_token_count == billable_tokens(training)  # the dataset once; epochs bill on top
    assert stats.total_tuning_character_count > 0
    prefix = f"projects/{PROJECT_NUMBER}/locations/{LOCATION}"
    assert job.tuned_model.model.startswith(f"{prefix}/models/") and job.tuned_model.model.endswith("@1")
    assert job.tuned_model.endpoint.startswith(f"{prefix}/endpoints/")
    assert job.error is None


def test_each_job_gets_its_own_model_and_endpoint(_client: Any, _training_uri: str) -> None:
    first = wait_until_ended(_client, tune(_client, _training_uri).name)
    second = wait_until_ended(_client, tune(_client, _training_uri).name)
    assert first.name != second.name
    assert first.tuned_model.model != second.tuned_model.model
    assert first.tuned_model.endpoint != second.tuned_model.endpoint
    # Same training file, same stand-in reader: the two endpoints answer alike.
    answers = {
        _client.models.generate_content(model=job.tuned_model.endpoint, contents=TEST_PROMPT).text
        for job in (first, second)
    }
    assert len(answers) == 1


def test_list_filters_by_labels_and_pages(_client: Any, _training_uri: str) -> None:
    names = {
        labels: tune(_client, _training_uri, labels=dict(zip(("fingerprint", "config"), labels, strict=True))).name
        for labels in (("aaa", "x"), ("aaa", "y"), ("bbb", "x"))
    }
    assert [
        job.name for job in _client.tunings.list(config={"filter": 'labels.fingerprint="aaa" AND labels.config="x"'})
    ] == [names["aaa", "x"]]
    unquoted = _client.tunings.list(config={"filter": "labels.fingerprint=aaa"})
    assert {job.name for job in unquoted} == {names["aaa", "x"], names["aaa", "y"]}
    assert list(_client.tunings.list(config={"filter": 'labels.fingerprint="zzz"'})) == []

    pager = _client.tunings.list(config={"page_size": 1})
    assert len(pager.page) == 1
    newest_first = [job.name for job in pager]  # the pager follows nextPageToken
    assert newest_first == [names["bbb", "x"], names["aaa", "y"], names["aaa", "x"]]


def test_cancel_shows_cancelling_then_cancelled(_client: Any, vertex_emulator: Any, _training_uri: str) -> None:
    from google.genai import errors

    # CANCELLING lasts long enough to be read right after the cancel call, even on a loaded machine.
    vertex_emulator.configure(job_outcome="never_finish", cancelling_seconds=1.0)
    job = tune(_client, _training_uri)
    time.sleep(FAST_JOBS["pending_seconds"] + FAST_JOBS["queued_seconds"])
    assert _client.tunings.get(name=job.name).state.value == "JOB_STATE_RUNNING"
    _client.tunings.cancel(name=job.name)
    assert _client.tunings.get(name=job.name).state.value == "JOB_STATE_CANCELLING"
    _client.tunings.cancel(name=job.name)  # cancelling again while CANCELLING is accepted
    ended = wait_until_ended(_client, job.name)
    assert ended.state.value == "JOB_STATE_CANCELLED"
    assert ended.tuned_model is None and ended.end_time is not None and ended.error.code == 1

    with pytest.raises(errors.ClientError) as raised:
        _client.tunings.cancel(name=job.name)
    assert_google_error(raised.value, 400, "FAILED_PRECONDITION")


@pytest.mark.parametrize(
    ("outcome", "end_state", "message_part"),
    [
        ("fail", "JOB_STATE_FAILED", "job_outcome=fail"),
        ("cancel", "JOB_STATE_CANCELLED", "cancelled"),
    ],
)
def test_injected_job_outcomes(
    _client: Any, vertex_emulator: Any, _training_uri: str, outcome: str, end_state: str, message_part: str
) -> None:
    # CANCELLING is kept long enough for polling to see it on a loaded machine.
    vertex_emulator.configure(job_outcome=outcome, cancelling_seconds=0.6)
    name = tune(_client, _training_uri).name
    seen = states_seen(_client, name)
    assert seen[-1] == end_state
    job = _client.tunings.get(name=name)
    assert job.start_time is not None  # it ran before it ended: startTime is set on entering RUNNING
    assert message_part in job.error.message
    assert job.tuned_model is None
    if outcome == "cancel":
        assert "JOB_STATE_CANCELLING" in seen


def test_never_finish_stays_running(_client: Any, vertex_emulator: Any, _training_uri: str) -> None:
    vertex_emulator.configure(job_outcome="never_finish")
    name = tune(_client, _training_uri).name
    time.sleep(sum(FAST_JOBS.values()) + 0.2)
    job = _client.tunings.get(name=name)
    assert job.state.value == "JOB_STATE_RUNNING" and job.end_time is None
    vertex_emulator.configure(job_outcome="succeed")  # applies to new jobs only
    assert _client.tunings.get(name=name).state.value == "JOB_STATE_RUNNING"


def test_held_jobs_move_only_when_the_test_advances_them(
    _client: Any, vertex_emulator: Any, _training_uri: str
) -> None:
    vertex_emulator.configure(hold_jobs_at="JOB_STATE_PENDING", job_outcome="fail")
    name = tune(_client, _training_uri).name
    time.sleep(sum(FAST_JOBS.values()) + 0.2)  # well past its planned end
    assert _client.tunings.get(name=name).state.value == "JOB_STATE_PENDING"
    assert vertex_emulator.advance_job(name)["state"] == "JOB_STATE_QUEUED"
    ended = vertex_emulator.advance_job(name.rpartition("/")[2], "JOB_STATE_SUCCEEDED")  # an id works too
    job = _client.tunings.get(name=name)
    assert job.state.value == ended["state"] == "JOB_STATE_SUCCEEDED"  # the test overrode job_outcome=fail
    assert job.start_time is not None and job.end_time is not None and job.error is None
    assert _client.models.generate_content(model=job.tuned_model.endpoint, contents=TEST_PROMPT).text
    with pytest.raises(ValueError, match=r"HTTP 400: Cannot advance .* already ended in state JOB_STATE_SUCCEEDED"):
        vertex_emulator.advance_job(name)
    counts = vertex_emulator.request_counts()
    assert counts["tuningJobs.get"] == 2 and "unknown" not in counts  # admin calls are not API calls


def test_hold_keeps_a_job_where_it_is_and_a_cancel_still_ends_it(
    _client: Any, vertex_emulator: Any, _training_uri: str
) -> None:
    vertex_emulator.configure(job_outcome="never_finish")  # nothing here races the clock
    name = tune(_client, _training_uri).name
    assert vertex_emulator.hold_job(name, "JOB_STATE_RUNNING")["name"] == name
    with pytest.raises(ValueError, match=r"HTTP 400: Cannot hold .* in 'JOB_STATE_SUCCEEDED'"):
        vertex_emulator.hold_job(name, "JOB_STATE_SUCCEEDED")
    with pytest.raises(ValueError, match="HTTP 404: The emulator has no tuning job '1'"):
        vertex_emulator.advance_job("1")
    with pytest.raises(ValueError, match=r"HTTP 400: .* takes"):
        vertex_emulator.admin.call("POST", f"/_emulator/tuningJobs/{name.rpartition('/')[2]}:hold", {"to": "x"})
    _client.tunings.cancel(name=name)  # a hold never keeps a job from being cancelled
    assert wait_until_ended(_client, name).state.value == "JOB_STATE_CANCELLED"


@pytest.mark.parametrize(
    ("content", "message_parts"),
    [
        (None, ["does not exist"]),
        ("", ["no examples"]),
        (training_line(*PASSAGES[0]) + "\n{not json\n", ["line 2", "not valid JSON"]),
        (
            json.dumps(
                {
                    "contents": [
                        {"role": "user", "parts": [{"text": "q"}]},
                        {"role": "assistant", "parts": [{"text": "a"}]},
                    ]
                }
            ),
            ["line 1", "role", "'assistant'"],
        ),
        (json.dumps({"messages": []}), ["line 1", "'contents'"]),
        (json.dumps({"contents": [{"role": "user", "parts": [{"text": "only a question"}]}]}), ["line 1", "last turn"]),
    ],
    ids=["missing-file", "empty-file", "bad-json", "bad-role", "no-contents", "no-model-turn"],
)
def test_invalid_training_file_fails_the_job(
    _client: Any, gcs_bucket_uri: str, content: str | None, message_parts: list[str]
) -> None:
    uri = f"{gcs_bucket_uri}/bad-{uuid.uuid4().hex[:6]}.jsonl"
    if content is not None:
        upload(uri, content)
    job = wait_until_ended(_client, tune(_client, uri).name)
    assert job.state.value == "JOB_STATE_FAILED"
    assert job.error.code in (3, 5)
    for part in [uri, *message_parts]:
        assert part in job.error.message


@pytest.mark.parametrize(
    ("content", "message_parts"),
    [
        (None, ["does not exist"]),
        (training_line(*PASSAGES[0]) + "\n" + json.dumps({"contents": []}) + "\n", ["Validation dataset", "line 2"]),
    ],
    ids=["missing-file", "bad-line"],
)
def test_invalid_validation_file_fails_the_job(
    _client: Any, _training_uri: str, gcs_bucket_uri: str, content: str | None, message_parts: list[str]
) -> None:
    from google.genai import types

    uri = f"{gcs_bucket_uri}/validation-{uuid.uuid4().hex[:6]}.jsonl"
    if content is not None:
        upload(uri, content)
    name = tune(_client, _training_uri, validation_dataset=types.TuningValidationDataset(gcs_uri=uri)).name
    job = wait_until_ended(_client, name)
    assert job.state.value == "JOB_STATE_FAILED" and job.error.code in (3, 5)
    for part in [uri, *message_parts]:
        assert part in job.error.message


def test_tuned_reader_ignores_the_validation_file(_client: Any, _training_uri: str, gcs_bucket_uri: str) -> None:
    from google.genai import types

    long_answers = training_jsonl(["a b c d e f g"] * len(PASSAGES))
    validation = types.TuningValidationDataset(gcs_uri=upload(f"{gcs_bucket_uri}/validation.jsonl", long_answers))
    plain = wait_until_ended(_client, tune(_client, _training_uri).name)
    validated = wait_until_ended(_client, tune(_client, _training_uri, validation_dataset=validation).name)
    answers = [
        _client.models.generate_content(model=job.tuned_model.endpoint, contents=TEST_PROMPT).text
        for job in (plain, validated)
    ]
    assert answers[0] == answers[1]


def test_local_training_file_path_is_refused_at_create(_client: Any, tmp_path: Path) -> None:
    from google.genai import errors

    path = tmp_path / "train.jsonl"
    path.write_text(training_jsonl())
    with pytest.raises(errors.ClientError) as raised:
        tune(_client, str(path))
    (violation,) = field_violations(raised.value)
    assert violation["field"] == "tuning_job.supervised_tuning_spec.training_dataset_uri"
    assert "should be a GCS object of type JSONL" in violation["description"]


@pytest.mark.parametrize(
    ("base_model", "training_uri", "extra_hyper_parameters", "message_part"),
    [
        (BASE_MODEL, None, {}, "trainingDatasetUri"),
        ("not-a-gemini-model", "gs://b/t.jsonl", {}, "not supported"),
        (BASE_MODEL, "gs://b/t.jsonl", {"epochCount": 0}, "epochCount"),
        (BASE_MODEL, "gs://b/t.jsonl", {"epochCount": 101}, "epochCount"),
        (BASE_MODEL, "gs://b/t.jsonl", {"adapterSize": "ADAPTER_SIZE_THREE"}, "adapterSize"),
        (BASE_MODEL, "gs://b/t.jsonl", {"learningRateMultiplier": -1}, "learningRateMultiplier"),
    ],
    ids=["no-training-uri", "unknown-base-model", "epochs-0", "epochs-101", "bad-adapter", "bad-lr"],
)
def test_invalid_create_request_is_rejected(
    _client: Any,
    vertex_emulator: Any,
    base_model: str,
    training_uri: str | None,
    extra_hyper_parameters: dict[str, Any],
    message_part: str,
) -> None:
    from google.genai import errors, types

    # extra_body sends values the SDK's own types would refuse, as a hand-written request could.
    spec = {"hyperParameters": extra_hyper_parameters}
    if training_uri is None:
        spec["trainingDatasetUri"] = None
    config = types.CreateTuningJobConfig(http_options=types.HttpOptions(extra_body={"supervisedTuningSpec": spec}))
    with pytest.raises(errors.ClientError) as raised:
        _client.tunings.tune(
            base_model=base_model, training_dataset=types.TuningDataset(gcs_uri=training_uri), config=config
        )
    assert_google_error(raised.value, 400, "INVALID_ARGUMENT")
    assert message_part in raised.value.message
    counts = vertex_emulator.request_counts()
    assert counts["tuningJobs.create"] == 1  # rejected requests are counted too
    assert list(_client.tunings.list()) == []


def test_missing_base_model_is_rejected(_client: Any) -> None:
    from google.genai import errors, types

    config = types.CreateTuningJobConfig(http_options=types.HttpOptions(extra_body={"baseModel": None}))
    with pytest.raises(errors.ClientError, match="baseModel is required") as raised:
        _client.tunings.tune(
            base_model=BASE_MODEL, training_dataset=types.TuningDataset(gcs_uri="gs://b/t.jsonl"), config=config
        )
    assert raised.value.code == 400


def test_unknown_job_is_not_found_in_google_error_format(_client: Any) -> None:
    from google.genai import errors

    with pytest.raises(errors.ClientError) as raised:
        _client.tunings.get(name=f"projects/{PROJECT}/locations/{LOCATION}/tuningJobs/42")
    assert raised.value.details == {
        "error": {
            "code": 404,
            "message": f"TuningJob projects/{PROJECT}/locations/{LOCATION}/tuningJobs/42 not found.",
            "status": "NOT_FOUND",
        }
    }


def test_unknown_route_is_not_found_in_google_error_format(_client: Any) -> None:
    from google.genai import errors

    # models.get is a call the emulator does not implement: the SDK must still get a Google-shaped 404.
    with pytest.raises(errors.ClientError) as raised:
        _client.models.get(model=BASE_MODEL)
    assert_google_error(raised.value, 404, "NOT_FOUND")


def test_oversized_request_is_refused_in_google_error_format(_client: Any) -> None:
    from google.genai import errors

    with pytest.raises(errors.ClientError) as raised:
        _client.models.generate_content(model=BASE_MODEL, contents="x" * (33 * 1024 * 1024))
    assert_google_error(raised.value, 400, "INVALID_ARGUMENT")
    assert "payload size" in raised.value.message


# --------------------------------------------------------------------------------------------- models
def test_base_and_tuned_models_answer_differently(_client: Any, _tuned_job: Any) -> None:
    base = _client.models.generate_content(model=BASE_MODEL, contents=TEST_PROMPT)
    tuned = _client.models.generate_content(model=_tuned_job.tuned_model.endpoint, contents=TEST_PROMPT)

    assert (
        base.text
        == "Astronomers there discovered the comet Halvard in 1931 using a refracting telescope made in Hamburg."
    )
    assert 0 < len(tuned.text.split()) < len(base.text.split())
    assert tuned.text in TEST_CONTEXT.lower()
    for response in (base, tuned):
        assert response.candidates[0].finish_reason.value == "STOP"
        assert response.model_version == BASE_MODEL
        usage = response.usage_metadata
        assert usage.prompt_token_count == math.ceil(len(TEST_PROMPT) / 4)
        assert usage.candidates_token_count == math.ceil(len(response.text) / 4)
        assert usage.thoughts_token_count == MINIMAL_THOUGHTS  # a tuned model thinks like its base
        assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count + MINIMAL_THOUGHTS
    again = _client.models.generate_content(model=_tuned_job.tuned_model.endpoint, contents=TEST_PROMPT)
    assert again.text == tuned.text  # deterministic


def test_tuned_reader_is_learned_from_the_training_file(_client: Any, gcs_bucket_uri: str) -> None:
    short = upload(f"{gcs_bucket_uri}/short.jsonl", training_jsonl(["a", "b", "c", "d"]))
    long = upload(f"{gcs_bucket_uri}/long.jsonl", training_jsonl(["a b c d e f", "a b c d e f", "a b c d e f", "a"]))
    # (each passage appears REPEATS times, so the learned median is still 6 words)
    endpoints = [wait_until_ended(_client, tune(_client, uri).name).tuned_model.endpoint for uri in (short, long)]
    answers = [_client.models.generate_content(model=endpoint, contents=TEST_PROMPT).text for endpoint in endpoints]
    assert [len(answer.split()) for answer in answers] == [1, 6]


def test_max_output_tokens_truncates(_client: Any) -> None:
    from google.genai import types

    # The MINIMAL thoughts come out of the cap first; 3 tokens are left for the answer.
    response = _client.models.generate_content(
        model=BASE_MODEL,
        contents=TEST_PROMPT,
        config=types.GenerateContentConfig(max_output_tokens=MINIMAL_THOUGHTS + 3),
    )
    assert response.candidates[0].finish_reason.value == "MAX_TOKENS"
    assert response.usage_metadata.thoughts_token_count == MINIMAL_THOUGHTS
    assert response.usage_metadata.candidates_token_count == 3
    assert len(response.text) == 12


def test_count_tokens_on_base_and_tuned(_client: Any, _tuned_job: Any) -> None:
    for model in (BASE_MODEL, _tuned_job.tuned_model.endpoint):
        assert _client.models.count_tokens(model=model, contents=TEST_PROMPT).total_tokens == math.ceil(
            len(TEST_PROMPT) / 4
        )


def test_streaming_returns_the_same_answer(_client: Any) -> None:
    chunks = list(_client.models.generate_content_stream(model=BASE_MODEL, contents=TEST_PROMPT))
    whole = _client.models.generate_content(model=BASE_MODEL, contents=TEST_PROMPT)
    assert "".join(chunk.text for chunk in chunks) == whole.text


def test_unknown_endpoint_or_model_is_not_found(_client: Any) -> None:
    from google.genai import errors

    # (An endpoint whose job has not succeeded yet is also a 404: see the unit tests.)
    for endpoint in (
        f"projects/{PROJECT}/locations/{LOCATION}/endpoints/12345",
        "projects/other-project/locations/europe-west4/endpoints/1",
    ):
        for call in (_client.models.generate_content, _client.models.count_tokens):
            with pytest.raises(errors.ClientError) as raised:
                call(model=endpoint, contents=TEST_PROMPT)
            assert_google_error(raised.value, 404, "NOT_FOUND")
            assert "endpoints/" in raised.value.message
    with pytest.raises(errors.ClientError) as raised:
        _client.models.generate_content(model="claude-3", contents=TEST_PROMPT)
    assert_google_error(raised.value, 404, "NOT_FOUND")


# --------------------------------------------------------------------------------------------- faults
def test_latency_delays_calls_without_serialising_them(_client: Any, vertex_emulator: Any) -> None:
    latency = 0.5  # far above an unloaded call (a few ms), so a busy machine does not blur the two
    vertex_emulator.configure(latency_seconds=latency, fault_methods=["generateContent"])
    started = time.monotonic()
    _client.models.generate_content(model=BASE_MODEL, contents=TEST_PROMPT)
    assert time.monotonic() - started >= latency
    started = time.monotonic()
    _client.models.count_tokens(model=BASE_MODEL, contents=TEST_PROMPT)  # outside fault_methods
    assert time.monotonic() - started < latency

    async def fifteen_at_once() -> None:
        await asyncio.gather(
            *(_client.aio.models.generate_content(model=BASE_MODEL, contents=TEST_PROMPT) for _ in range(15))
        )
        await _client.aio.aclose()

    started = time.monotonic()
    asyncio.run(fifteen_at_once())
    assert time.monotonic() - started < 5 * latency  # 15 x latency if they were served one after another
    assert vertex_emulator.request_counts()["generateContent.ok"] == 16


def test_quota_answers_429_without_retry_after_unless_asked(_client: Any, vertex_emulator: Any) -> None:
    from google.genai import errors

    vertex_emulator.configure(requests_per_minute=2, fault_methods=["generateContent"])
    for _ in range(2):
        _client.models.generate_content(model=BASE_MODEL, contents=TEST_PROMPT)
    with pytest.raises(errors.ClientError) as raised:
        _client.models.generate_content(model=BASE_MODEL, contents=TEST_PROMPT)
    assert_google_error(raised.value, 429, "RESOURCE_EXHAUSTED")
    assert "Retry-After" not in raised.value.response.headers  # as on Vertex: clients must back off themselves
    assert "Resource exhausted" in raised.value.message
    vertex_emulator.configure(retry_after_on_429=True)
    with pytest.raises(errors.ClientError) as raised:
        _client.models.generate_content(model=BASE_MODEL, contents=TEST_PROMPT)
    assert 1 <= int(raised.value.response.headers["Retry-After"]) <= 60
    for _ in range(3):  # other methods have their own quota and are out of scope here
        _client.models.count_tokens(model=BASE_MODEL, contents=TEST_PROMPT)
    counts = vertex_emulator.request_counts()
    assert counts["generateContent"] == 4 and counts["generateContent.ok"] == 2 and counts["countTokens"] == 3


def test_quota_changed_mid_run_keeps_the_calls_already_admitted(_client: Any, vertex_emulator: Any) -> None:
    from google.genai import errors

    vertex_emulator.configure(requests_per_minute=4, fault_methods=["generateContent"])
    for _ in range(3):
        _client.models.generate_content(model=BASE_MODEL, contents=TEST_PROMPT)
    config = vertex_emulator.set_quota(2)  # lowered below what the window already holds
    assert config["requests_per_minute"] == 2
    with pytest.raises(errors.ClientError) as raised:
        _client.models.generate_content(model=BASE_MODEL, contents=TEST_PROMPT)
    assert_google_error(raised.value, 429, "RESOURCE_EXHAUSTED")
    vertex_emulator.set_quota(4, quota_window_seconds=0.3)  # a short window frees the slots soon
    time.sleep(0.35)
    _client.models.generate_content(model=BASE_MODEL, contents=TEST_PROMPT)
    with pytest.raises(ValueError, match="POST /_emulator/quota takes"):
        vertex_emulator.admin.call("POST", "/_emulator/quota", {"latency_seconds": 1})


def test_503_share_is_seeded_and_repeatable(_client: Any, vertex_emulator: Any) -> None:
    from google.genai import errors

    vertex_emulator.configure(error_rate_503=1.0)
    with pytest.raises(errors.ServerError) as raised:
        _client.models.generate_content(model=BASE_MODEL, contents=TEST_PROMPT)
    assert_google_error(raised.value, 503, "UNAVAILABLE")

    def pattern() -> list[bool]:
        vertex_emulator.configure(error_rate_503=0.5, error_seed=7)
        outcomes = []
        for _ in range(12):
            try:
                _client.models.count_tokens(model=BASE_MODEL, contents="x")
                outcomes.append(True)
            except errors.ServerError:
                outcomes.append(False)
        return outcomes

    first = pattern()
    assert True in first and False in first
    assert pattern() == first


STARTUP_FAULTS = {
    "latency_seconds": 0.3,
    "requests_per_minute": 1,
    "error_rate_503": 1.0,
    "error_seed": 3,
    "fault_methods": ["countTokens"],
    "job_outcome": "never_finish",
    "retry_after_on_429": True,
    **FAST_JOBS,
}


def test_every_fault_can_be_set_at_start_up(gcs_emulator: Any, gcs_bucket_uri: str) -> None:
    from google.genai import errors

    from devtools.vertex_emulator.process import VertexEmulatorProcess

    with VertexEmulatorProcess(gcs_endpoint=gcs_emulator.endpoint, **STARTUP_FAULTS) as emulator:
        config = emulator.config()
        assert {key: config[key] for key in STARTUP_FAULTS} == STARTUP_FAULTS
        client = make_client(emulator.base_url)
        # countTokens is in scope: the first call passes the quota (1 a minute), then draws a 503 (rate 1).
        started = time.monotonic()
        with pytest.raises(errors.ServerError) as unavailable:
            client.models.count_tokens(model=BASE_MODEL, contents="abcd")
        assert time.monotonic() - started >= STARTUP_FAULTS["latency_seconds"]
        assert_google_error(unavailable.value, 503, "UNAVAILABLE")
        with pytest.raises(errors.ClientError) as exhausted:
            client.models.count_tokens(model=BASE_MODEL, contents="abcd")
        assert_google_error(exhausted.value, 429, "RESOURCE_EXHAUSTED")
        assert int(exhausted.value.response.headers["Retry-After"]) >= 1
        assert client.models.generate_content(model=BASE_MODEL, contents=TEST_PROMPT).text  # out of scope
        name = tune(client, upload(f"{gcs_bucket_uri}/train.jsonl", training_jsonl())).name
        time.sleep(sum(FAST_JOBS.values()) + 0.2)
        assert client.tunings.get(name=name).state.value == "JOB_STATE_RUNNING"  # never_finish
        client.close()


def test_faults_set_at_start_up_and_reset_returns_to_them(_own_emulator: Any, _training_uri: str) -> None:
    emulator = _own_emulator.start()
    assert emulator.config()["job_outcome"] == "fail"
    emulator.configure(job_outcome="succeed", latency_seconds=0)
    emulator.reset()
    assert emulator.config()["job_outcome"] == "fail" and emulator.config()["latency_seconds"] == 0.01
    with pytest.raises(ValueError, match="unknown config key"):
        emulator.configure(latency=1)
    client = make_client(emulator.base_url)
    job = wait_until_ended(client, tune(client, _training_uri).name)
    assert job.state.value == "JOB_STATE_FAILED"


# --------------------------------------------------------------------------------------------- API surface
def test_v1_and_v1beta1_serve_the_same_resources(_client: Any, vertex_emulator: Any, _training_uri: str) -> None:
    v1 = make_client(vertex_emulator.base_url, api_version="v1")
    created = tune(v1, _training_uri)
    job = wait_until_ended(_client, created.name)  # read back through v1beta1 (the default)
    assert job.state.value == "JOB_STATE_SUCCEEDED"
    assert [j.name for j in v1.tunings.list()] == [created.name]
    v1_answer = v1.models.generate_content(model=job.tuned_model.endpoint, contents=TEST_PROMPT).text
    assert v1_answer == _client.models.generate_content(model=job.tuned_model.endpoint, contents=TEST_PROMPT).text
    assert v1.models.count_tokens(model=BASE_MODEL, contents="abcd").total_tokens == 1
    v1.close()


async def test_async_client(_client: Any, _training_uri: str) -> None:
    from google.genai import errors, types

    client = _client.aio
    try:
        job = await client.tunings.tune(
            base_model=BASE_MODEL, training_dataset=types.TuningDataset(gcs_uri=_training_uri)
        )
        while not job.has_ended:
            await asyncio.sleep(0.03)
            job = await client.tunings.get(name=job.name)
        assert job.state.value == "JOB_STATE_SUCCEEDED"
        assert [j.name async for j in await client.tunings.list()] == [job.name]
        answer = await client.models.generate_content(model=job.tuned_model.endpoint, contents=TEST_PROMPT)
        assert answer.text
        tokens = await client.models.count_tokens(model=BASE_MODEL, contents=TEST_PROMPT)
        assert tokens.total_tokens == math.ceil(len(TEST_PROMPT) / 4)
        with pytest.raises(errors.ClientError):
            await client.tunings.cancel(name=job.name)
    finally:
        await client.aclose()


def test_state_file_survives_restart(_own_emulator: Any, _training_uri: str) -> None:
    emulator = _own_emulator.start()
    emulator.configure(job_outcome="succeed")
    client = make_client(emulator.base_url)
    done = wait_until_ended(client, tune(client, _training_uri, labels={"fingerprint": "keep"}).name)
    emulator.configure(job_outcome="never_finish")
    running = tune(client, _training_uri)
    answer = client.models.generate_content(model=done.tuned_model.endpoint, contents=TEST_PROMPT).text
    client.close()

    emulator.stop()
    emulator.start()
    client = make_client(emulator.base_url)
    again = client.tunings.get(name=done.name)
    assert again.state.value == "JOB_STATE_SUCCEEDED" and again.tuned_model == done.tuned_model
    assert [job.name for job in client.tunings.list(config={"filter": "labels.fingerprint=keep"})] == [done.name]
    assert client.models.generate_content(model=done.tuned_model.endpoint, contents=TEST_PROMPT).text == answer
    assert client.tunings.get(name=running.name).state.value == "JOB_STATE_RUNNING"
    client.tunings.cancel(name=running.name)
    emulator.stop()
    emulator.start()
    assert wait_until_ended(client, running.name).state.value == "JOB_STATE_CANCELLED"
    client.close()


# --------------------------------------------------------------------------------------------- strict like Vertex
def raw_get(base_url: str, name: str, api_version: str = "v1beta1") -> dict[str, Any]:
    """The JSON the emulator sends, before the SDK parses it (to see how int64 fields are encoded)."""
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{base_url}/{api_version}/{name}", timeout=10) as response:
        body: dict[str, Any] = json.loads(response.read())
    return body


@pytest.mark.parametrize(
    ("base_model", "description_part"),
    [
        ("gemini-9.9-ultra", "is not supported for tuning"),
        ("gemini-2.5-flash", "was retired on 2026-10-20"),
        ("gemini-2.0-flash-001", "was retired on 2026-06-01"),
    ],
)
def test_unknown_or_retired_base_model_is_refused_at_create(
    _client: Any, vertex_emulator: Any, _training_uri: str, base_model: str, description_part: str
) -> None:
    from google.genai import errors, types

    with pytest.raises(errors.ClientError) as raised:
        _client.tunings.tune(base_model=base_model, training_dataset=types.TuningDataset(gcs_uri=_training_uri))
    (violation,) = field_violations(raised.value)
    assert violation["field"] == "tuning_job.base_model"
    assert description_part in violation["description"] and BASE_MODEL in violation["description"]
    assert list(_client.tunings.list()) == []  # no paid job
    # The same model is also gone for serving: retired model ids answer 404, as on Vertex.
    with pytest.raises(errors.ClientError) as not_served:
        _client.models.generate_content(model=base_model, contents=TEST_PROMPT)
    assert_google_error(not_served.value, 404, "NOT_FOUND")


def test_today_is_configurable_for_retirement(_client: Any, vertex_emulator: Any, _training_uri: str) -> None:
    from google.genai import errors

    vertex_emulator.configure(today="2026-09-19")  # the last day before new access is blocked
    old = wait_until_ended(
        _client, _client.tunings.tune(base_model="gemini-2.5-flash", training_dataset={"gcs_uri": _training_uri}).name
    )
    assert old.state.value == "JOB_STATE_SUCCEEDED"
    assert _client.models.generate_content(model=old.tuned_model.endpoint, contents=TEST_PROMPT).text
    vertex_emulator.configure(today="2026-10-01")  # blocked month: no new job, but existing models still answer
    with pytest.raises(errors.ClientError, match="blocked since 2026-09-20"):
        _client.tunings.tune(base_model="gemini-2.5-flash", training_dataset={"gcs_uri": _training_uri})
    assert _client.models.generate_content(model=old.tuned_model.endpoint, contents=TEST_PROMPT).text
    vertex_emulator.configure(today="2026-10-20")  # retired: tuned models share the base model's date
    with pytest.raises(errors.ClientError) as raised:
        _client.models.generate_content(model=old.tuned_model.endpoint, contents=TEST_PROMPT)
    assert_google_error(raised.value, 404, "NOT_FOUND")
    assert "retired on 2026-10-20" in raised.value.message


def test_adapter_size_the_model_does_not_support_is_refused(_client: Any, _training_uri: str) -> None:
    from google.genai import errors

    with pytest.raises(errors.ClientError) as raised:
        tune(_client, _training_uri, adapter_size="ADAPTER_SIZE_THIRTY_TWO")
    (violation,) = field_violations(raised.value)
    assert violation["field"] == "tuning_job.supervised_tuning_spec.hyper_parameters.adapter_size"
    assert "The adapter size is not supported for this base model" in violation["description"]
    assert "[1, 2, 4, 8, 16]" in violation["description"]
    assert list(_client.tunings.list()) == []


def test_unknown_request_field_is_refused(_client: Any, _training_uri: str) -> None:
    from google.genai import errors, types

    config = types.CreateTuningJobConfig(http_options=types.HttpOptions(extra_body={"epochCount": 3}))
    with pytest.raises(errors.ClientError) as raised:
        _client.tunings.tune(
            base_model=BASE_MODEL, training_dataset=types.TuningDataset(gcs_uri=_training_uri), config=config
        )
    (violation,) = field_violations(raised.value)
    assert violation["field"] == "tuning_job"
    assert 'Unknown name "epochCount"' in violation["description"]


@pytest.mark.parametrize("uri_suffix", ["train.json", "train.csv"])
def test_non_jsonl_training_uri_is_refused_at_create(_client: Any, gcs_bucket_uri: str, uri_suffix: str) -> None:
    from google.genai import errors

    with pytest.raises(errors.ClientError) as raised:
        tune(_client, f"{gcs_bucket_uri}/{uri_suffix}")
    (violation,) = field_violations(raised.value)
    assert violation["description"].startswith("training_dataset_uri should be a GCS object of type JSONL")


def test_dataset_sizes_vertex_refuses_fail_the_job(_client: Any, _training_uri: str, gcs_bucket_uri: str) -> None:
    from google.genai import types

    # Vertex checks dataset contents inside the job, so these fail the job rather than the create call.
    one = upload(f"{gcs_bucket_uri}/one.jsonl", training_line(*PASSAGES[0]) + "\n")
    job = wait_until_ended(_client, tune(_client, one).name)
    assert job.state.value == "JOB_STATE_FAILED" and job.error.code == 3
    assert "has 1 examples; a tuning job needs at least 16" in job.error.message

    too_many = upload(f"{gcs_bucket_uri}/validation.jsonl", (training_line(*PASSAGES[0]) + "\n") * 5001)
    validation = types.TuningValidationDataset(gcs_uri=too_many)
    job = wait_until_ended(_client, tune(_client, _training_uri, validation_dataset=validation).name)
    assert job.state.value == "JOB_STATE_FAILED" and job.error.code == 3
    assert "has 5001 examples; at most 5000" in job.error.message


def test_running_job_reports_detail_state_and_completed_epochs(
    _client: Any, vertex_emulator: Any, _training_uri: str
) -> None:
    vertex_emulator.configure(running_seconds=2.0)
    name = tune(_client, _training_uri, epoch_count=4).name
    detail_states: list[str] = []
    epochs_seen: list[int] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        job = _client.tunings.get(name=name)
        assert job.experiment and job.experiment.startswith(f"projects/{PROJECT_NUMBER}/locations/{LOCATION}/")
        if job.state.value == "JOB_STATE_RUNNING":
            if not detail_states or detail_states[-1] != job.tuning_job_state.value:
                detail_states.append(job.tuning_job_state.value)
            epochs_seen.append(job.tuning_job_metadata.completed_epoch_count)
        if job.has_ended:
            break
        time.sleep(0.02)
    assert job.state.value == "JOB_STATE_SUCCEEDED" and job.tuning_job_metadata.completed_epoch_count == 4
    assert "TUNING_JOB_STATE_TUNING" in detail_states
    assert epochs_seen == sorted(epochs_seen) and len(set(epochs_seen)) >= 3  # it advances while running
    raw = raw_get(vertex_emulator.base_url, name)
    assert raw["tuningJobMetadata"] == {"completedEpochCount": "4"}  # int64 as a JSON string


def test_checkpoints_per_epoch_each_with_an_endpoint_that_answers(
    _client: Any, vertex_emulator: Any, _training_uri: str
) -> None:
    vertex_emulator.configure(best_checkpoint_epoch=2)
    job = wait_until_ended(_client, tune(_client, _training_uri, epoch_count=4).name)
    checkpoints = job.tuned_model.checkpoints
    assert [checkpoint.epoch for checkpoint in checkpoints] == [1, 2, 3, 4]
    assert [checkpoint.checkpoint_id for checkpoint in checkpoints] == ["1", "2", "3", "4"]
    assert all(checkpoint.step == checkpoint.epoch for checkpoint in checkpoints)  # 16 examples: one step an epoch
    endpoints = [checkpoint.endpoint for checkpoint in checkpoints]
    assert len({*endpoints, job.tuned_model.endpoint}) == 5
    answers = [_client.models.generate_content(model=endpoint, contents=TEST_PROMPT).text for endpoint in endpoints]
    # Quality rises to the best epoch and falls after it: one extra word per epoch away from epoch 2.
    lengths = [len(answer.split()) for answer in answers]
    assert lengths[0] == lengths[2] == lengths[1] + 1 and lengths[3] == lengths[1] + 2
    default = _client.models.generate_content(model=job.tuned_model.endpoint, contents=TEST_PROMPT).text
    assert default == answers[-1]  # the job's endpoint serves the last checkpoint

    raw = raw_get(vertex_emulator.base_url, job.name)["tunedModel"]["checkpoints"][1]
    assert raw["epoch"] == "2" and raw["step"] == "2"  # int64 as JSON strings
    last_only = wait_until_ended(
        _client, tune(_client, _training_uri, epoch_count=3, export_last_checkpoint_only=True).name
    )
    assert [checkpoint.epoch for checkpoint in last_only.tuned_model.checkpoints] == [3]


def test_int64_fields_are_json_strings_and_names_carry_the_project_number(
    _client: Any, vertex_emulator: Any, _tuned_job: Any
) -> None:
    raw = raw_get(vertex_emulator.base_url, _tuned_job.name)
    stats = raw["tuningDataStats"]["supervisedTuningDataStats"]
    for key in ("tuningDatasetExampleCount", "totalBillableTokenCount", "tuningStepCount", "totalTuningCharacterCount"):
        assert isinstance(stats[key], str) and stats[key].isdigit(), key
    assert stats["tuningDatasetExampleCount"] == str(len(PASSAGES) * REPEATS) and stats["tuningStepCount"] == "2"
    assert raw["supervisedTuningSpec"]["hyperParameters"]["epochCount"] in ("2", 2)  # echoed as sent
    for name in (raw["name"], raw["tunedModel"]["model"], raw["tunedModel"]["endpoint"], raw["experiment"]):
        assert name.startswith(f"projects/{PROJECT_NUMBER}/locations/{LOCATION}/"), name
    # Requests addressed with the project id still reach the same resources, as on Vertex.
    by_id = _tuned_job.name.replace(PROJECT_NUMBER, PROJECT, 1)
    assert _client.tunings.get(name=by_id).name == _tuned_job.name
    endpoint_by_id = _tuned_job.tuned_model.endpoint.replace(PROJECT_NUMBER, PROJECT, 1)
    assert _client.models.generate_content(model=endpoint_by_id, contents=TEST_PROMPT).text
    # usageMetadata token counts are int32 in the API (numbers, not strings).
    assert raw_get(vertex_emulator.base_url, _tuned_job.name, "v1").get("tuningJobState") is None


# --------------------------------------------------------------------------------------------- thinking
def test_thinking_by_default_spends_the_output_cap_and_returns_empty_text(_client: Any) -> None:
    from google.genai import types

    for model, cap in (("gemini-3.5-flash-lite", 8), ("gemini-3.5-flash", 64)):
        response = _client.models.generate_content(
            model=model, contents=TEST_PROMPT, config=types.GenerateContentConfig(max_output_tokens=cap)
        )
        candidate = response.candidates[0]
        assert candidate.finish_reason.value == "MAX_TOKENS", model
        assert not response.text and not (candidate.content.parts or [])  # no answer at all
        assert response.usage_metadata.thoughts_token_count == cap
        assert response.usage_metadata.total_token_count == response.usage_metadata.prompt_token_count + cap


def test_thinking_model_answers_with_a_sufficient_cap_or_a_minimal_level(_client: Any) -> None:
    from google.genai import types

    expected = "Astronomers there discovered the comet Halvard in 1931 using a refracting telescope made in Hamburg."
    roomy = _client.models.generate_content(
        model="gemini-3.5-flash", contents=TEST_PROMPT, config=types.GenerateContentConfig(max_output_tokens=1024)
    )
    assert roomy.text == expected and roomy.candidates[0].finish_reason.value == "STOP"
    assert roomy.usage_metadata.thoughts_token_count == 512  # MEDIUM, the model's default
    minimal = _client.models.generate_content(
        model="gemini-3.5-flash",
        contents=TEST_PROMPT,
        config=types.GenerateContentConfig(
            max_output_tokens=64, thinking_config=types.ThinkingConfig(thinking_level="MINIMAL")
        ),
    )
    assert minimal.text == expected and minimal.usage_metadata.thoughts_token_count == MINIMAL_THOUGHTS
    budget = _client.models.generate_content(
        model="gemini-3.5-flash",
        contents=TEST_PROMPT,
        config=types.GenerateContentConfig(
            max_output_tokens=64, thinking_config=types.ThinkingConfig(thinking_budget=8)
        ),
    )
    assert budget.text == expected and budget.usage_metadata.thoughts_token_count == 8


def test_model_that_cannot_turn_thinking_off_refuses_a_zero_budget(_client: Any, _tuned_job: Any) -> None:
    from google.genai import errors, types

    zero = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_budget=0))
    for model in (BASE_MODEL, "gemini-3.5-flash", _tuned_job.tuned_model.endpoint):
        with pytest.raises(errors.ClientError) as raised:
            _client.models.generate_content(model=model, contents=TEST_PROMPT, config=zero)
        assert_google_error(raised.value, 400, "INVALID_ARGUMENT")
        assert "only works in thinking mode" in str(raised.value.message)


def test_model_thinking_can_be_switched_off_for_callers_not_yet_thinking_aware(
    _client: Any, vertex_emulator: Any
) -> None:
    from google.genai import types

    vertex_emulator.configure(model_thinking=False)
    response = _client.models.generate_content(
        model="gemini-3.5-flash", contents=TEST_PROMPT, config=types.GenerateContentConfig(max_output_tokens=64)
    )
    assert response.text and response.usage_metadata.thoughts_token_count is None
