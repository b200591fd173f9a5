"""Batch evaluation: ask a model every test question through one Vertex AI batch prediction job.

Vertex batch prediction costs half the online price and needs no quota handling
(https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/batch-prediction-gemini: "Batch requests
for Gemini models are discounted 50% from standard requests"). The flow, each part a plain function here
(the Airflow adapters call them; no Airflow import):

1. :func:`write_batch_requests`: ``requests.jsonl`` in Cloud Storage, one ``{"request": GenerateContentRequest}``
   per question — the input format of
   https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/batch-prediction-from-cloud-storage —
   with exactly the generation settings an online request carries (temperature, ``maxOutputTokens`` =
   answer cap + thinking reserve, the same ``thinkingConfig``: :func:`generation_config_json`). Its SHA-256
   is the file's fingerprint.
2. One job per model, found again by :func:`batch_job_labels` (fingerprint of the request file + model +
   pipeline id) so that a retried task never pays twice; :func:`select_reusable_batch_job` picks it.
3. Waiting: :func:`next_batch_poll_step` (the tuning wait's rules for errors, :mod:`gemini_qa_tuning.job_polling`).
4. :func:`read_batch_answers` reads ``<gcsOutputDirectory>/predictions*.jsonl`` (Vertex writes a
   ``prediction-model-<time>/predictions.jsonl`` folder: the request echoed, ``status`` and ``response``
   per line) into the same :class:`~.checkpoint.AnswerRecord` an online answer makes, and
   :func:`finish_batch_run` scores and writes them exactly like an online run (:func:`~.predictions.score_answer`,
   :func:`~.predictions.summarize_predictions`), returning the same :class:`~.runner.PredictionRun`.

Per-line errors (a line with a ``status`` and no ``response``) are counted as failed questions, scored as
wrong like an online request that failed after its retries, under the same ``error_share_limit``. They are
not asked again online: that would pay the full price and need the quota handling batch mode exists to
avoid, and Vertex's per-line errors are mostly requests it refuses (which online would refuse too). Above
the limit the task fails and says to re-run with ``eval_mode`` online.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Self

from gemini_qa_tuning import storage
from gemini_qa_tuning.eval_mode import DEFAULT_BATCH_MIN_QUESTIONS, EVAL_MODES, choose_eval_mode
from gemini_qa_tuning.evaluation.checkpoint import AnswerRecord
from gemini_qa_tuning.evaluation.predictions import score_answer, summarize_predictions
from gemini_qa_tuning.evaluation.questions import EvaluationQuestion, prompt_hash
from gemini_qa_tuning.evaluation.runner import (
    PREDICTIONS_FILE,
    SUMMARY_FILE,
    EmptyAnswerShareExceededError,
    ErrorShareExceededError,
    EvaluationSettings,
    PredictionRun,
    answer_from_response,
    empty_share_message,
)
from gemini_qa_tuning.job_polling import (
    LogLine,
    PollEvent,
    PollPolicy,
    PollState,
    PollStatus,
    PollStep,
    next_poll_step,
)
from gemini_qa_tuning.json_types import JsonObject, read_optional_int, read_optional_str, read_str
from gemini_qa_tuning.tuning.states import state_name

__all__ = [
    "BATCH_FOLDER",
    "DEFAULT_BATCH_MIN_QUESTIONS",
    "EVAL_MODES",
    "BatchJobSnapshot",
    "BatchOutcome",
    "BatchRequestFile",
    "batch_display_name",
    "batch_job_labels",
    "choose_eval_mode",
    "finish_batch_run",
    "generation_config_json",
    "judge_batch_job",
    "next_batch_poll_step",
    "read_batch_answers",
    "select_reusable_batch_job",
    "write_batch_requests",
]

#: The folder under a model's evaluation folder that holds the batch request file and Vertex's output.
BATCH_FOLDER = "batch"
REQUESTS_FILE = "requests.jsonl"

# Label keys of the batch job's identity (label values: <= 63 lowercase letters, digits, '_' and '-').
REQUESTS_LABEL = "gemini-qa-requests"
MODEL_LABEL = "gemini-qa-model"
PIPELINE_LABEL = "gemini-qa-pipeline"
_LABEL_VALUE_MAX = 63


# --------------------------------------------------------------------------- the request file
def generation_config_json(settings: EvaluationSettings) -> JsonObject:
    """The REST ``generationConfig`` an online request of the runner carries (the SDK's camelCase form)."""
    config: dict[str, Any] = {"temperature": settings.temperature, "maxOutputTokens": settings.output_cap}
    choice = settings.thinking
    if choice is not None and choice.level is not None:
        config["thinkingConfig"] = {"thinkingLevel": choice.level}
    elif choice is not None and choice.budget is not None:
        config["thinkingConfig"] = {"thinkingBudget": choice.budget}
    return config


def _request_line(question: EvaluationQuestion, generation_config: JsonObject) -> str:
    # The SDK turns the online call's contents=prompt into this one user turn.
    request = {
        "contents": [{"role": "user", "parts": [{"text": question.prompt}]}],
        "generationConfig": generation_config,
    }
    return json.dumps({"request": request}, ensure_ascii=False, sort_keys=True) + "\n"


@dataclass(frozen=True)
class BatchRequestFile:
    """The batch input written for one model: where, its SHA-256 and how many requests (one per question)."""

    uri: str
    fingerprint: str
    requests: int


def write_batch_requests(
    questions: Sequence[EvaluationQuestion], settings: EvaluationSettings, folder_uri: str
) -> BatchRequestFile:
    """Write ``<folder>/requests.jsonl`` (unchanged bytes are not rewritten); one request per distinct prompt."""
    config = generation_config_json(settings)
    seen: set[str] = set()
    lines = []
    for question in sorted(questions, key=lambda q: q.id):
        if question.prompt_sha256 not in seen:  # equal prompts get one (deterministic) answer
            seen.add(question.prompt_sha256)
            lines.append(_request_line(question, config))
    data = "".join(lines).encode("utf-8")
    uri = storage.join_uri(folder_uri, REQUESTS_FILE)
    storage.write_if_changed(uri, data, "application/jsonl")
    return BatchRequestFile(uri=uri, fingerprint=hashlib.sha256(data).hexdigest(), requests=len(lines))


# --------------------------------------------------------------------------- identity
def _label_value(text: str) -> str:
    value = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-")
    if len(value) > _LABEL_VALUE_MAX or not value:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
        value = f"{value[: _LABEL_VALUE_MAX - 13]}-{digest}".strip("-")
    return value


def batch_job_labels(request_fingerprint: str, model: str, pipeline_id: str) -> dict[str, str]:
    """The labels that identify one model's batch evaluation on one request file for one pipeline."""
    return {
        REQUESTS_LABEL: request_fingerprint[:32],
        MODEL_LABEL: hashlib.sha256(model.encode("utf-8")).hexdigest()[:32],
        PIPELINE_LABEL: _label_value(pipeline_id),
    }


def batch_display_name(slug: str, request_fingerprint: str) -> str:
    """The job's display name (also how a lookup double-checks a job the label filter returned)."""
    return f"gemini-qa-eval-{slug}-{request_fingerprint[:12]}"


# --------------------------------------------------------------------------- the job
class BatchOutcome(StrEnum):
    """What the pipeline does with a batch job now."""

    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


_SUCCEEDED_STATES = frozenset({"JOB_STATE_SUCCEEDED", "JOB_STATE_PARTIALLY_SUCCEEDED"})
_FAILED_STATES = frozenset({"JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"})
# Not reused by a retry: they will not produce answers.
_NOT_REUSABLE = _FAILED_STATES | {"JOB_STATE_CANCELLING"}


@dataclass(frozen=True)
class BatchJobSnapshot:
    """What the pipeline reads from one ``google.genai.types.BatchJob``; travels as JSON in trigger events."""

    name: str
    state: str
    display_name: str | None = None
    model: str | None = None
    output_directory: str | None = None
    successful: int | None = None
    failed: int | None = None
    error_code: int | None = None
    error_message: str | None = None

    @classmethod
    def from_sdk(cls, job: Any) -> Self:
        error = getattr(job, "error", None)
        stats = getattr(job, "completion_stats", None)
        output_info = getattr(job, "output_info", None)
        # outputInfo names the folder Vertex made; dest is only the prefix it was made under.
        directory = getattr(output_info, "gcs_output_directory", None)
        if isinstance(output_info, Mapping):
            directory = output_info.get("gcsOutputDirectory") or output_info.get("gcs_output_directory")
        error_code = getattr(error, "code", None) if not isinstance(error, Mapping) else error.get("code")
        error_message = getattr(error, "message", None) if not isinstance(error, Mapping) else error.get("message")
        return cls(
            name=str(getattr(job, "name", "")),
            state=state_name(getattr(job, "state", None)),  # the same JobState enum as tuning jobs
            display_name=getattr(job, "display_name", None),
            model=getattr(job, "model", None),
            output_directory=directory,
            successful=_optional_count(getattr(stats, "successful_count", None)),
            failed=_optional_count(getattr(stats, "failed_count", None)),
            error_code=error_code if isinstance(error_code, int) else None,
            error_message=str(error_message) if error_message else None,
        )

    @property
    def reusable(self) -> bool:
        """Whether a retry may wait for this job instead of creating (and paying for) a new one."""
        return self.state not in _NOT_REUSABLE

    def to_json(self) -> JsonObject:
        return {
            "name": self.name,
            "state": self.state,
            "display_name": self.display_name,
            "model": self.model,
            "output_directory": self.output_directory,
            "successful": self.successful,
            "failed": self.failed,
            "error_code": self.error_code,
            "error_message": self.error_message,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "batch job snapshot"
        return cls(
            name=read_str(data, "name", where),
            state=read_str(data, "state", where),
            display_name=read_optional_str(data, "display_name", where),
            model=read_optional_str(data, "model", where),
            output_directory=read_optional_str(data, "output_directory", where),
            successful=read_optional_int(data, "successful", where),
            failed=read_optional_int(data, "failed", where),
            error_code=read_optional_int(data, "error_code", where),
            error_message=read_optional_str(data, "error_message", where),
        )


def _optional_count(value: object) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def select_reusable_batch_job(jobs: Iterable[BatchJobSnapshot]) -> BatchJobSnapshot | None:
    """The job a retry reuses among those carrying its labels: a succeeded one first, else a live one."""
    candidates = [job for job in jobs if job.reusable]
    if not candidates:
        return None
    return min(candidates, key=lambda job: (job.state not in _SUCCEEDED_STATES, job.name))


def judge_batch_job(job: BatchJobSnapshot) -> tuple[BatchOutcome, str]:
    """Whether to keep waiting, read the answers, or fail; with a message saying what to do next."""
    if job.state in _SUCCEEDED_STATES:
        if not job.output_directory:
            return BatchOutcome.FAILED, (
                f"Batch prediction job {job.name} reports {job.state} but no output directory (outputInfo); "
                "there are no answers to read. Re-run the task to create a new job."
            )
        return BatchOutcome.SUCCEEDED, (
            f"Batch prediction job {job.name} {job.state}: {job.successful} answered, {job.failed} failed lines "
            f"in {job.output_directory}."
        )
    if job.state in _FAILED_STATES:
        code = f" (code {job.error_code})" if job.error_code is not None else ""
        return BatchOutcome.FAILED, (
            f"Batch prediction job {job.name} ended {job.state}: {job.error_message or 'Vertex gave no error message'}"
            f"{code}. It is never reused: fix the cause, then re-run the task (or set eval_mode to online)."
        )
    return BatchOutcome.WAITING, f"Batch prediction job {job.name} is {job.state}."


def next_batch_poll_step(
    read: BatchJobSnapshot | BaseException,
    state: PollState,
    *,
    policy: PollPolicy,
    now: float,
    deadline: float | None,
    rng: random.Random,
) -> tuple[PollStep, BatchJobSnapshot | None]:
    """The next step of waiting for a batch job, and the last read of it.

    Errors follow the tuning wait's rules (transient: jittered backoff within a budget; others: raised) —
    :func:`gemini_qa_tuning.job_polling.next_poll_step` decides them. A read ends the wait once
    :func:`judge_batch_job` says the job has ended.
    """
    if isinstance(read, BaseException):
        name = "the batch prediction job"
        return next_poll_step(read, state, job_name=name, policy=policy, now=now, deadline=deadline, rng=rng), None
    outcome, message = judge_batch_job(read)
    logs: list[LogLine] = []
    if read.state != state.last_state:
        logs.append(
            LogLine("info", f"Batch prediction job {read.name}: {state.last_state or 'first read'} -> {read.state}")
        )
    remembered = PollState(last_state=read.state)
    if outcome is not BatchOutcome.WAITING:
        status = PollStatus.SUCCESS if outcome is BatchOutcome.SUCCEEDED else PollStatus.FAILED
        logs.append(LogLine("info", message))
        return PollStep(remembered, tuple(logs), event=PollEvent(status, message, read.name, state=read.state)), read
    seconds_left = None if deadline is None else deadline - now
    if seconds_left is not None and seconds_left <= 0:
        event = PollEvent(
            PollStatus.TIMEOUT,
            f"Batch prediction job {read.name} was still {read.state} at the deadline.",
            read.name,
            read.state,
        )
        return PollStep(remembered, tuple(logs), event=event), read
    sleep = policy.poll_interval if seconds_left is None else min(policy.poll_interval, seconds_left)
    return PollStep(remembered, tuple(logs), sleep_seconds=sleep), read


# --------------------------------------------------------------------------- the answers
def _prompt_of(request: object) -> str | None:
    if not isinstance(request, Mapping):
        return None
    contents = request.get("contents")
    if not isinstance(contents, list) or not contents:
        return None
    parts = contents[-1].get("parts") if isinstance(contents[-1], Mapping) else None
    texts = [part["text"] for part in parts or [] if isinstance(part, Mapping) and isinstance(part.get("text"), str)]
    return "\n".join(texts) if texts else None


def _answer_from_line(question: EvaluationQuestion, line: Mapping[str, Any]) -> AnswerRecord:
    from google.genai import types

    status = line.get("status")
    response = line.get("response")
    if status or not isinstance(response, Mapping):
        return AnswerRecord.failed(question, f"batch line error: {status or 'no response'}", attempts=1)
    parsed = types.GenerateContentResponse.model_validate(response)  # the SDK's own reading of the JSON
    # A batch answers all at once: there is no per-request latency.
    return answer_from_response(question, parsed, attempts=1, latency_seconds=None)


def read_batch_answers(output_directory: str, questions: Sequence[EvaluationQuestion]) -> dict[str, AnswerRecord]:
    """Every question's answer from the job's output files, by question id (missing lines: failed)."""
    by_prompt: dict[str, list[EvaluationQuestion]] = {}
    for question in questions:
        by_prompt.setdefault(question.prompt_sha256, []).append(question)
    files = sorted(
        uri
        for uri in storage.list_uris(output_directory.rstrip("/") + "/")
        if uri.rsplit("/", 1)[-1].startswith("predictions") and uri.endswith(".jsonl")
    )
    if not files:
        raise FileNotFoundError(f"The batch job's output directory {output_directory} holds no predictions*.jsonl.")
    answers: dict[str, AnswerRecord] = {}
    for uri in files:
        for raw in storage.iter_lines(uri):
            if not raw.strip():
                continue
            line = json.loads(raw)
            prompt = _prompt_of(line.get("request")) if isinstance(line, Mapping) else None
            for question in by_prompt.get(prompt_hash(prompt), []) if prompt is not None else []:
                if question.id not in answers or not answers[question.id].ok:
                    answers[question.id] = _answer_from_line(question, line)
    for question in questions:
        if question.id not in answers:
            answers[question.id] = AnswerRecord.failed(question, "batch output has no line for this prompt", attempts=1)
    return answers


def finish_batch_run(
    model: str,
    questions: Sequence[EvaluationQuestion],
    answers: Mapping[str, AnswerRecord],
    *,
    test_uri: str,
    folder_uri: str,
    settings: EvaluationSettings,
    requests_sent: int,
    started_at: float,
) -> PredictionRun:
    """Score the answers as an online run does and write ``predictions.jsonl`` + ``summary.json`` in ``folder_uri``.

    Raises :class:`ErrorShareExceededError` / :class:`EmptyAnswerShareExceededError` under the online limits.
    """
    errors = sum(1 for answer in answers.values() if not answer.ok)
    if errors > settings.error_share_limit * len(questions) + 1e-9:
        raise ErrorShareExceededError(
            f"Batch evaluation of {model!r}: {errors} of {len(questions)} questions came back as per-line errors, "
            f"above the limit of {settings.error_share_limit:.1%}. Re-run with eval_mode online to ask them "
            "with retries, or raise eval_max_error_share."
        )
    lines = [score_answer(model, question, answers[question.id]) for question in sorted(questions, key=lambda q: q.id)]
    scores = summarize_predictions(lines)
    batch_folder = storage.join_uri(folder_uri, BATCH_FOLDER)
    if scores.empty_or_truncated > settings.empty_share_limit * scores.questions + 1e-9:
        raise EmptyAnswerShareExceededError(empty_share_message(model, scores, settings, batch_folder))
    run = PredictionRun(
        model=model,
        model_slug=folder_uri.rstrip("/").rsplit("/", 1)[-1],
        test_uri=test_uri,
        predictions_uri=storage.join_uri(folder_uri, PREDICTIONS_FILE),
        summary_uri=storage.join_uri(folder_uri, SUMMARY_FILE),
        checkpoint_prefix_uri=batch_folder,  # where the answers are kept: the batch request and output
        resumed_from_checkpoint=0,
        requests_sent=requests_sent,
        retries=0,
        elapsed_seconds=round(time.time() - started_at, 3),
        scores=scores,
        thinking=settings.thinking,
        max_output_tokens=settings.output_cap,
    )
    payload = "".join(json.dumps(line.to_json(), ensure_ascii=False) + "\n" for line in lines)
    storage.write_if_changed(run.predictions_uri, payload.encode("utf-8"), "application/jsonl")
    storage.write_bytes(run.summary_uri, json.dumps(run.to_json(), indent=2).encode("utf-8"), "application/json")
    return run
