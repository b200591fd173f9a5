"""The prediction runner and metrics report: against a scripted fake client and the Vertex emulator."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from google.genai import errors as genai_errors
from google.genai import types

from gemini_qa_tuning import storage
from gemini_qa_tuning.api_errors import retry_after_seconds
from gemini_qa_tuning.evaluation import (
    CheckpointProgress,
    EmptyAnswerShareExceededError,
    ErrorShareExceededError,
    EvaluationInterrupted,
    EvaluationSettings,
    ModelAccessError,
    PredictionRun,
    StopRequest,
    ThinkingChoice,
    backoff_delay,
    load_test_questions,
    model_slug,
    predict_async,
    read_predictions,
    report_summary,
    run_predictions,
    thinking_for_model,
    write_metrics_report,
)
from gemini_qa_tuning.pipeline.params import PipelineParams

BASE_MODEL = "gemini-3.5-flash-lite"
INSTRUCTION = "Answer the question with the shortest span copied from the context. Reply with the answer only."

# (id, context, question, answers): small, hand-written, in the shape of SQuAD.
QUESTIONS = [
    (
        "q01",
        "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, "
        "a region in France. They were descended from Norse raiders.",
        "In what country is Normandy located?",
        ["France", "France", "France"],
    ),
    (
        "q02",
        "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, "
        "a region in France. They were descended from Norse raiders.",
        "When were the Normans in Normandy?",
        ["10th and 11th centuries", "in the 10th and 11th centuries"],
    ),
    (
        "q03",
        "Rollo agreed to swear fealty to King Charles III. The treaty was signed in 911.",
        "Who did Rollo swear fealty to?",
        ["King Charles III", "Charles III"],
    ),
    (
        "q04",
        "Computational complexity theory classifies problems by their inherent difficulty. "
        "A problem is regarded as inherently difficult if its solution requires significant resources.",
        "What does computational complexity theory classify problems by?",
        ["inherent difficulty", "their inherent difficulty"],
    ),
]


def build_prompt(context: str, question: str) -> str:
    return f"{INSTRUCTION}\n\nContext:\n{context}\n\nQuestion:\n{question}"


def make_records(count: int | None = None) -> list[dict[str, Any]]:
    """``count`` records cycling through QUESTIONS with unique ids (and unique prompts)."""
    count = len(QUESTIONS) if count is None else count
    records = []
    for index in range(count):
        question_id, context, question, answers = QUESTIONS[index % len(QUESTIONS)]
        suffix = "" if index < len(QUESTIONS) else f" (variant {index})"
        records.append(
            {
                "id": f"{question_id}-{index:04d}",
                "title": "Sample",
                "question": question + suffix,
                "prompt": build_prompt(context, question + suffix),
                "answers": answers,
            }
        )
    return records


def write_test_set(uri: str, records: list[dict[str, Any]]) -> str:
    storage.write_text(uri, "".join(json.dumps(record) + "\n" for record in records))
    return uri


# --------------------------------------------------------------------------- a scripted fake client
def response(text: str | None, finish_reason: str = "STOP", blocked: bool = False) -> types.GenerateContentResponse:
    body: dict[str, Any] = {
        "usage_metadata": {"prompt_token_count": 40, "candidates_token_count": 3, "total_token_count": 43}
    }
    if blocked:
        body["prompt_feedback"] = {"block_reason": "SAFETY"}
    else:
        parts = [{"text": text}] if text is not None else []
        body["candidates"] = [{"content": {"role": "model", "parts": parts}, "finish_reason": finish_reason}]
    return types.GenerateContentResponse.model_validate(body)


class FakeHttpResponse:
    def __init__(self, headers: dict[str, str]):
        self.headers = headers


def api_error(code: int, headers: dict[str, str] | None = None) -> genai_errors.APIError:
    status = {
        400: "INVALID_ARGUMENT",
        404: "NOT_FOUND",
        408: "DEADLINE_EXCEEDED",
        429: "RESOURCE_EXHAUSTED",
        500: "INTERNAL",
        503: "UNAVAILABLE",
    }[code]
    body = {"error": {"code": code, "message": f"scripted {code}", "status": status}}
    error_class = genai_errors.ClientError if code < 500 else genai_errors.ServerError
    return error_class(code, body, FakeHttpResponse(headers or {}))  # type: ignore[arg-type]


Script = Callable[[str, int], Any]  # (prompt, attempt number for this prompt) -> response or exception


class FakeModels:
    """Records every request (prompt and config) and how many were in flight at once."""

    def __init__(self, script: Script, delay_seconds: float = 0.001):
        self.script = script
        self.delay_seconds = delay_seconds
        self.calls: list[str] = []
        self.configs: list[types.GenerateContentConfig] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def generate_content(self, *, model: str, contents: str, config: Any) -> Any:
        self.calls.append(contents)
        self.configs.append(config)
        outcome = self.script(contents, self.calls.count(contents))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay_seconds)
        finally:
            self.in_flight -= 1
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


class FakeClient:
    """Quacks like ``genai.client.AsyncClient`` (it has ``.models`` and no ``.aio``)."""

    def __init__(self, script: Script, delay_seconds: float = 0.001):
        self.models = FakeModels(script, delay_seconds)


def answer_by_question(answers: dict[str, Any]) -> Script:
    def script(prompt: str, attempt: int) -> Any:
        for question, outcome in answers.items():
            if prompt.endswith(question):
                return outcome(attempt) if callable(outcome) else outcome
        return response("I do not know")

    return script


THINKING_OFF = ThinkingChoice(level=None, budget=0, reserved_tokens=0, reason="off in this test")
FAST = EvaluationSettings(concurrency=4, backoff_base_seconds=0.01, backoff_cap_seconds=0.05)


@pytest.fixture
def test_uri(tmp_path: Path) -> str:
    return write_test_set(str(tmp_path / "data" / "test.jsonl"), make_records())


async def test_runner_scores_answers_and_writes_predictions(tmp_path: Path, test_uri: str) -> None:
    client = FakeClient(
        answer_by_question(
            {
                "In what country is Normandy located?": response("France."),
                "When were the Normans in Normandy?": response("the 10th century"),
                "Who did Rollo swear fealty to?": response(None, finish_reason="SAFETY"),
                "What does computational complexity theory classify problems by?": response(""),
            }
        )
    )
    output = str(tmp_path / "eval")
    # One empty answer of four is above the default empty-answer limit; this test is about scoring it.
    summary = await predict_async(client, BASE_MODEL, test_uri, output, replace(FAST, empty_share_limit=0.25))

    lines = read_predictions(summary.predictions_uri)
    assert [line.id for line in lines] == ["q01-0000", "q02-0001", "q03-0002", "q04-0003"]
    first = lines[0]
    assert first.response == "France."
    assert first.normalized_response == "france."  # the training-target form: case and spaces only
    assert (first.exact_match, first.f1) == (1.0, 1.0)
    assert first.prompt_sha256 == load_test_questions(test_uri)[0].prompt_sha256
    assert first.latency_seconds is not None
    assert (first.prompt_tokens, first.output_tokens, first.total_tokens) == (40, 3, 43)
    # [10th, century] vs [10th, and, 11th, centuries]: P = 1/2, R = 1/4
    assert lines[1].exact_match == 0.0
    assert lines[1].f1 == pytest.approx(1 / 3)
    assert lines[2].blocked is True and lines[2].f1 == 0.0
    assert lines[3].response == "" and lines[3].f1 == 0.0

    assert summary.scores.questions == 4
    assert summary.scores.exact_match == pytest.approx(25.0)
    assert summary.scores.f1 == pytest.approx(100 * (1 + 1 / 3) / 4, abs=1e-3)
    assert summary.scores.errors == 0
    assert summary.scores.blocked == 1
    assert summary.scores.empty == 2  # the blocked one and the empty one
    assert summary.scores.total_tokens == 4 * 43
    assert summary.requests_sent == 4
    assert summary.model_slug == BASE_MODEL
    assert summary.predictions_uri == f"{output}/{BASE_MODEL}/predictions.jsonl"
    assert json.loads(storage.read_text(summary.summary_uri))["f1"] == summary.scores.f1
    json.dumps(summary.to_json())  # small and serializable: goes through XCom


async def test_retry_after_header_is_honoured(tmp_path: Path, test_uri: str) -> None:
    def quota_once(attempt: int) -> Any:
        return api_error(429, {"Retry-After": "0.4"}) if attempt == 1 else response("France")

    client = FakeClient(answer_by_question({"In what country is Normandy located?": quota_once}))
    settings = EvaluationSettings(concurrency=1, backoff_base_seconds=0.0, backoff_cap_seconds=5.0)
    started = time.monotonic()
    summary = await predict_async(client, BASE_MODEL, test_uri, str(tmp_path / "eval"), settings)

    assert time.monotonic() - started >= 0.4
    assert summary.retries == 1
    assert summary.requests_sent == 5
    assert summary.scores.errors == 0
    lines = {line.id: line for line in read_predictions(summary.predictions_uri)}
    assert lines["q01-0000"].attempts == 2
    assert lines["q01-0000"].exact_match == 1.0


def test_retry_after_sources() -> None:
    assert retry_after_seconds(api_error(429, {"Retry-After": "7"})) == 7.0
    assert retry_after_seconds(api_error(429, {"retry-after": "1.5"})) == 1.5
    assert retry_after_seconds(api_error(503)) is None
    assert retry_after_seconds(api_error(429, {"Retry-After": "soon"})) is None  # unreadable: back off instead
    soon = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= (retry_after_seconds(api_error(429, {"Retry-After": soon})) or 0) <= 31
    with_retry_info = genai_errors.ClientError(
        429,
        {
            "error": {
                "code": 429,
                "status": "RESOURCE_EXHAUSTED",
                "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"}],
            }
        },
        None,
    )
    assert retry_after_seconds(with_retry_info) == 12.0


@pytest.mark.parametrize(
    "transient",
    [
        pytest.param(lambda: api_error(503), id="503"),
        pytest.param(lambda: api_error(500), id="500"),
        pytest.param(lambda: api_error(408), id="408"),
        pytest.param(lambda: api_error(429), id="429-without-retry-after"),
        pytest.param(lambda: ConnectionResetError("reset by peer"), id="connection-reset"),
        pytest.param(lambda: aiohttp.ServerDisconnectedError(), id="aiohttp-disconnect"),
    ],
)
async def test_transient_failures_are_retried_with_growing_backoff(
    tmp_path: Path, test_uri: str, transient: Callable[[], BaseException]
) -> None:
    flaky = {"Who did Rollo swear fealty to?": lambda n: transient() if n < 3 else response("Charles III")}
    client = FakeClient(answer_by_question(flaky))
    settings = EvaluationSettings(concurrency=4, backoff_base_seconds=0.1, backoff_cap_seconds=1.0)
    started = time.monotonic()
    summary = await predict_async(client, BASE_MODEL, test_uri, str(tmp_path / "eval"), settings)

    assert summary.scores.errors == 0
    assert summary.retries == 2
    assert len(client.models.calls) == 6
    # two backoffs: at least half of 0.1 s, then at least half of 0.2 s
    assert time.monotonic() - started >= 0.05 + 0.1


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    rng = random.Random(0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (6, 30.0), (12, 30.0)]:
        draws = [backoff_delay(attempt, 1.0, 30.0, rng) for _ in range(200)]
        assert all(ceiling / 2 <= draw <= ceiling for draw in draws)
        assert max(draws) - min(draws) > ceiling / 4  # jittered, not a fixed wait
    assert backoff_delay(3, 0.0, 30.0, rng) == 0.0


async def test_in_flight_requests_never_exceed_the_concurrency(tmp_path: Path) -> None:
    test_uri = write_test_set(str(tmp_path / "test.jsonl"), make_records(24))
    client = FakeClient(answer_by_question({}), delay_seconds=0.01)
    settings = EvaluationSettings(concurrency=3)
    summary = await predict_async(client, BASE_MODEL, test_uri, str(tmp_path / "eval"), settings)

    assert summary.scores.answered == 24
    assert client.models.max_in_flight == 3  # the pool is used, and never more than the limit


async def test_requests_are_deterministic_capped_and_not_retried_by_the_sdk(tmp_path: Path, test_uri: str) -> None:
    client = FakeClient(answer_by_question({}))
    settings = EvaluationSettings(max_output_tokens=17, thinking=THINKING_OFF)
    await predict_async(client, BASE_MODEL, test_uri, str(tmp_path / "eval"), settings)

    assert len(client.models.configs) == 4
    for config in client.models.configs:
        assert config.temperature == 0.0
        assert config.max_output_tokens == 17
        assert config.thinking_config is not None and config.thinking_config.thinking_budget == 0
        assert config.http_options is not None and config.http_options.retry_options is not None
        assert config.http_options.retry_options.attempts == 1


async def test_requests_are_paced_to_a_known_quota(tmp_path: Path, test_uri: str) -> None:
    client = FakeClient(answer_by_question({}))
    settings = EvaluationSettings(concurrency=4, requests_per_minute=1200)  # one start every 50 ms
    started = time.monotonic()
    await predict_async(client, BASE_MODEL, test_uri, str(tmp_path / "eval"), settings)
    assert time.monotonic() - started >= 3 * 0.05


async def test_a_failed_checkpoint_write_loses_no_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    test_uri = write_test_set(str(tmp_path / "test.jsonl"), make_records(6))
    output = str(tmp_path / "eval")
    real_write_bytes = storage.write_bytes
    failed: list[str] = []

    def write_fails_once(uri: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        if "/checkpoint/" in uri and not failed:
            failed.append(uri)
            raise OSError("simulated storage outage")
        real_write_bytes(uri, data, content_type=content_type)

    monkeypatch.setattr(storage, "write_bytes", write_fails_once)
    first = FakeClient(answer_by_question({}))
    settings = EvaluationSettings(concurrency=1)
    with pytest.raises(OSError, match="simulated storage outage"):
        await predict_async(first, BASE_MODEL, test_uri, output, settings)
    assert len(first.models.calls) == 1  # each answer is saved before the next question: stopped there

    again = FakeClient(answer_by_question({}))
    summary = await predict_async(again, BASE_MODEL, test_uri, output, settings)
    assert summary.resumed_from_checkpoint == 1  # the answer whose write failed was saved at the end
    assert len(again.models.calls) == 5


async def test_rejected_request_is_an_error_without_retries(tmp_path: Path, test_uri: str) -> None:
    client = FakeClient(answer_by_question({"Who did Rollo swear fealty to?": api_error(400)}))
    settings = EvaluationSettings(error_share_limit=0.25)
    summary = await predict_async(client, BASE_MODEL, test_uri, str(tmp_path / "eval"), settings)
    assert len(client.models.calls) == 4  # the 400 was not sent again
    assert summary.scores.errors == 1
    assert summary.scores.error_share == 0.25
    failed = next(line for line in read_predictions(summary.predictions_uri) if line.status == "error")
    assert failed.response is None and failed.f1 == 0.0
    assert "400" in failed.error


async def test_unknown_model_stops_the_run_at_once(tmp_path: Path, test_uri: str) -> None:
    client = FakeClient(lambda prompt, attempt: api_error(404))
    with pytest.raises(ModelAccessError, match="404"):
        await predict_async(client, "projects/p/locations/l/endpoints/42", test_uri, str(tmp_path / "eval"), FAST)
    assert len(client.models.calls) <= FAST.concurrency


async def test_changed_prompt_is_asked_again_and_others_are_not(tmp_path: Path) -> None:
    records = make_records()
    test_uri = write_test_set(str(tmp_path / "test.jsonl"), records)
    output = str(tmp_path / "eval")
    first = FakeClient(answer_by_question({}))
    await predict_async(first, BASE_MODEL, test_uri, output, FAST)
    assert len(first.models.calls) == 4

    records[2]["prompt"] = records[2]["prompt"].replace(INSTRUCTION, "Reply briefly.")
    write_test_set(test_uri, records)
    again = FakeClient(answer_by_question({}))
    summary = await predict_async(again, BASE_MODEL, test_uri, output, FAST)
    assert again.models.calls == [records[2]["prompt"]]
    assert summary.resumed_from_checkpoint == 3
    assert summary.scores.questions == 4


async def test_progress_is_logged_with_rate_eta_and_errors(
    tmp_path: Path, test_uri: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = FakeClient(answer_by_question({}), delay_seconds=0.03)
    settings = EvaluationSettings(concurrency=1, progress_interval_seconds=0.02)
    with caplog.at_level("INFO", logger="gemini_qa_tuning.evaluation"):
        await predict_async(client, BASE_MODEL, test_uri, str(tmp_path / "eval"), settings)
    progress = [record.getMessage() for record in caplog.records if record.getMessage().startswith("Progress")]
    assert progress, "no progress line was logged"
    assert all("/4 done" in line and "questions/s" in line and "ETA" in line for line in progress)
    assert "errors 0" in progress[-1]


def test_blocking_wrapper_runs_its_own_loop(tmp_path: Path, test_uri: str) -> None:
    client = FakeClient(answer_by_question({}))
    summary = run_predictions(client, BASE_MODEL, test_uri, str(tmp_path / "eval"), FAST, slug="base")
    assert summary.model_slug == "base"
    assert summary.predictions_uri.endswith("/eval/base/predictions.jsonl")


@pytest.mark.parametrize(
    ("model", "slug"),
    [
        ("gemini-3.5-flash-lite", "gemini-3.5-flash-lite"),
        ("publishers/google/models/gemini-3.5-flash-lite", "gemini-3.5-flash-lite"),
        ("projects/local-project/locations/us-central1/endpoints/8", "endpoint-8"),
        ("projects/local-project/locations/us-central1/models/9@2", "model-9-v2"),
    ],
)
def test_model_slug(model: str, slug: str) -> None:
    assert model_slug(model) == slug


def test_test_set_problems_are_reported(tmp_path: Path) -> None:
    duplicate = make_records()[:2]
    duplicate[1]["id"] = duplicate[0]["id"]
    with pytest.raises(ValueError, match="duplicate question id"):
        load_test_questions(write_test_set(str(tmp_path / "dup.jsonl"), duplicate))
    storage.write_text(str(tmp_path / "bad.jsonl"), '{"id": "x"}\n')
    with pytest.raises(ValueError, match="line 1"):
        load_test_questions(str(tmp_path / "bad.jsonl"))
    storage.write_text(str(tmp_path / "empty.jsonl"), "\n")
    with pytest.raises(ValueError, match="no test questions"):
        load_test_questions(str(tmp_path / "empty.jsonl"))


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        EvaluationSettings(concurrency=0)
    with pytest.raises(ValueError, match="error_share_limit"):
        EvaluationSettings(error_share_limit=1.5)


# --------------------------------------------------------------------------- metrics report
async def test_metrics_report_compares_tuned_with_base_and_champion(tmp_path: Path) -> None:
    records = make_records(40)
    test_uri = write_test_set(str(tmp_path / "test.jsonl"), records)
    output = str(tmp_path / "eval")
    gold = {record["prompt"]: record["answers"][0] for record in records}

    def verbose(prompt: str, attempt: int) -> Any:
        return response(f"The answer is in the text: {gold[prompt]} and more words around it.")

    def exact(prompt: str, attempt: int) -> Any:
        return response(gold[prompt])

    base = await predict_async(FakeClient(verbose), BASE_MODEL, test_uri, output, FAST, slug="base")
    tuned = await predict_async(FakeClient(exact), "projects/p/locations/l/endpoints/2", test_uri, output, FAST)
    champion = await predict_async(FakeClient(exact), "projects/p/locations/l/endpoints/1", test_uri, output, FAST)

    metrics_uri = f"{output}/metrics.json"
    report = write_metrics_report(
        metrics_uri,
        base_predictions_uri=base.predictions_uri,
        tuned_predictions_uri=tuned.predictions_uri,
        champion_predictions_uri=champion.predictions_uri,
        resamples=500,
        seed=7,
        context={"fingerprint": "abc"},
    )
    assert json.loads(storage.read_text(metrics_uri)) == json.loads(json.dumps(report.to_json()))
    assert report.questions == 40
    assert set(report.models) == {"base", "tuned", "champion"}
    assert report.models["tuned"].model == "projects/p/locations/l/endpoints/2"
    assert report.models["tuned"].scores.exact_match == 100.0
    assert report.models["base"].scores.exact_match == 0.0
    for role in ("base", "tuned", "champion"):
        model_report = report.models[role]
        assert (model_report.scores.questions, model_report.scores.errors, model_report.scores.empty) == (40, 0, 0)
        assert model_report.scores.blocked == 0
        assert model_report.scores.latency_mean_seconds > 0 and model_report.scores.latency_p95_seconds > 0
        assert (model_report.scores.prompt_tokens, model_report.scores.output_tokens) == (40 * 40, 40 * 3)
        assert model_report.scores.total_tokens == 40 * 43
    assert report.models["base"].scores.mean_answer_tokens > report.models["tuned"].scores.mean_answer_tokens > 0
    versus_base = report.comparisons["tuned_vs_base"]
    assert versus_base.exact_match_diff == 100.0
    assert versus_base.f1_ci_low > 0 and versus_base.f1_significant
    versus_champion = report.comparisons["tuned_vs_champion"]
    assert versus_champion.f1_diff == 0.0 and not versus_champion.f1_significant
    assert report.context == {"fingerprint": "abc"}
    headline = report_summary(report)
    assert headline.comparisons["tuned_vs_base"].f1_diff == versus_base.f1_diff
    assert headline.comparisons["tuned_vs_base"].exact_match_ci_low == versus_base.exact_match_ci_low
    assert headline.models["champion"].f1 == 100.0

    without_champion = write_metrics_report(
        f"{output}/metrics-2.json",
        base_predictions_uri=base.predictions_uri,
        tuned_predictions_uri=tuned.predictions_uri,
    )
    assert set(without_champion.comparisons) == {"tuned_vs_base"}


async def test_metrics_report_refuses_different_question_sets(tmp_path: Path) -> None:
    output = str(tmp_path / "eval")
    records = make_records(4)
    changed_prompt = [dict(record) for record in records]
    changed_prompt[1]["prompt"] += " Be brief."
    test_sets = {
        "all": write_test_set(str(tmp_path / "all.jsonl"), records),
        "fewer": write_test_set(str(tmp_path / "fewer.jsonl"), records[:3]),
        "changed": write_test_set(str(tmp_path / "changed.jsonl"), changed_prompt),
    }
    predictions = {
        name: (
            await predict_async(FakeClient(answer_by_question({})), BASE_MODEL, uri, output, FAST, slug=name)
        ).predictions_uri
        for name, uri in test_sets.items()
    }
    for other in ("fewer", "changed"):
        with pytest.raises(ValueError, match=r"same test\.jsonl"):
            write_metrics_report(
                f"{output}/metrics.json",
                base_predictions_uri=predictions[other],
                tuned_predictions_uri=predictions["all"],
            )
        with pytest.raises(ValueError, match=r"same test\.jsonl"):
            write_metrics_report(
                f"{output}/metrics.json",
                base_predictions_uri=predictions["all"],
                tuned_predictions_uri=predictions["all"],
                champion_predictions_uri=predictions[other],
            )
    assert not storage.exists(f"{output}/metrics.json")


# --------------------------------------------------------------------------- against the Vertex emulator
def checkpointed_ok_ids(prefix: str) -> set[str]:
    ids = set()
    for uri in storage.list_uris(prefix + "/"):
        for line in storage.iter_lines(uri):
            record = json.loads(line)
            if record["status"] == "ok":
                ids.add(record["id"])
    return ids


EMULATOR_FAST = EvaluationSettings(
    concurrency=4,
    request_timeout_seconds=5.0,
    max_attempts=6,
    backoff_base_seconds=0.02,
    backoff_cap_seconds=0.2,
    error_share_limit=0.0,
)


@pytest.mark.integration
async def test_emulator_base_model_answers_every_question(
    genai_client: Any, vertex_emulator: Any, gcs_bucket_uri: str
) -> None:
    test_uri = write_test_set(f"{gcs_bucket_uri}/data/test.jsonl", make_records(12))
    summary = await predict_async(genai_client, BASE_MODEL, test_uri, f"{gcs_bucket_uri}/eval", EMULATOR_FAST)

    assert summary.scores.questions == 12
    assert summary.scores.errors == 0
    assert summary.scores.answered == 12
    assert summary.scores.mean_answer_tokens > 3  # the base reader answers with a whole sentence
    assert summary.scores.total_tokens > 0
    assert 0.0 <= summary.scores.exact_match <= summary.scores.f1 <= 100.0
    assert vertex_emulator.request_counts().get("generateContent") == 12
    assert len(storage.list_uris(summary.checkpoint_prefix_uri + "/")) == 1  # the parts merged at the end


@pytest.mark.integration
async def test_emulator_receives_the_output_token_cap(
    genai_client: Any, vertex_emulator: Any, gcs_bucket_uri: str
) -> None:
    # The base stand-in answers with a whole sentence; the emulator cuts answers to 4 characters per
    # requested output token and says MAX_TOKENS, so this shows maxOutputTokens reached the server.
    test_uri = write_test_set(f"{gcs_bucket_uri}/test.jsonl", make_records(4))
    settings = EvaluationSettings(max_output_tokens=3, empty_share_limit=1.0)  # cut answers are the point here
    summary = await predict_async(genai_client, BASE_MODEL, test_uri, f"{gcs_bucket_uri}/eval", settings)

    lines = read_predictions(summary.predictions_uri)
    assert all(line.finish_reason == "MAX_TOKENS" and len(line.response) <= 12 for line in lines)


@pytest.mark.integration
async def test_emulator_sdk_retries_of_the_client_do_not_multiply_attempts(
    vertex_emulator: Any, gcs_bucket_uri: str
) -> None:
    import google.oauth2.credentials
    from google import genai

    # Like the pipeline's hook: a client whose own HTTP retries are on.
    client = genai.Client(
        vertexai=True,
        project="local-project",
        location="us-central1",
        credentials=google.oauth2.credentials.Credentials(token="local-token"),
        http_options=types.HttpOptions(
            base_url=vertex_emulator.base_url, retry_options=types.HttpRetryOptions(attempts=5, initial_delay=0.01)
        ),
    )
    vertex_emulator.reset()
    vertex_emulator.configure(error_rate_503=1.0)
    test_uri = write_test_set(f"{gcs_bucket_uri}/test.jsonl", make_records(3))
    settings = EvaluationSettings(max_attempts=2, backoff_base_seconds=0.01, error_share_limit=1.0)
    try:
        summary = await predict_async(client, BASE_MODEL, test_uri, f"{gcs_bucket_uri}/eval", settings)
    finally:
        await client.aio.aclose()
        client.close()

    assert summary.scores.errors == 3
    assert vertex_emulator.request_counts()["generateContent"] == 3 * 2  # the runner's attempts only


@pytest.mark.integration
async def test_emulator_quota_429_is_recorded_then_answered_on_rerun(
    genai_client: Any, vertex_emulator: Any, gcs_bucket_uri: str
) -> None:
    test_uri = write_test_set(f"{gcs_bucket_uri}/test.jsonl", make_records(6))
    vertex_emulator.configure(requests_per_minute=4, fault_methods=["generateContent"])
    # 429s do not count against max_attempts: a question rejected by the quota for longer than the
    # patience is recorded as an error (the default patience is 15 minutes).
    settings = EvaluationSettings(
        concurrency=2, max_attempts=2, backoff_cap_seconds=0.1, error_share_limit=1.0, quota_patience_seconds=0.5
    )
    output = f"{gcs_bucket_uri}/eval"
    summary = await predict_async(genai_client, BASE_MODEL, test_uri, output, settings)

    assert summary.scores.answered == 4
    assert summary.scores.errors == 2
    errors = [line for line in read_predictions(summary.predictions_uri) if line.status == "error"]
    assert all("429" in line.error and "RESOURCE_EXHAUSTED" in line.error for line in errors)
    assert all("quota_patience_seconds" in line.error and line.attempts >= 2 for line in errors)
    counts = vertex_emulator.request_counts()
    assert counts["generateContent.ok"] == 4
    assert counts["generateContent"] == 4 + sum(line.attempts for line in errors)

    vertex_emulator.reset()  # the quota window is over
    rerun = await predict_async(genai_client, BASE_MODEL, test_uri, output, settings)
    assert rerun.scores.errors == 0
    assert rerun.resumed_from_checkpoint == 4
    assert vertex_emulator.request_counts()["generateContent"] == 2  # only the two that had failed


@pytest.mark.integration
async def test_emulator_503s_are_retried_until_answered(
    genai_client: Any, vertex_emulator: Any, gcs_bucket_uri: str
) -> None:
    test_uri = write_test_set(f"{gcs_bucket_uri}/test.jsonl", make_records(20))
    vertex_emulator.configure(error_rate_503=0.4)
    summary = await predict_async(genai_client, BASE_MODEL, test_uri, f"{gcs_bucket_uri}/eval", EMULATOR_FAST)

    counts = vertex_emulator.request_counts()
    assert summary.scores.errors == 0
    assert summary.retries > 0
    assert counts["generateContent.ok"] == 20
    assert counts["generateContent"] == 20 + summary.retries


@pytest.mark.integration
async def test_emulator_stalled_requests_hit_the_timeout(
    genai_client: Any, vertex_emulator: Any, gcs_bucket_uri: str
) -> None:
    test_uri = write_test_set(f"{gcs_bucket_uri}/test.jsonl", make_records(3))
    vertex_emulator.configure(latency_seconds=2.0)
    settings = EvaluationSettings(
        concurrency=3, request_timeout_seconds=0.3, max_attempts=2, backoff_base_seconds=0.01, error_share_limit=1.0
    )
    started = time.monotonic()
    summary = await predict_async(genai_client, BASE_MODEL, test_uri, f"{gcs_bucket_uri}/eval", settings)

    assert time.monotonic() - started < 1.8  # did not wait for the stalled responses
    assert summary.scores.errors == 3
    lines = read_predictions(summary.predictions_uri)
    assert all("timed out" in line.error and line.attempts == 2 for line in lines)


@pytest.mark.integration
async def test_emulator_crash_mid_run_then_rerun_sends_only_missing_questions(
    genai_client: Any, vertex_emulator: Any, gcs_bucket_uri: str
) -> None:
    total = 30
    test_uri = write_test_set(f"{gcs_bucket_uri}/test.jsonl", make_records(total))
    output = f"{gcs_bucket_uri}/eval"
    settings = EvaluationSettings(concurrency=3)
    vertex_emulator.configure(latency_seconds=0.05)  # so that the crash comes before the last answer

    def crash_after_fourth_part(progress: CheckpointProgress) -> None:  # a part holds the answers of one write
        if progress.part_uri.endswith("part-000004.jsonl"):
            raise RuntimeError("simulated worker crash")

    with pytest.raises(RuntimeError, match="simulated worker crash"):
        await predict_async(genai_client, BASE_MODEL, test_uri, output, settings, on_checkpoint=crash_after_fourth_part)
    first_run_requests = vertex_emulator.request_counts()["generateContent"]
    saved = checkpointed_ok_ids(f"{output}/{BASE_MODEL}/checkpoint")
    assert 4 <= len(saved) < total
    assert not storage.exists(f"{output}/{BASE_MODEL}/predictions.jsonl")

    vertex_emulator.reset()
    summary = await predict_async(genai_client, BASE_MODEL, test_uri, output, settings)
    assert vertex_emulator.request_counts()["generateContent"] == total - len(saved)
    assert summary.resumed_from_checkpoint == len(saved)
    assert summary.scores.answered == total
    assert len(read_predictions(summary.predictions_uri)) == total
    assert first_run_requests + summary.requests_sent <= total + settings.concurrency


@pytest.mark.integration
async def test_emulator_cancelled_run_keeps_its_answers(
    genai_client: Any, vertex_emulator: Any, gcs_bucket_uri: str
) -> None:
    total = 24
    test_uri = write_test_set(f"{gcs_bucket_uri}/test.jsonl", make_records(total))
    output = f"{gcs_bucket_uri}/eval"
    vertex_emulator.configure(latency_seconds=0.05)
    settings = EvaluationSettings(concurrency=2)
    task = asyncio.create_task(predict_async(genai_client, BASE_MODEL, test_uri, output, settings))
    while (answered_by_server := vertex_emulator.request_counts().get("generateContent.ok", 0)) < 8:
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    # The batch was not full, but the answers received before the cancel were flushed; only the
    # requests in flight at that moment (answered by the server, not yet read by us) can be lost.
    saved = checkpointed_ok_ids(f"{output}/{BASE_MODEL}/checkpoint")
    assert answered_by_server - settings.concurrency <= len(saved) < total
    vertex_emulator.reset()
    summary = await predict_async(genai_client, BASE_MODEL, test_uri, output, settings)
    assert vertex_emulator.request_counts()["generateContent"] == total - len(saved)
    assert summary.scores.answered == total


@pytest.mark.integration
async def test_emulator_error_share_limit_stops_the_run(
    genai_client: Any, vertex_emulator: Any, gcs_bucket_uri: str
) -> None:
    total = 40
    test_uri = write_test_set(f"{gcs_bucket_uri}/test.jsonl", make_records(total))
    output = f"{gcs_bucket_uri}/eval"
    vertex_emulator.configure(error_rate_503=1.0)
    settings = EvaluationSettings(concurrency=2, max_attempts=2, backoff_base_seconds=0.01, error_share_limit=0.05)
    with pytest.raises(ErrorShareExceededError, match=r"error share limit 5\.0%") as raised:
        await predict_async(genai_client, BASE_MODEL, test_uri, output, settings)

    assert "re-run" in str(raised.value)
    # 3 errors exceed 5 % of 40: the run stopped instead of paying for all 40 questions
    assert vertex_emulator.request_counts()["generateContent"] <= (3 + settings.concurrency) * 2
    assert not storage.exists(f"{output}/{BASE_MODEL}/predictions.jsonl")
    checkpointed = [
        json.loads(line)
        for uri in storage.list_uris(f"{output}/{BASE_MODEL}/checkpoint/")
        for line in storage.iter_lines(uri)
    ]
    assert len([record for record in checkpointed if record["status"] == "error"]) >= 3

    # within the limit, a few failures are recorded and scored as wrong instead
    vertex_emulator.reset()
    vertex_emulator.configure(error_rate_503=0.05, error_seed=3)
    tolerant = EvaluationSettings(concurrency=2, max_attempts=1, error_share_limit=0.5)
    summary = await predict_async(genai_client, BASE_MODEL, test_uri, f"{output}-2", tolerant)
    assert summary.scores.errors == total - vertex_emulator.request_counts()["generateContent.ok"]
    assert summary.scores.questions == total


@pytest.mark.integration
async def test_emulator_unknown_endpoint_is_a_model_access_error(
    genai_client: Any, vertex_emulator: Any, gcs_bucket_uri: str
) -> None:
    test_uri = write_test_set(f"{gcs_bucket_uri}/test.jsonl", make_records(8))
    with pytest.raises(ModelAccessError, match="404"):
        await predict_async(
            genai_client,
            "projects/local-project/locations/us-central1/endpoints/999999",
            test_uri,
            f"{gcs_bucket_uri}/eval",
            EMULATOR_FAST,
        )
    assert vertex_emulator.request_counts()["generateContent"] <= EMULATOR_FAST.concurrency


# --------------------------------------------------------------------------- thinking models on the emulator
EMULATOR_MINIMAL_THOUGHTS = 16  # what the emulator spends at thinking_level MINIMAL (its thinking.py)


def pipeline_default_settings(model: str, catalog: Any, **changes: Any) -> EvaluationSettings:
    """The evaluation settings the pipeline uses with its default Params for ``model``."""
    defaults = PipelineParams()
    pipeline = {
        "max_output_tokens": defaults.eval_max_output_tokens,
        "empty_share_limit": defaults.eval_max_empty_share,
        "thinking": thinking_for_model(model, defaults.eval_thinking, catalog),
    }
    return replace(EMULATOR_FAST, **{**pipeline, **changes})


@pytest.mark.integration
@pytest.mark.parametrize("model", ["gemini-3.5-flash-lite", "gemini-3.5-flash"])
async def test_emulator_thinking_model_answers_with_the_pipeline_defaults(
    genai_client: Any, vertex_emulator: Any, gcs_bucket_uri: str, thinking_catalog: Any, model: str
) -> None:
    test_uri = write_test_set(f"{gcs_bucket_uri}/test.jsonl", make_records(8))
    settings = pipeline_default_settings(model, thinking_catalog)
    assert settings.thinking is not None and settings.thinking.level == "MINIMAL"  # it cannot turn thinking off
    run = await predict_async(genai_client, model, test_uri, f"{gcs_bucket_uri}/eval", settings)

    lines = read_predictions(run.predictions_uri)
    assert all(line.response and line.finish_reason == "STOP" for line in lines)
    assert all(line.thinking_tokens == EMULATOR_MINIMAL_THOUGHTS for line in lines)
    assert (run.scores.empty, run.scores.max_tokens_finishes, run.scores.empty_or_truncated) == (0, 0, 0)
    assert run.scores.thinking_tokens == 8 * EMULATOR_MINIMAL_THOUGHTS
    assert run.scores.mean_thinking_tokens == EMULATOR_MINIMAL_THOUGHTS
    assert run.max_output_tokens == PipelineParams().eval_max_output_tokens + 256  # answer cap + MINIMAL's reserve
    assert run.thinking == settings.thinking
    stored = json.loads(storage.read_text(run.summary_uri))
    assert stored["thinking"]["level"] == "MINIMAL" and stored["thinking_tokens"] == 8 * EMULATOR_MINIMAL_THOUGHTS
    assert PredictionRun.from_json(stored) == run


@pytest.mark.integration
async def test_emulator_thinking_model_without_thinking_config_fails_past_the_empty_share_then_reruns_fixed(
    genai_client: Any, vertex_emulator: Any, gcs_bucket_uri: str, thinking_catalog: Any
) -> None:
    # gemini-3.5-flash thinks at MEDIUM by default (512 tokens in the emulator): a 64-token cap with no
    # thinking configuration leaves nothing for the answer.
    test_uri = write_test_set(f"{gcs_bucket_uri}/test.jsonl", make_records(8))
    output = f"{gcs_bucket_uri}/eval"
    unconfigured = pipeline_default_settings("gemini-3.5-flash", thinking_catalog, thinking=None)
    with pytest.raises(EmptyAnswerShareExceededError) as raised:
        await predict_async(genai_client, "gemini-3.5-flash", test_uri, output, unconfigured)
    message = str(raised.value)
    assert (
        "8 of 8 answers (100.0%) came back empty or cut off at the output cap (8 with finishReason MAX_TOKENS)"
        in message
    )
    assert "above the limit of 5.0%" in message
    # the emulator's MEDIUM thoughts (512) stop at the cap: all 64 tokens went to thinking
    assert "maxOutputTokens 64" in message and "spent 64 thinking tokens per answer" in message
    assert "Raise the answer cap or lower the thinking" in message
    assert not storage.exists(f"{output}/gemini-3.5-flash/predictions.jsonl")  # nothing scored
    assert checkpointed_ok_ids(f"{output}/gemini-3.5-flash/checkpoint")  # but the paid answers are kept

    # The fix (the pipeline's default thinking) and a re-run: the empty answers are asked again.
    vertex_emulator.reset()
    run = await predict_async(
        genai_client,
        "gemini-3.5-flash",
        test_uri,
        output,
        pipeline_default_settings("gemini-3.5-flash", thinking_catalog),
    )
    assert run.resumed_from_checkpoint == 0 and run.requests_sent == 8
    assert run.scores.empty == 0 and run.scores.answered == 8


@pytest.mark.integration
async def test_emulator_truncated_answers_count_against_the_share_and_are_reported(
    genai_client: Any, vertex_emulator: Any, gcs_bucket_uri: str, thinking_catalog: Any
) -> None:
    # No thinking configuration: MINIMAL by default (16 tokens), so a cap of 18 leaves 2 for the answer.
    test_uri = write_test_set(f"{gcs_bucket_uri}/test.jsonl", make_records(4))
    settings = pipeline_default_settings(
        "gemini-3.5-flash-lite", thinking_catalog, thinking=None, max_output_tokens=EMULATOR_MINIMAL_THOUGHTS + 2
    )
    with pytest.raises(EmptyAnswerShareExceededError):
        await predict_async(genai_client, "gemini-3.5-flash-lite", test_uri, f"{gcs_bucket_uri}/a", settings)
    tolerant = replace(settings, empty_share_limit=1.0)
    run = await predict_async(genai_client, "gemini-3.5-flash-lite", test_uri, f"{gcs_bucket_uri}/b", tolerant)
    assert run.scores.max_tokens_finishes == 4 and run.scores.empty_or_truncated == 4
    assert run.scores.empty_or_truncated_share == 1.0 and run.scores.empty == 0  # cut short, not empty


async def test_a_stop_request_lets_requests_in_flight_answer_saves_them_and_raises(tmp_path: Path) -> None:
    test_uri = write_test_set(str(tmp_path / "test.jsonl"), make_records(40))
    output = str(tmp_path / "eval")
    client = FakeClient(answer_by_question({}), delay_seconds=0.05)
    stop = StopRequest()
    stop.bind()
    asyncio.get_running_loop().call_later(0.2, stop.request, "test stop")
    with pytest.raises(EvaluationInterrupted, match="test stop"):
        await predict_async(client, BASE_MODEL, test_uri, output, EvaluationSettings(concurrency=4), stop=stop)
    asked = len(client.models.calls)
    assert 0 < asked < 40

    again = FakeClient(answer_by_question({}))
    summary = await predict_async(again, BASE_MODEL, test_uri, output, EvaluationSettings(concurrency=4))
    assert summary.resumed_from_checkpoint == asked  # every request sent before the stop was answered and kept
    assert len(again.models.calls) == 40 - asked


async def test_429s_lower_the_rate_and_do_not_count_as_failed_attempts(tmp_path: Path) -> None:
    test_uri = write_test_set(str(tmp_path / "test.jsonl"), make_records(2))

    def quota_then_answer(prompt: str, attempt: int) -> Any:
        return api_error(429) if attempt <= 4 else response("France")  # more 429s than max_attempts

    client = FakeClient(quota_then_answer)
    settings = EvaluationSettings(concurrency=2, max_attempts=3)
    summary = await predict_async(client, BASE_MODEL, test_uri, str(tmp_path / "eval"), settings)
    assert summary.scores.errors == 0
    assert len(client.models.calls) == 2 * 5
