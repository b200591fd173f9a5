"""Ask a Gemini model every test question, resumably, and score the answers (SQuAD EM/F1).

The runner sends the prompts of ``test.jsonl`` (already rendered with the export's prompt template) to
one model — a publisher model name such as ``gemini-2.0-flash-001`` or a tuned endpoint resource name
``projects/…/locations/…/endpoints/N`` — through ``google-genai``'s async client:

* a rate and a concurrency found from the 429s alone (:mod:`.adaptive_limit`, applied by
  :mod:`.pacing`): no quota needs to be known; ``concurrency`` caps the requests in flight and a known
  ``requests_per_minute`` caps the rate. Deterministic generation settings (temperature 0, a
  max-output-tokens cap);
* a per-request timeout; retries with exponential backoff and jitter on 408 and 5xx responses,
  timeouts and connection errors (``max_attempts``). A 429 is the quota speaking, not a fault: it lowers
  the shared rate and the question is asked again at that rate, for up to ``quota_patience_seconds``;
  the server's ``Retry-After`` header (or Google's ``RetryInfo`` detail), when present, pauses everyone;
* a checkpoint in object storage (:mod:`.checkpoint`): each answer is saved before its worker asks the
  next question, so a kill loses at most ``concurrency`` paid answers; a re-run or retried task never
  asks a successfully answered question again; questions whose request failed for good are asked again;
* a graceful stop (:mod:`.interruption`): on a stop request (SIGTERM from Airflow, with
  ``graceful_stop_signals``) no new question is asked, the requests in flight get
  ``stop_grace_seconds`` to answer, everything in hand is saved and :class:`EvaluationInterrupted` raised;
* a request that still fails after all retries is recorded as an error and scored as wrong, so one bad
  question does not sink the run — unless errors exceed ``error_share_limit`` of the questions, which
  raises :class:`ErrorShareExceededError` after the checkpoint is written, so a re-run resumes;
* thinking (:mod:`.thinking`): the settings' :class:`~.thinking.ThinkingChoice` becomes the request's
  ``thinkingConfig``, and ``maxOutputTokens`` is the answer cap plus the tokens it reserves for thoughts.
  Answers that come back empty or cut off at the cap (``MAX_TOKENS``) are counted; above
  ``empty_share_limit`` of the questions the run raises :class:`EmptyAnswerShareExceededError` (after
  writing the checkpoint) instead of scoring them: no retry fixes a cap that is too small, a larger cap
  or less thinking does. Such answers are asked again by the next run.

At the end it writes ``<output>/<model_slug>/predictions.jsonl`` (one line per question, sorted by id)
and ``summary.json``, and returns a :class:`PredictionRun` (its JSON form is small enough for XCom).
:func:`~gemini_qa_tuning.evaluation.report.write_metrics_report` then combines the prediction files of
base, tuned and champion models into ``metrics.json``.

The caller builds the ``google.genai.Client`` (credentials, base URL). Whatever retry options that
client has, each request of the runner carries ``HttpRetryOptions(attempts=1)``: the runner is the only
retry layer, so SDK retries neither multiply the attempts nor hide 429s and Retry-After from the pacing,
and the per-request timeout bounds one attempt. No Airflow import here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

from gemini_qa_tuning import storage
from gemini_qa_tuning.api_errors import (
    backoff_delay,
    is_transient_status,
    retry_after_seconds,
    status_code,
    transient_exception_types,
)
from gemini_qa_tuning.evaluation.adaptive_limit import RateLimitSettings
from gemini_qa_tuning.evaluation.checkpoint import (
    CHECKPOINT_FOLDER,
    AnswerRecord,
    CheckpointProgress,
    CheckpointWriter,
    StoredCheckpoint,
    load_checkpoint,
    reusable_answers,
)
from gemini_qa_tuning.evaluation.interruption import StopRequest, stop_on_signals
from gemini_qa_tuning.evaluation.pacing import AttemptOutcome, RequestPacer
from gemini_qa_tuning.evaluation.predictions import ModelScores, score_answer, summarize_predictions
from gemini_qa_tuning.evaluation.questions import EvaluationQuestion, load_test_questions
from gemini_qa_tuning.evaluation.thinking import ThinkingChoice
from gemini_qa_tuning.json_types import JsonObject, read_float, read_int, read_optional_int, read_optional_str, read_str

if TYPE_CHECKING:
    from google.genai import types as genai_types

__all__ = [
    "PREDICTIONS_FILE",
    "SUMMARY_FILE",
    "EmptyAnswerShareExceededError",
    "ErrorShareExceededError",
    "EvaluationError",
    "EvaluationInterrupted",
    "EvaluationSettings",
    "ModelAccessError",
    "PredictionRun",
    "answer_from_response",
    "empty_share_message",
    "model_slug",
    "predict_async",
    "run_predictions",
]

logger = logging.getLogger(__name__)

PREDICTIONS_FILE = "predictions.jsonl"
SUMMARY_FILE = "summary.json"

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
    ``error_share_limit``, ``empty_share_limit``, ``requests_per_minute`` and ``thinking`` from its
    Params; the rest keep these defaults.

    ``concurrency``: the most requests in flight (the adaptive limit may use fewer); also the most paid
    answers a kill can lose.
    ``requests_per_minute``: a ceiling on the request rate (a quota the user knows); ``None``: the rate
    is found from the 429s alone (:mod:`.adaptive_limit`).
    ``quota_period_seconds``: the period the quota counts requests over (Vertex: per minute); the rate
    controller never goes below what the quota admitted over the last period.
    ``quota_patience_seconds``: how long one question may keep being rejected with 429 before it is
    recorded as an error (429s do not count against ``max_attempts``).
    ``backoff_base_seconds``/``backoff_cap_seconds``: attempt n waits about base·2^(n-1) (half of it
    random jitter), at most the cap; a server's Retry-After replaces that wait, also up to the cap.
    ``stop_grace_seconds``: after a stop request, how long requests in flight may still answer (Airflow
    sends SIGKILL 5 s after SIGTERM).
    ``error_share_limit``: the largest share (0..1) of questions allowed to end in an error.
    ``max_output_tokens``: the cap of the answer itself; the request's ``maxOutputTokens`` adds the
    tokens ``thinking`` reserves for thoughts (:meth:`output_cap`).
    ``thinking``: the thinking configuration sent (:func:`~.thinking.thinking_for_model` chooses it per
    model from the catalog); ``None`` sends none, leaving the model's default (which may think).
    ``empty_share_limit``: the largest share (0..1) of questions whose answer may come back empty or cut
    off at the cap (``MAX_TOKENS``) before the evaluation fails.
    """

    concurrency: int = 8
    max_output_tokens: int = 64
    temperature: float = 0.0
    request_timeout_seconds: float = 60.0
    max_attempts: int = 6
    backoff_base_seconds: float = 1.0
    backoff_cap_seconds: float = 60.0
    error_share_limit: float = 0.02
    requests_per_minute: int | None = None
    quota_period_seconds: float = 60.0
    quota_patience_seconds: float = 900.0
    stop_grace_seconds: float = 3.0
    progress_interval_seconds: float = 30.0
    thinking: ThinkingChoice | None = None
    empty_share_limit: float = 0.05

    @property
    def output_cap(self) -> int:
        """``maxOutputTokens`` of each request: the answer cap plus the thinking reserve."""
        return self.thinking.output_cap(self.max_output_tokens) if self.thinking else self.max_output_tokens

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
        if not 0.0 <= self.empty_share_limit <= 1.0:
            problems.append(f"empty_share_limit must lie in [0, 1] (got {self.empty_share_limit})")
        if self.quota_period_seconds <= 0 or self.quota_patience_seconds < 0 or self.stop_grace_seconds < 0:
            problems.append(
                "quota_period_seconds must be > 0, quota_patience_seconds and stop_grace_seconds >= 0 "
                f"(got {self.quota_period_seconds}, {self.quota_patience_seconds}, {self.stop_grace_seconds})"
            )
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


class EmptyAnswerShareExceededError(EvaluationError):
    """Too many answers came back empty or cut off at the output cap: the cap does not cover the answer
    plus the model's thoughts. A retry with the same settings gets the same; the message says what to change."""


class EvaluationInterrupted(EvaluationError):
    """A stop was requested (e.g. SIGTERM): every answer in hand is checkpointed; a re-run resumes."""


class ModelAccessError(EvaluationError):
    """The model answered 401/403/404: wrong model or endpoint name, or no permission to use it."""


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


# --------------------------------------------------------------------------- the result
@dataclass(frozen=True)
class PredictionRun:
    """One model's finished evaluation: where its files are, how the run went, and its scores.

    ``model_slug`` names the model's output folder (in the pipeline it is the role: base, tuned or
    champion). ``resumed_from_checkpoint`` answers were reused from an earlier attempt; ``requests_sent``
    and ``retries`` count this attempt's requests only. ``thinking`` is the thinking configuration sent
    (``None``: none) and ``max_output_tokens`` the ``maxOutputTokens`` of each request (both absent
    from records of older versions: ``None``). The JSON form (``summary.json``, XCom) is flat: the
    scores' keys next to the run's own.
    """

    model: str
    model_slug: str
    test_uri: str
    predictions_uri: str
    summary_uri: str
    checkpoint_prefix_uri: str
    resumed_from_checkpoint: int
    requests_sent: int
    retries: int
    elapsed_seconds: float
    scores: ModelScores
    thinking: ThinkingChoice | None = None
    max_output_tokens: int | None = None

    def to_json(self) -> JsonObject:
        return {
            **self.scores.to_json(),
            "model": self.model,
            "model_slug": self.model_slug,
            "test_uri": self.test_uri,
            "predictions_uri": self.predictions_uri,
            "summary_uri": self.summary_uri,
            "checkpoint_prefix_uri": self.checkpoint_prefix_uri,
            "resumed_from_checkpoint": self.resumed_from_checkpoint,
            "requests_sent": self.requests_sent,
            "retries": self.retries,
            "elapsed_seconds": self.elapsed_seconds,
            "thinking": self.thinking.to_json() if self.thinking is not None else None,
            "max_output_tokens": self.max_output_tokens,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "prediction run"
        return cls(
            model=read_str(data, "model", where),
            model_slug=read_str(data, "model_slug", where),
            test_uri=read_str(data, "test_uri", where),
            predictions_uri=read_str(data, "predictions_uri", where),
            summary_uri=read_str(data, "summary_uri", where),
            checkpoint_prefix_uri=read_str(data, "checkpoint_prefix_uri", where),
            resumed_from_checkpoint=read_int(data, "resumed_from_checkpoint", where),
            requests_sent=read_int(data, "requests_sent", where),
            retries=read_int(data, "retries", where),
            elapsed_seconds=read_float(data, "elapsed_seconds", where),
            scores=ModelScores.from_json(data),
            thinking=_thinking_from_json(data.get("thinking"), where),
            max_output_tokens=read_optional_int(data, "max_output_tokens", where),
        )


def _thinking_from_json(value: object, where: str) -> ThinkingChoice | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: 'thinking' must be an object or null, not {value!r}")
    return ThinkingChoice(
        level=read_optional_str(value, "level", f"{where} thinking"),
        budget=read_optional_int(value, "budget", f"{where} thinking"),
        reserved_tokens=read_int(value, "reserved_tokens", f"{where} thinking"),
        reason=read_str(value, "reason", f"{where} thinking"),
    )


# --------------------------------------------------------------------------- one request
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


def _token_count(usage: Any, name: str) -> int | None:
    value = getattr(usage, name, None)
    return value if isinstance(value, int) else None


def answer_from_response(
    question: EvaluationQuestion, response: Any, *, attempts: int, latency_seconds: float | None
) -> AnswerRecord:
    """The answer a GenerateContentResponse gives ``question``: its text (thoughts left out), whether it was
    blocked, and its token counts. One reading for online answers and batch output lines alike."""
    text, blocked, finish_reason = _parse_response(response)
    usage = getattr(response, "usage_metadata", None)
    return AnswerRecord(
        id=question.id,
        prompt_sha256=question.prompt_sha256,
        status="ok",
        response=text,
        blocked=blocked,
        finish_reason=finish_reason,
        error=None,
        attempts=attempts,
        latency_seconds=latency_seconds,
        prompt_tokens=_token_count(usage, "prompt_token_count"),
        output_tokens=_token_count(usage, "candidates_token_count"),
        total_tokens=_token_count(usage, "total_token_count"),
        thinking_tokens=_token_count(usage, "thoughts_token_count"),
    )


# --------------------------------------------------------------------------- the run
@dataclass
class _RunCounters:
    requests: int = 0
    retries: int = 0
    quota_rejections: int = 0
    errors: int = 0
    answered: int = 0
    started: float = field(default_factory=time.monotonic)


class _StopAsking(Exception):
    """A stop was requested before this question's next attempt."""


class _PredictionEngine:
    """One pass over the questions not yet answered: a pool of ``concurrency`` workers share a queue,
    each asks its question (with retries) and hands the record to the checkpoint writer. ``results``
    holds this pass's records by id.
    """

    def __init__(
        self,
        async_models: Any,
        model: str,
        questions: Sequence[EvaluationQuestion],
        pending: Sequence[EvaluationQuestion],
        checkpoint_prefix: str,
        stored: StoredCheckpoint,
        settings: EvaluationSettings,
        on_checkpoint: Callable[[CheckpointProgress], None] | None,
        answered_before: int,
        stop: StopRequest | None = None,
    ) -> None:
        self.models = async_models
        self.model = model
        self.total = len(questions)
        self.pending = pending
        self.checkpoint_prefix = checkpoint_prefix
        self.settings = settings
        self.answered_before = answered_before
        self.counters = _RunCounters()
        self.results: dict[str, AnswerRecord] = {}
        self.stored = stored
        self.stop = stop or StopRequest()
        self.checkpoint = CheckpointWriter(
            checkpoint_prefix, stored.next_part, on_checkpoint, self._checkpoint_progress
        )
        self.pacer = RequestPacer(
            settings.concurrency,
            settings.requests_per_minute,
            limit_settings=RateLimitSettings(quota_period_seconds=settings.quota_period_seconds),
        )
        self.transient = transient_exception_types()
        self.random = random.Random()
        self.config = self._generation_config()

    def _checkpoint_progress(self, part_uri: str) -> CheckpointProgress:
        return CheckpointProgress(
            part_uri=part_uri,
            answered=self.answered_before + self.counters.answered,
            errors=self.counters.errors,
            total=self.total,
        )

    def _generation_config(self) -> genai_types.GenerateContentConfig:
        from google.genai import types

        choice = self.settings.thinking
        thinking = None
        if choice is not None and choice.level is not None:
            thinking = types.ThinkingConfig(thinking_level=types.ThinkingLevel(choice.level))
        elif choice is not None and choice.budget is not None:
            thinking = types.ThinkingConfig(thinking_budget=choice.budget)
        return types.GenerateContentConfig(
            temperature=self.settings.temperature,
            max_output_tokens=self.settings.output_cap,
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

    async def answer(self, question: EvaluationQuestion) -> AnswerRecord:
        """The checkpoint record of one question: ``status`` "ok" with the response, or "error" with the
        last problem after ``max_attempts``. Raises :class:`ModelAccessError` on 401/403/404."""
        from google.genai import errors as genai_errors

        last_problem = ""
        attempt = 0  # attempts so far; 429s are not faults and do not count against max_attempts
        faults = 0
        rejected_since: float | None = None  # start of the current run of 429s
        while True:
            if self.stop.requested:
                raise _StopAsking
            await self.pacer.acquire()
            attempt += 1
            self.counters.requests += 1
            started = time.monotonic()
            outcome: AttemptOutcome = "other"
            server_wait: float | None = None
            try:
                response = await asyncio.wait_for(
                    self.models.generate_content(model=self.model, contents=question.prompt, config=self.config),
                    timeout=self.settings.request_timeout_seconds,
                )
                outcome = "ok"
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
                if code == 429:
                    outcome = "quota"
                    self.counters.quota_rejections += 1
                    rejected_since = started if rejected_since is None else rejected_since
                    if time.monotonic() - rejected_since >= self.settings.quota_patience_seconds:
                        last_problem += (
                            f" (rejected by the quota for {time.monotonic() - rejected_since:.0f} s, "
                            f"longer than quota_patience_seconds {self.settings.quota_patience_seconds:g})"
                        )
                        break
                    # the pacer spaces the retry at the lowered rate (and waits for a Retry-After)
                    wait = 0.0
                else:
                    faults += 1
                    rejected_since = None
                    if server_wait is None:
                        wait = self._backoff(faults)
                    else:
                        # a little jitter so that workers told the same instant do not return together
                        wait = server_wait + self.random.uniform(0, 0.1 * server_wait + 0.01)
            except self.transient as error:
                elapsed = time.monotonic() - started
                kind = "timed out" if isinstance(error, TimeoutError) else "failed"
                last_problem = f"request {kind} after {elapsed:.1f} s: {type(error).__name__} {error}".strip()
                faults += 1
                rejected_since = None
                wait = self._backoff(faults)
            else:
                latency = time.monotonic() - started
                return answer_from_response(question, response, attempts=attempt, latency_seconds=round(latency, 4))
            finally:
                quota_wait = server_wait if outcome == "quota" else None
                retry_after = min(quota_wait, self.settings.backoff_cap_seconds) if quota_wait else None
                await asyncio.shield(self.pacer.release(outcome, time.monotonic() - started, retry_after))
            if faults >= self.settings.max_attempts:
                break
            self.counters.retries += 1
            if wait > 0:
                await asyncio.sleep(min(wait, self.settings.backoff_cap_seconds))
        return AnswerRecord.failed(question, last_problem, attempt)

    async def worker(self, queue: asyncio.Queue[EvaluationQuestion]) -> None:
        """Answer questions from ``queue`` until it is empty; stop the run when errors pass the limit."""
        while not self.stop.requested:
            try:
                question = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            try:
                record = await self.answer(question)
            except _StopAsking:
                return
            self.results[question.id] = record
            if record.ok:
                self.counters.answered += 1
            else:
                self.counters.errors += 1
                logger.warning("Question %s failed for good: %s", question.id, record.error)
            # Saved before the next question is asked: a kill loses at most one answer per worker.
            await self.checkpoint.save(record)
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
        """Answer every pending question; whatever happens, checkpoint what was answered.

        Raises :class:`EvaluationInterrupted` after a stop request, once the answers in hand are saved.
        """
        queue: asyncio.Queue[EvaluationQuestion] = asyncio.Queue()
        for question in self.pending:
            queue.put_nowait(question)
        reporter = asyncio.create_task(self.report_progress())
        workers = [
            asyncio.create_task(self.worker(queue)) for _ in range(min(self.settings.concurrency, len(self.pending)))
        ]
        stopped = asyncio.create_task(self.stop.wait())
        try:
            running = set(workers)
            while running and not stopped.done():
                done, running = await asyncio.wait([*running, stopped], return_when=asyncio.FIRST_COMPLETED)
                running.discard(stopped)
                # The first failing worker (fatal error, error share, crash) ends the whole run.
                for task in done:
                    if task is not stopped:
                        task.result()
            if self.stop.requested:
                await self._drain(workers)
                for task in workers:
                    if task.done() and not task.cancelled():
                        task.result()
        finally:
            for task in [*workers, reporter, stopped]:
                task.cancel()
            await asyncio.gather(*workers, reporter, stopped, return_exceptions=True)
            # Whatever was answered is paid for: keep it, even when the run is failing or cancelled.
            await asyncio.shield(self.checkpoint.flush())
            await asyncio.shield(self._compact())
        logger.info("Finished %s", self.progress_line())
        if self.stop.requested:
            raise EvaluationInterrupted(
                f"Evaluation of {self.model!r} stopped ({self.stop.reason or 'stop requested'}) after "
                f"{self.counters.answered + self.counters.errors} of {len(self.pending)} questions; every answer "
                f"received is checkpointed under {self.checkpoint_prefix}, a re-run asks only the others."
            )

    async def _drain(self, workers: Sequence[asyncio.Task[None]]) -> None:
        """After a stop request: let requests in flight answer (and be saved) for the grace period."""
        pending = [task for task in workers if not task.done()]
        logger.warning(
            "%s: stop requested (%s); waiting up to %.1f s for %d requests in flight, then saving the answers",
            self.model,
            self.stop.reason,
            self.settings.stop_grace_seconds,
            self.pacer.in_flight,
        )
        if pending:
            await asyncio.wait(pending, timeout=self.settings.stop_grace_seconds)

    async def _compact(self) -> None:
        try:
            await self.checkpoint.compact(self.stored)
        except Exception as error:  # the parts stay as they are, which is just as readable
            logger.warning("Could not merge the checkpoint parts under %s: %s", self.checkpoint_prefix, error)


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
    stop: StopRequest | None = None,
) -> PredictionRun:
    """Answer every question of ``test_uri`` with ``model``; write predictions and return the run's record.

    ``client`` is a configured ``google.genai.Client`` (its ``.aio`` is used) or ``AsyncClient``.
    Outputs go to ``<output_prefix_uri>/<slug>/`` (``slug`` defaults to :func:`model_slug`).
    ``on_checkpoint`` is called after each checkpoint part is written (progress hooks, tests).
    ``stop``: a :class:`~.interruption.StopRequest` that ends the run gracefully (:class:`EvaluationInterrupted`).

    Raises :class:`ErrorShareExceededError` when too many questions failed and
    :class:`ModelAccessError` when the model cannot be used; in both cases the answers obtained so far
    stay checkpointed and no ``predictions.jsonl`` is written.
    """
    settings = settings or EvaluationSettings()
    folder_name = slug or model_slug(model)
    folder = storage.join_uri(output_prefix_uri, folder_name)
    checkpoint_prefix = storage.join_uri(folder, CHECKPOINT_FOLDER)
    questions = await asyncio.to_thread(load_test_questions, test_uri)
    stored = await asyncio.to_thread(load_checkpoint, checkpoint_prefix)

    answered = reusable_answers(questions, stored.records)
    pending = [question for question in questions if question.id not in answered]
    logger.info(
        "Evaluating %s on %d questions from %s: %d already answered in the checkpoint, %d to ask "
        "(concurrency up to %d, %s); "
        "maxOutputTokens %d with %s",
        model,
        len(questions),
        test_uri,
        len(answered),
        len(pending),
        settings.concurrency,
        f"at most {settings.requests_per_minute} requests/min"
        if settings.requests_per_minute
        else "rate found from the 429s",
        settings.output_cap,
        settings.thinking.describe() if settings.thinking else "no thinking configuration (the model's default)",
    )

    engine = _PredictionEngine(
        _async_models(client),
        model,
        questions,
        pending,
        checkpoint_prefix,
        stored,
        settings,
        on_checkpoint,
        answered_before=len(answered),
        stop=stop,
    )
    if pending:
        await engine.run()
    if engine.error_share_exceeded():
        raise ErrorShareExceededError(engine.error_share_message(stopped_early=False))

    lines = [
        score_answer(model, question, answered.get(question.id) or engine.results[question.id])
        for question in sorted(questions, key=lambda q: q.id)
    ]
    scores = summarize_predictions(lines)
    if scores.empty_or_truncated > settings.empty_share_limit * scores.questions + 1e-9:
        raise EmptyAnswerShareExceededError(empty_share_message(model, scores, settings, checkpoint_prefix))
    run = PredictionRun(
        model=model,
        model_slug=folder_name,
        test_uri=test_uri,
        predictions_uri=storage.join_uri(folder, PREDICTIONS_FILE),
        summary_uri=storage.join_uri(folder, SUMMARY_FILE),
        checkpoint_prefix_uri=checkpoint_prefix,
        resumed_from_checkpoint=len(answered),
        requests_sent=engine.counters.requests,
        retries=engine.counters.retries,
        elapsed_seconds=round(time.monotonic() - engine.counters.started, 3),
        scores=scores,
        thinking=settings.thinking,
        max_output_tokens=settings.output_cap,
    )
    payload = "".join(json.dumps(line.to_json(), ensure_ascii=False) + "\n" for line in lines)
    await asyncio.to_thread(storage.write_if_changed, run.predictions_uri, payload.encode("utf-8"), "application/jsonl")
    await asyncio.to_thread(
        storage.write_bytes, run.summary_uri, json.dumps(run.to_json(), indent=2).encode("utf-8"), "application/json"
    )
    logger.info(
        "%s: EM %.2f, F1 %.2f over %d questions (%d errors, %d empty, %d cut off at MAX_TOKENS, %d thinking tokens, "
        "%.1f per answer); predictions at %s",
        model,
        run.scores.exact_match,
        run.scores.f1,
        run.scores.questions,
        run.scores.errors,
        run.scores.empty,
        run.scores.max_tokens_finishes,
        run.scores.thinking_tokens,
        run.scores.mean_thinking_tokens,
        run.predictions_uri,
    )
    return run


def empty_share_message(model: str, scores: ModelScores, settings: EvaluationSettings, checkpoint_prefix: str) -> str:
    """Why too many empty or cut-off answers stop an evaluation, and what to change (online and batch)."""
    thinking = settings.thinking.describe() if settings.thinking else "no thinking configuration (the model's default)"
    return (
        f"Evaluation of {model!r}: {scores.empty_or_truncated} of {scores.questions} answers "
        f"({scores.empty_or_truncated_share:.1%}) came back empty or cut off at the output cap "
        f"({scores.max_tokens_finishes} with finishReason MAX_TOKENS), above the limit of "
        f"{settings.empty_share_limit:.1%}; scoring them would measure the cap, not the model. The requests "
        f"had maxOutputTokens {settings.output_cap} (answer cap {settings.max_output_tokens}) with {thinking}; the "
        f"model spent {scores.mean_thinking_tokens:.0f} thinking tokens per answer on average. Raise the answer cap "
        "or lower the thinking (off where the model allows it, else its lowest level or smallest budget), then "
        f"re-run: the other answers are checkpointed under {checkpoint_prefix}, the empty ones are asked again."
    )


def run_predictions(
    client: Any,
    model: str,
    test_uri: str,
    output_prefix_uri: str,
    settings: EvaluationSettings | None = None,
    *,
    slug: str | None = None,
    on_checkpoint: Callable[[CheckpointProgress], None] | None = None,
    graceful_stop_signals: Sequence[int] = (),
) -> PredictionRun:
    """Blocking form of :func:`predict_async` for a worker task: runs its own event loop.

    ``graceful_stop_signals`` (e.g. ``(signal.SIGTERM,)`` in an Airflow task, whose supervisor stops a
    task with SIGTERM and kills it 5 s later): while the run lasts, these signals stop it gracefully
    (:mod:`.interruption`); the handlers they had are still called.

    The async HTTP session google-genai opened on that loop is closed at the end
    (``client.aio.aclose()``); the client stays usable and opens a new session when needed.
    """

    stop = StopRequest()

    async def _run() -> PredictionRun:
        stop.bind()
        try:
            return await predict_async(
                client, model, test_uri, output_prefix_uri, settings, slug=slug, on_checkpoint=on_checkpoint, stop=stop
            )
        finally:
            aio = getattr(client, "aio", client)
            close = getattr(aio, "aclose", None)
            if close is not None:
                await close()

    with stop_on_signals(stop, graceful_stop_signals):
        return asyncio.run(_run())
