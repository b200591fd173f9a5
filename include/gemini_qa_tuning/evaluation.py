"""Ask a Gemini model every test question, resumably, and score the answers (SQuAD EM/F1).

The runner sends the prompts of ``test.jsonl`` (already rendered with the export's prompt template) to
one model — a publisher model name such as ``gemini-2.0-flash-001`` or a tuned endpoint resource name
``projects/…/locations/…/endpoints/N`` — through ``google-genai``'s async client:

* bounded concurrency (a fixed pool of workers), optional pacing to a known requests-per-minute
  quota, deterministic generation settings (temperature 0, a max-output-tokens cap);
* a per-request timeout; retries with exponential backoff and jitter on 429, 408 and 5xx responses,
  timeouts and connection errors, honouring the server's ``Retry-After`` header (or Google's
  ``RetryInfo`` detail). A 429 also slows every worker down for a while (adaptive pacing), so a
  saturated quota is not hammered by the whole pool at once;
* a checkpoint in object storage: answers are written in batches as
  ``<output>/<model_slug>/checkpoint/part-NNNNNN.jsonl`` (object stores have no append, so each batch
  is a new object). A re-run or retried task reads them first and never asks a successfully answered
  question again; questions whose request failed for good are asked again;
* a request that still fails after all retries is recorded as an error and scored as wrong, so one bad
  question does not sink the run — unless errors exceed ``error_share_limit`` of the questions, which
  raises :class:`ErrorShareExceededError` after the checkpoint is written, so a re-run resumes.

At the end it writes ``<output>/<model_slug>/predictions.jsonl`` (one line per question, sorted by id)
and ``summary.json``, and returns the summary dict (small enough for XCom).
:func:`write_metrics_report` then combines the prediction files of base, tuned and champion models into
``metrics.json`` with paired bootstrap comparisons.

The caller builds the ``google.genai.Client`` (credentials, base URL). Whatever retry options that
client has, each request of the runner carries ``HttpRetryOptions(attempts=1)``: the runner is the only
retry layer, so SDK retries neither multiply the attempts nor hide 429s and Retry-After from the pacing,
and the per-request timeout bounds one attempt. No Airflow import here.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gemini_qa_tuning import storage
from gemini_qa_tuning.api_errors import (
    backoff_delay,
    is_transient_status,
    retry_after_seconds,
    status_code,
    transient_exception_types,
)
from gemini_qa_tuning.metrics import (
    QuestionScore,
    aggregate_scores,
    compare_paired,
    response_statistics,
    score_question,
)
from gemini_qa_tuning.text import normalize_answer

if TYPE_CHECKING:
    from google.genai import types as genai_types

__all__ = [
    "CheckpointProgress",
    "ErrorShareExceededError",
    "EvaluationError",
    "EvaluationQuestion",
    "EvaluationSettings",
    "ModelAccessError",
    "backoff_delay",
    "load_test_questions",
    "model_slug",
    "predict_async",
    "read_predictions",
    "report_summary",
    "run_predictions",
    "summarize_predictions",
    "write_metrics_report",
]

logger = logging.getLogger(__name__)

PREDICTIONS_FILE = "predictions.jsonl"
SUMMARY_FILE = "summary.json"
CHECKPOINT_FOLDER = "checkpoint"
METRICS_SCHEMA_VERSION = 1
BOOTSTRAP_CONFIDENCE = 0.95

_PART_NAME = re.compile(r"part-(\d+)\.jsonl$")
# These mean "this model cannot be used at all" (wrong name, no permission): asking the remaining
# questions would only repeat the error, so the run stops at once.
_FATAL_STATUS = frozenset({401, 403, 404})
_BLOCKING_FINISH_REASONS = frozenset(
    {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"}
)


# --------------------------------------------------------------------------- settings and errors
@dataclass(frozen=True)
class EvaluationSettings:
    """How the runner talks to the model. The pipeline DAG sets ``concurrency``, ``max_output_tokens``,
    ``error_share_limit`` and ``requests_per_minute`` from its Params; the rest keep these defaults.

    ``requests_per_minute``: pace request starts to this rate (the project's quota for the model);
    ``None`` sends as fast as ``concurrency`` allows and relies on 429 handling.
    ``backoff_base_seconds``/``backoff_cap_seconds``: attempt n waits about base·2^(n-1) (half of it
    random jitter), at most the cap; a server's Retry-After replaces that wait, also up to the cap.
    ``error_share_limit``: the largest share (0..1) of questions allowed to end in an error.
    ``thinking_budget``: passed to models that think (Gemini 2.5); ``None`` leaves the model default.
    """

    concurrency: int = 8
    max_output_tokens: int = 64
    temperature: float = 0.0
    request_timeout_seconds: float = 60.0
    max_attempts: int = 6
    backoff_base_seconds: float = 1.0
    backoff_cap_seconds: float = 60.0
    error_share_limit: float = 0.02
    checkpoint_batch_size: int = 100
    requests_per_minute: int | None = None
    progress_interval_seconds: float = 30.0
    thinking_budget: int | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.concurrency < 1:
            problems.append(f"concurrency must be >= 1 (got {self.concurrency})")
        if self.max_output_tokens < 1:
            problems.append(f"max_output_tokens must be >= 1 (got {self.max_output_tokens})")
        if self.request_timeout_seconds <= 0:
            problems.append(f"request_timeout_seconds must be > 0 (got {self.request_timeout_seconds})")
        if self.max_attempts < 1:
            problems.append(f"max_attempts must be >= 1 (got {self.max_attempts})")
        if self.backoff_base_seconds < 0 or self.backoff_cap_seconds < 0:
            problems.append("backoff_base_seconds and backoff_cap_seconds must be >= 0")
        if not 0.0 <= self.error_share_limit <= 1.0:
            problems.append(f"error_share_limit must lie in [0, 1] (got {self.error_share_limit})")
        if self.checkpoint_batch_size < 1:
            problems.append(f"checkpoint_batch_size must be >= 1 (got {self.checkpoint_batch_size})")
        if self.requests_per_minute is not None and self.requests_per_minute < 1:
            problems.append(f"requests_per_minute must be >= 1 or None (got {self.requests_per_minute})")
        if self.progress_interval_seconds <= 0:
            problems.append(f"progress_interval_seconds must be > 0 (got {self.progress_interval_seconds})")
        if problems:
            raise ValueError("Invalid EvaluationSettings: " + "; ".join(problems))


class EvaluationError(RuntimeError):
    """The evaluation could not produce a trustworthy result."""


class ErrorShareExceededError(EvaluationError):
    """Too many questions ended in an error; the checkpoint is saved and a re-run resumes from it."""


class ModelAccessError(EvaluationError):
    """The model answered 401/403/404: wrong model or endpoint name, or no permission to use it."""


# --------------------------------------------------------------------------- test questions
@dataclass(frozen=True)
class EvaluationQuestion:
    """One line of ``test.jsonl``; ``prompt_sha256`` ties a stored answer to the exact prompt sent."""

    id: str
    question: str
    prompt: str
    answers: tuple[str, ...]
    prompt_sha256: str


def prompt_hash(prompt: str) -> str:
    """SHA-256 (hex) of the prompt's UTF-8 bytes: a stored answer is reused only for the same prompt."""
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


def load_test_questions(test_uri: str) -> list[EvaluationQuestion]:
    """Read ``test.jsonl`` (``{"id", "title", "question", "prompt", "answers"}`` per line)."""
    questions: list[EvaluationQuestion] = []
    seen: set[str] = set()
    for line_number, line in enumerate(storage.iter_lines(test_uri), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            question_id = str(record["id"])
            prompt = record["prompt"]
            answers = tuple(str(answer) for answer in record["answers"])
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise ValueError(
                f"{test_uri} line {line_number} is not a test record with id, prompt and answers "
                f"({error!r}). Re-export the test split."
            ) from error
        if not isinstance(prompt, str) or not prompt:
            raise ValueError(f"{test_uri} line {line_number}: prompt must be a non-empty string")
        if question_id in seen:
            raise ValueError(f"{test_uri} line {line_number}: duplicate question id {question_id!r}")
        seen.add(question_id)
        questions.append(
            EvaluationQuestion(
                id=question_id,
                question=str(record.get("question", "")),
                prompt=prompt,
                answers=answers,
                prompt_sha256=prompt_hash(prompt),
            )
        )
    if not questions:
        raise ValueError(f"{test_uri} holds no test questions; check the export step.")
    return questions


def model_slug(model: str) -> str:
    """A short, path-safe folder name for a model identifier.

    ``projects/p/locations/l/endpoints/123`` -> ``endpoint-123``;
    ``projects/p/locations/l/models/9@2`` -> ``model-9-v2``;
    ``publishers/google/models/gemini-2.0-flash-001`` or ``gemini-2.0-flash-001`` -> ``gemini-2.0-flash-001``.
    """
    parts = [part for part in model.strip("/").split("/") if part]
    if len(parts) >= 2 and parts[-2] == "endpoints":
        raw = f"endpoint-{parts[-1]}"
    elif len(parts) >= 2 and parts[-2] == "models" and "publishers" not in parts and len(parts) > 2:
        raw = f"model-{parts[-1]}"
    else:
        raw = parts[-1] if parts else model
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", raw.replace("@", "-v")).strip("-.")
    if not slug:
        raise ValueError(f"Cannot derive a folder name from model identifier {model!r}")
    return slug


class _Pacer:
    """Spaces request starts: a fixed interval for a known quota, widened for a while after each 429.

    After a 429 every worker waits for the server's Retry-After, then requests restart one at a time
    with a spacing that doubles on each 429 and shrinks by 5 % per success, so a saturated quota sees
    a trickle rather than the whole pool at once.
    """

    def __init__(self, requests_per_minute: int | None, cap_seconds: float) -> None:
        self._base_interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self._interval = self._base_interval
        self._cap = max(cap_seconds, self._base_interval)
        self._next_start = 0.0
        self._resume_at = 0.0
        self._lock = asyncio.Lock()

    async def wait_turn(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                start = max(self._next_start, self._resume_at)
                if start <= now:
                    break
                await asyncio.sleep(start - now)
            self._next_start = now + self._interval

    def quota_exceeded(self, wait_seconds: float) -> None:
        now = time.monotonic()
        if now >= self._resume_at:
            # Widen once per pause: the other 429s of the same burst were already in flight. Without a
            # known quota the interval is 0, so doubling starts from 50 ms.
            self._interval = min(max(self._interval * 2.0, self._base_interval, 0.05), self._cap)
        self._resume_at = max(self._resume_at, now + wait_seconds)

    def succeeded(self) -> None:
        if self._interval > self._base_interval:
            self._interval = max(self._base_interval, self._interval * 0.95)
            if self._interval < 0.01:  # a 10 ms spacing no longer protects anything: back to the base
                self._interval = self._base_interval


# --------------------------------------------------------------------------- the run
@dataclass(frozen=True)
class CheckpointProgress:
    """Passed to the ``on_checkpoint`` callback after each checkpoint part is written."""

    part_uri: str
    answered: int
    errors: int
    total: int


@dataclass
class _RunCounters:
    requests: int = 0
    retries: int = 0
    errors: int = 0
    answered: int = 0
    started: float = field(default_factory=time.monotonic)


def _finish_reason_name(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


def _parse_response(response: Any) -> tuple[str, bool, str | None]:
    """(answer text, blocked?, finish reason) of a GenerateContentResponse, without SDK warnings."""
    candidates = getattr(response, "candidates", None) or []
    feedback = getattr(response, "prompt_feedback", None)
    prompt_blocked = getattr(feedback, "block_reason", None) is not None if feedback else False
    if not candidates:
        return "", prompt_blocked, None
    candidate = candidates[0]
    finish_reason = _finish_reason_name(getattr(candidate, "finish_reason", None))
    content = getattr(candidate, "content", None)
    parts = getattr(content, "parts", None) or []
    text = "".join(part.text for part in parts if getattr(part, "text", None) and not getattr(part, "thought", False))
    return text, prompt_blocked or finish_reason in _BLOCKING_FINISH_REASONS, finish_reason


def _usage(response: Any) -> dict[str, int | None]:
    usage = getattr(response, "usage_metadata", None)
    return {
        "prompt_tokens": getattr(usage, "prompt_token_count", None),
        "output_tokens": getattr(usage, "candidates_token_count", None),
        "total_tokens": getattr(usage, "total_token_count", None),
    }


class _PredictionRun:
    """One pass over the questions not yet answered: a pool of ``concurrency`` workers share a queue,
    each asks its question (with retries), buffers the record and writes a checkpoint part whenever
    ``checkpoint_batch_size`` records are buffered. ``results`` holds this pass's records by id.
    """

    def __init__(
        self,
        async_models: Any,
        model: str,
        questions: Sequence[EvaluationQuestion],
        pending: Sequence[EvaluationQuestion],
        checkpoint_prefix: str,
        next_part: int,
        settings: EvaluationSettings,
        on_checkpoint: Callable[[CheckpointProgress], None] | None,
        answered_before: int,
    ) -> None:
        self.models = async_models
        self.model = model
        self.total = len(questions)
        self.pending = pending
        self.checkpoint_prefix = checkpoint_prefix
        self.next_part = next_part
        self.settings = settings
        self.on_checkpoint = on_checkpoint
        self.answered_before = answered_before
        self.counters = _RunCounters()
        self.results: dict[str, dict[str, Any]] = {}
        self.buffer: list[dict[str, Any]] = []
        self.flush_lock = asyncio.Lock()
        self.pacer = _Pacer(settings.requests_per_minute, settings.backoff_cap_seconds)
        self.transient = transient_exception_types()
        self.random = random.Random()
        self.config = self._generation_config()

    def _generation_config(self) -> genai_types.GenerateContentConfig:
        from google.genai import types

        thinking = (
            types.ThinkingConfig(thinking_budget=self.settings.thinking_budget)
            if self.settings.thinking_budget is not None
            else None
        )
        return types.GenerateContentConfig(
            temperature=self.settings.temperature,
            max_output_tokens=self.settings.max_output_tokens,
            thinking_config=thinking,
            # No tools are offered, so the SDK's automatic function calling has nothing to do; switching
            # it off also spares the log one "AFC is enabled" line per question.
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
            # This runner retries (with pacing and Retry-After); SDK retries configured on the client
            # would run inside each of its attempts and multiply them (see the module docstring).
            http_options=types.HttpOptions(retry_options=types.HttpRetryOptions(attempts=1)),
        )

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(
            attempt, self.settings.backoff_base_seconds, self.settings.backoff_cap_seconds, self.random
        )

    async def answer(self, question: EvaluationQuestion) -> dict[str, Any]:
        """The checkpoint record of one question: ``status`` "ok" with the response, or "error" with the
        last problem after ``max_attempts``. Raises :class:`ModelAccessError` on 401/403/404."""
        from google.genai import errors as genai_errors

        record: dict[str, Any] = {"id": question.id, "prompt_sha256": question.prompt_sha256}
        last_problem = ""
        for attempt in range(1, self.settings.max_attempts + 1):
            await self.pacer.wait_turn()
            self.counters.requests += 1
            started = time.monotonic()
            try:
                response = await asyncio.wait_for(
                    self.models.generate_content(model=self.model, contents=question.prompt, config=self.config),
                    timeout=self.settings.request_timeout_seconds,
                )
            except genai_errors.APIError as error:
                code = status_code(error)
                last_problem = f"HTTP {code} {error.status or ''}: {error.message or error}".strip()
                if code in _FATAL_STATUS:
                    raise ModelAccessError(
                        f"Model {self.model!r} answered {last_problem}. Check the model or endpoint name, "
                        "the project and location, and that the caller may use it."
                    ) from error
                if not is_transient_status(code):
                    break  # a request the service will never accept (e.g. 400): record and move on
                server_wait = retry_after_seconds(error)
                if server_wait is None:
                    wait = self._backoff(attempt)
                else:
                    # a little jitter so that workers told the same instant do not return together
                    wait = server_wait + self.random.uniform(0, 0.1 * server_wait + 0.01)
                if code == 429:
                    self.pacer.quota_exceeded(min(wait, self.settings.backoff_cap_seconds))
            except self.transient as error:
                elapsed = time.monotonic() - started
                kind = "timed out" if isinstance(error, TimeoutError) else "failed"
                last_problem = f"request {kind} after {elapsed:.1f} s: {type(error).__name__} {error}".strip()
                wait = self._backoff(attempt)
            else:
                latency = time.monotonic() - started
                self.pacer.succeeded()
                text, blocked, finish_reason = _parse_response(response)
                record.update(
                    status="ok",
                    response=text,
                    blocked=blocked,
                    finish_reason=finish_reason,
                    error=None,
                    attempts=attempt,
                    latency_seconds=round(latency, 4),
                    **_usage(response),
                )
                return record
            if attempt < self.settings.max_attempts:
                self.counters.retries += 1
                await asyncio.sleep(min(wait, self.settings.backoff_cap_seconds))
        record.update(
            status="error",
            response=None,
            blocked=False,
            finish_reason=None,
            error=last_problem,
            attempts=attempt,
            latency_seconds=None,
            prompt_tokens=None,
            output_tokens=None,
            total_tokens=None,
        )
        return record

    async def flush(self) -> None:
        """Write the buffered records as the next checkpoint part (object stores cannot append)."""
        async with self.flush_lock:
            if not self.buffer:
                return
            batch, self.buffer = self.buffer, []
            part_uri = storage.join_uri(self.checkpoint_prefix, f"part-{self.next_part:06d}.jsonl")
            self.next_part += 1
            payload = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in batch)
            try:
                await asyncio.to_thread(storage.write_bytes, part_uri, payload.encode("utf-8"), "application/jsonl")
            except BaseException:
                # Paid-for answers stay buffered, so the final flush of the run can still save them.
                self.buffer[:0] = batch
                raise
            logger.debug("Checkpointed %d answers to %s", len(batch), part_uri)
        if self.on_checkpoint is not None:
            self.on_checkpoint(
                CheckpointProgress(
                    part_uri=part_uri,
                    answered=self.answered_before + self.counters.answered,
                    errors=self.counters.errors,
                    total=self.total,
                )
            )

    async def worker(self, queue: asyncio.Queue[EvaluationQuestion]) -> None:
        """Answer questions from ``queue`` until it is empty; stop the run when errors pass the limit."""
        while True:
            try:
                question = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            record = await self.answer(question)
            self.results[question.id] = record
            if record["status"] == "ok":
                self.counters.answered += 1
            else:
                self.counters.errors += 1
                logger.warning("Question %s failed for good: %s", question.id, record["error"])
            self.buffer.append(record)
            if len(self.buffer) >= self.settings.checkpoint_batch_size:
                await self.flush()
            # errors only grow: once over the limit, the final share will be too, so stop paying
            if self.error_share_exceeded():
                raise ErrorShareExceededError(self.error_share_message(stopped_early=True))

    def error_share_exceeded(self) -> bool:
        return self.counters.errors > self.settings.error_share_limit * self.total + 1e-9

    def error_share_message(self, stopped_early: bool) -> str:
        share = self.counters.errors / self.total
        where = "stopped early: " if stopped_early else ""
        return (
            f"Evaluation of {self.model!r} {where}{self.counters.errors} of {self.total} questions "
            f"({share:.1%}) failed (up to {self.settings.max_attempts} attempts each), above the error share "
            f"limit {self.settings.error_share_limit:.1%}. Answers so far are checkpointed under "
            f"{self.checkpoint_prefix}; fix the cause (quota, endpoint health, timeouts) and re-run: "
            "answered questions are not asked again."
        )

    def progress_line(self) -> str:
        elapsed = max(time.monotonic() - self.counters.started, 1e-9)
        finished_now = self.counters.answered + self.counters.errors
        done = self.answered_before + finished_now
        rate = finished_now / elapsed
        remaining = len(self.pending) - finished_now
        eta = f"{remaining / rate:.0f} s" if rate > 0 else "unknown"
        return (
            f"{self.model}: {done}/{self.total} done ({self.answered_before} from checkpoint), "
            f"{rate:.2f} questions/s, ETA {eta}, errors {self.counters.errors}, "
            f"retries {self.counters.retries}, requests {self.counters.requests}"
        )

    async def report_progress(self) -> None:
        while True:
            await asyncio.sleep(self.settings.progress_interval_seconds)
            logger.info("Progress %s", self.progress_line())

    async def run(self) -> None:
        """Answer every pending question; whatever happens, checkpoint what was answered."""
        queue: asyncio.Queue[EvaluationQuestion] = asyncio.Queue()
        for question in self.pending:
            queue.put_nowait(question)
        reporter = asyncio.create_task(self.report_progress())
        workers = [
            asyncio.create_task(self.worker(queue)) for _ in range(min(self.settings.concurrency, len(self.pending)))
        ]
        try:
            # The first failing worker (fatal error, error share, crash) ends the whole run.
            done, _ = await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()
        finally:
            for task in [*workers, reporter]:
                task.cancel()
            await asyncio.gather(*workers, reporter, return_exceptions=True)
            # Whatever was answered is paid for: keep it, even when the run is failing or cancelled.
            await asyncio.shield(self.flush())
        logger.info("Finished %s", self.progress_line())


def _read_checkpoint(checkpoint_prefix: str) -> tuple[dict[str, dict[str, Any]], int]:
    """Latest record per question id from all checkpoint parts, and the next free part number."""
    records: dict[str, dict[str, Any]] = {}
    numbered = []
    for uri in storage.list_uris(checkpoint_prefix + "/"):
        match = _PART_NAME.search(uri)
        if match:
            numbered.append((int(match.group(1)), uri))
    for _, uri in sorted(numbered):
        for line in storage.iter_lines(uri):
            if not line.strip():
                continue
            record = json.loads(line)
            previous = records.get(record["id"])
            # A success is final; a later error for the same id (should not happen) never replaces it.
            if previous is None or previous.get("status") != "ok" or record.get("status") == "ok":
                records[record["id"]] = record
    next_part = max((number for number, _ in numbered), default=0) + 1
    return records, next_part


def _async_models(client: Any) -> Any:
    """``client.aio.models`` for a ``genai.Client``, ``client.models`` for an ``AsyncClient``."""
    aio = getattr(client, "aio", None)
    return aio.models if aio is not None else client.models


async def predict_async(
    client: Any,
    model: str,
    test_uri: str,
    output_prefix_uri: str,
    settings: EvaluationSettings | None = None,
    *,
    slug: str | None = None,
    on_checkpoint: Callable[[CheckpointProgress], None] | None = None,
) -> dict[str, Any]:
    """Answer every question of ``test_uri`` with ``model``; write predictions and return the summary.

    ``client`` is a configured ``google.genai.Client`` (its ``.aio`` is used) or ``AsyncClient``.
    Outputs go to ``<output_prefix_uri>/<slug>/`` (``slug`` defaults to :func:`model_slug`).
    ``on_checkpoint`` is called after each checkpoint part is written (progress hooks, tests).

    Raises :class:`ErrorShareExceededError` when too many questions failed and
    :class:`ModelAccessError` when the model cannot be used; in both cases the answers obtained so far
    stay checkpointed and no ``predictions.jsonl`` is written.
    """
    settings = settings or EvaluationSettings()
    folder = storage.join_uri(output_prefix_uri, slug or model_slug(model))
    checkpoint_prefix = storage.join_uri(folder, CHECKPOINT_FOLDER)
    questions = await asyncio.to_thread(load_test_questions, test_uri)
    checkpoint, next_part = await asyncio.to_thread(_read_checkpoint, checkpoint_prefix)

    answered: dict[str, dict[str, Any]] = {}
    for question in questions:
        stored = checkpoint.get(question.id)
        if stored and stored.get("status") == "ok" and stored.get("prompt_sha256") == question.prompt_sha256:
            answered[question.id] = stored
    pending = [question for question in questions if question.id not in answered]
    logger.info(
        "Evaluating %s on %d questions from %s: %d already answered in the checkpoint, %d to ask (concurrency %d, %s)",
        model,
        len(questions),
        test_uri,
        len(answered),
        len(pending),
        settings.concurrency,
        f"paced to {settings.requests_per_minute} requests/min" if settings.requests_per_minute else "unpaced",
    )

    run = _PredictionRun(
        _async_models(client),
        model,
        questions,
        pending,
        checkpoint_prefix,
        next_part,
        settings,
        on_checkpoint,
        answered_before=len(answered),
    )
    if pending:
        await run.run()
    if run.error_share_exceeded():
        raise ErrorShareExceededError(run.error_share_message(stopped_early=False))

    records = []
    for question in sorted(questions, key=lambda q: q.id):
        stored = answered.get(question.id) or run.results[question.id]
        records.append(_prediction_line(model, question, stored))
    summary = summarize_predictions(records)
    predictions_uri = storage.join_uri(folder, PREDICTIONS_FILE)
    summary_uri = storage.join_uri(folder, SUMMARY_FILE)
    summary.update(
        model=model,
        model_slug=slug or model_slug(model),
        test_uri=test_uri,
        predictions_uri=predictions_uri,
        summary_uri=summary_uri,
        checkpoint_prefix_uri=checkpoint_prefix,
        resumed_from_checkpoint=len(answered),
        requests_sent=run.counters.requests,
        retries=run.counters.retries,
        elapsed_seconds=round(time.monotonic() - run.counters.started, 3),
    )
    payload = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in records)
    await asyncio.to_thread(storage.write_if_changed, predictions_uri, payload.encode("utf-8"), "application/jsonl")
    await asyncio.to_thread(
        storage.write_bytes, summary_uri, json.dumps(summary, indent=2).encode("utf-8"), "application/json"
    )
    logger.info(
        "%s: EM %.2f, F1 %.2f over %d questions (%d errors, %d empty); predictions at %s",
        model,
        summary["exact_match"],
        summary["f1"],
        summary["questions"],
        summary["errors"],
        summary["empty"],
        predictions_uri,
    )
    return summary


def run_predictions(
    client: Any,
    model: str,
    test_uri: str,
    output_prefix_uri: str,
    settings: EvaluationSettings | None = None,
    *,
    slug: str | None = None,
    on_checkpoint: Callable[[CheckpointProgress], None] | None = None,
) -> dict[str, Any]:
    """Blocking form of :func:`predict_async` for a worker task: runs its own event loop.

    The async HTTP session google-genai opened on that loop is closed at the end
    (``client.aio.aclose()``); the client stays usable and opens a new session when needed.
    """

    async def _run() -> dict[str, Any]:
        try:
            return await predict_async(
                client, model, test_uri, output_prefix_uri, settings, slug=slug, on_checkpoint=on_checkpoint
            )
        finally:
            aio = getattr(client, "aio", client)
            close = getattr(aio, "aclose", None)
            if close is not None:
                await close()

    return asyncio.run(_run())


# --------------------------------------------------------------------------- scoring and reports
def _prediction_line(model: str, question: EvaluationQuestion, stored: Mapping[str, Any]) -> dict[str, Any]:
    ok = stored.get("status") == "ok"
    response = stored.get("response") if ok else None
    blocked = bool(stored.get("blocked"))
    score = score_question(None if blocked or response is None else response, question.answers)
    return {
        "id": question.id,
        "model": model,
        "prompt_sha256": question.prompt_sha256,
        "status": "ok" if ok else "error",
        "response": response,
        "normalized_response": normalize_answer(response) if response is not None else None,
        "exact_match": score.exact_match,
        "f1": score.f1,
        "blocked": blocked,
        "finish_reason": stored.get("finish_reason"),
        "error": stored.get("error"),
        "attempts": stored.get("attempts"),
        "latency_seconds": stored.get("latency_seconds"),
        "prompt_tokens": stored.get("prompt_tokens"),
        "output_tokens": stored.get("output_tokens"),
        "total_tokens": stored.get("total_tokens"),
        "answers": list(question.answers),
    }


def summarize_predictions(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Scores and response statistics of one model's prediction lines (JSON-safe, for XCom)."""
    scores = aggregate_scores(QuestionScore(r["exact_match"], r["f1"]) for r in records)
    statistics = response_statistics(
        [r["response"] if r["status"] == "ok" else None for r in records],
        errors=sum(1 for r in records if r["status"] != "ok"),
        blocked=sum(1 for r in records if r.get("blocked")),
        latencies_seconds=[r["latency_seconds"] for r in records if r.get("latency_seconds") is not None],
        prompt_tokens=sum(r.get("prompt_tokens") or 0 for r in records),
        output_tokens=sum(r.get("output_tokens") or 0 for r in records),
        total_tokens=sum(r.get("total_tokens") or 0 for r in records),
    )
    summary: dict[str, Any] = {"exact_match": round(scores.exact_match, 4), "f1": round(scores.f1, 4)}
    summary.update(statistics.as_dict())
    summary["error_share"] = round(statistics.errors / statistics.questions, 6) if statistics.questions else 0.0
    for key in ("mean_answer_tokens", "latency_mean_seconds", "latency_p50_seconds", "latency_p95_seconds"):
        if summary[key] is not None:
            summary[key] = round(summary[key], 4)
    return summary


def read_predictions(predictions_uri: str) -> list[dict[str, Any]]:
    """The lines of a ``predictions.jsonl`` written by the runner."""
    return [json.loads(line) for line in storage.iter_lines(predictions_uri) if line.strip()]


def _question_set_fingerprint(records: Iterable[Mapping[str, Any]]) -> str:
    digest = hashlib.sha256()
    for record in sorted(records, key=lambda r: r["id"]):
        digest.update(f"{record['id']}\t{record['prompt_sha256']}\n".encode())
    return digest.hexdigest()


def write_metrics_report(
    output_uri: str,
    *,
    base_predictions_uri: str,
    tuned_predictions_uri: str,
    champion_predictions_uri: str | None = None,
    resamples: int = 2000,
    seed: int = 0,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``metrics.json``: per-model scores and statistics plus paired comparisons.

    Comparisons are ``tuned_vs_base`` and, when a champion file is given, ``tuned_vs_champion``
    (differences are tuned minus the other, in points, with a seeded bootstrap 95 % interval). All
    files must cover the same questions with the same prompts. ``context`` (e.g. fingerprint, run id)
    is stored as is. Returns the report dict.
    """
    uris = {"base": base_predictions_uri, "tuned": tuned_predictions_uri}
    if champion_predictions_uri:
        uris["champion"] = champion_predictions_uri
    predictions = {role: read_predictions(uri) for role, uri in uris.items()}

    fingerprints = {role: _question_set_fingerprint(records) for role, records in predictions.items()}
    if len(set(fingerprints.values())) != 1:
        sizes = {role: len(records) for role, records in predictions.items()}
        raise ValueError(
            f"Prediction files cover different questions or prompts ({sizes}); evaluate every model on "
            f"the same test.jsonl before comparing: {uris}"
        )

    models: dict[str, Any] = {}
    per_question: dict[str, dict[str, QuestionScore]] = {}
    for role, records in predictions.items():
        models[role] = {
            "model": records[0].get("model") if records else None,
            "predictions_uri": uris[role],
            **summarize_predictions(records),
        }
        per_question[role] = {r["id"]: QuestionScore(r["exact_match"], r["f1"]) for r in records}

    comparisons = {
        f"tuned_vs_{other}": compare_paired(
            per_question["tuned"], per_question[other], resamples=resamples, seed=seed, confidence=BOOTSTRAP_CONFIDENCE
        ).as_dict()
        for other in ("base", "champion")
        if other in per_question
    }
    report: dict[str, Any] = {
        "schema_version": METRICS_SCHEMA_VERSION,
        "metric_definition": "SQuAD v1.1 exact match and token F1 (max over references, mean x 100)",
        "questions": len(predictions["tuned"]),
        "question_set_sha256": fingerprints["tuned"],
        "models": models,
        "comparisons": comparisons,
        "bootstrap": {"resamples": resamples, "seed": seed, "confidence": BOOTSTRAP_CONFIDENCE},
        "context": dict(context or {}),
    }
    storage.write_bytes(output_uri, json.dumps(report, indent=2, sort_keys=True).encode("utf-8"), "application/json")
    logger.info(
        "Metrics written to %s: %s",
        output_uri,
        ", ".join(f"{role} EM {m['exact_match']:.2f} F1 {m['f1']:.2f}" for role, m in models.items()),
    )
    return report


def report_summary(report: Mapping[str, Any]) -> dict[str, Any]:
    """The few numbers of a metrics report worth passing through XCom."""
    summary: dict[str, Any] = {"questions": report["questions"]}
    for role, values in report["models"].items():
        summary[f"{role}_exact_match"] = values["exact_match"]
        summary[f"{role}_f1"] = values["f1"]
    for name, comparison in report["comparisons"].items():
        for measure in ("exact_match", "f1"):
            for suffix in ("diff", "ci_low", "ci_high"):
                summary[f"{name}_{measure}_{suffix}"] = comparison[f"{measure}_{suffix}"]
    return summary
