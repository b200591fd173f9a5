"""Resumable answers: every answer the runner received is kept in object storage before it is scored.

Answers are written in parts, ``<model folder>/checkpoint/part-NNNNNN.jsonl`` (object stores have no
append, so each write is a new object), one :class:`AnswerRecord` per line. Each answer is saved as it
arrives (grouped with the others that arrive while a write is in flight), so a killed run loses at most
``concurrency`` paid answers; at the end of a run the parts are merged into one. A re-run or retried
task reads them first and never asks a successfully answered question again; questions whose request
failed for good are asked again. What changes this module: how and when paid answers are saved
(:class:`CheckpointWriter` owns the flush policy).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal, Self

from gemini_qa_tuning import storage
from gemini_qa_tuning.evaluation.questions import EvaluationQuestion
from gemini_qa_tuning.json_types import (
    JsonObject,
    read_bool,
    read_int,
    read_optional_float,
    read_optional_int,
    read_optional_str,
    read_str,
)

__all__ = [
    "CHECKPOINT_FOLDER",
    "MAX_TOKENS_FINISH",
    "AnswerRecord",
    "AnswerStatus",
    "CheckpointProgress",
    "CheckpointWriter",
    "StoredCheckpoint",
    "is_empty_or_truncated",
    "load_checkpoint",
    "read_answer_status",
    "read_checkpoint",
    "reusable_answers",
]

logger = logging.getLogger(__name__)

CHECKPOINT_FOLDER = "checkpoint"
_PARALLEL_DELETES = 8  # below the GCS client's 10 pooled connections
_PART_NAME = re.compile(r"part-(\d+)\.jsonl$")

AnswerStatus = Literal["ok", "error"]
#: The finish reason of an answer cut off at ``maxOutputTokens``.
MAX_TOKENS_FINISH = "MAX_TOKENS"


def read_answer_status(data: Mapping[str, object], where: str) -> AnswerStatus:
    """The ``status`` of an answer or prediction line: "ok" or "error", nothing else."""
    status = read_str(data, "status", where)
    if status == "ok":
        return "ok"
    if status == "error":
        return "error"
    raise ValueError(f"{where}: 'status' must be 'ok' or 'error', not {status!r}")


def is_empty_or_truncated(ok: bool, blocked: bool, finish_reason: str | None, response: str | None) -> bool:
    """Whether an answer came back, unblocked, with no text or cut off at the output cap (``MAX_TOKENS``)."""
    if not ok or blocked:
        return False
    return finish_reason == MAX_TOKENS_FINISH or not (response or "").strip()


@dataclass(frozen=True)
class AnswerRecord:
    """What the model returned for one question (``status`` "ok"), or the last problem after every
    attempt (``status`` "error"). Token counts are the service's; ``None`` where it reported none
    (``thinking_tokens`` is ``usageMetadata.thoughtsTokenCount``; absent in checkpoints of older versions)."""

    id: str
    prompt_sha256: str
    status: AnswerStatus
    response: str | None
    blocked: bool
    finish_reason: str | None
    error: str | None
    attempts: int
    latency_seconds: float | None
    prompt_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    thinking_tokens: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def empty_or_truncated(self) -> bool:
        """An answer that came back with no text, or cut off at the output cap (``MAX_TOKENS``), and was
        not blocked: the sign of an output cap too small for the answer plus the model's thoughts."""
        return is_empty_or_truncated(self.ok, self.blocked, self.finish_reason, self.response)

    @classmethod
    def failed(cls, question: EvaluationQuestion, problem: str, attempts: int) -> Self:
        """The record of a question whose every attempt failed."""
        return cls(
            id=question.id,
            prompt_sha256=question.prompt_sha256,
            status="error",
            response=None,
            blocked=False,
            finish_reason=None,
            error=problem,
            attempts=attempts,
            latency_seconds=None,
            prompt_tokens=None,
            output_tokens=None,
            total_tokens=None,
        )

    def to_json(self) -> JsonObject:
        return {
            "id": self.id,
            "prompt_sha256": self.prompt_sha256,
            "status": self.status,
            "response": self.response,
            "blocked": self.blocked,
            "finish_reason": self.finish_reason,
            "error": self.error,
            "attempts": self.attempts,
            "latency_seconds": self.latency_seconds,
            "prompt_tokens": self.prompt_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "thinking_tokens": self.thinking_tokens,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "checkpoint answer record"
        return cls(
            id=read_str(data, "id", where),
            prompt_sha256=read_str(data, "prompt_sha256", where),
            status=read_answer_status(data, where),
            response=read_optional_str(data, "response", where),
            blocked=read_bool(data, "blocked", where),
            finish_reason=read_optional_str(data, "finish_reason", where),
            error=read_optional_str(data, "error", where),
            attempts=read_int(data, "attempts", where),
            latency_seconds=read_optional_float(data, "latency_seconds", where),
            prompt_tokens=read_optional_int(data, "prompt_tokens", where),
            output_tokens=read_optional_int(data, "output_tokens", where),
            total_tokens=read_optional_int(data, "total_tokens", where),
            thinking_tokens=read_optional_int(data, "thinking_tokens", where),
        )


@dataclass(frozen=True)
class CheckpointProgress:
    """Passed to the ``on_checkpoint`` callback after each checkpoint part is written."""

    part_uri: str
    answered: int
    errors: int
    total: int


@dataclass(frozen=True)
class StoredCheckpoint:
    """What a checkpoint folder holds: the latest record per question id, the part objects read, and the
    next free part number."""

    records: dict[str, AnswerRecord]
    part_uris: tuple[str, ...]
    next_part: int


def load_checkpoint(checkpoint_prefix: str) -> StoredCheckpoint:
    """Read every checkpoint part under ``checkpoint_prefix`` in part order (a later success wins)."""
    records: dict[str, AnswerRecord] = {}
    numbered = []
    for uri in storage.list_uris(checkpoint_prefix + "/"):
        match = _PART_NAME.search(uri)
        if match:
            numbered.append((int(match.group(1)), uri))
    numbered.sort()
    for _, uri in numbered:
        for line_number, line in enumerate(storage.iter_lines(uri), start=1):
            if not line.strip():
                continue
            try:
                record = AnswerRecord.from_json(json.loads(line))
            except ValueError as error:  # JSONDecodeError is a ValueError too
                raise ValueError(
                    f"{uri} line {line_number} is not a checkpoint answer ({error}). Delete that part to "
                    "ask its questions again."
                ) from error
            _keep_latest(records, record)
    next_part = max((number for number, _ in numbered), default=0) + 1
    return StoredCheckpoint(records, tuple(uri for _, uri in numbered), next_part)


def read_checkpoint(checkpoint_prefix: str) -> tuple[dict[str, AnswerRecord], int]:
    """Latest record per question id from all checkpoint parts, and the next free part number."""
    stored = load_checkpoint(checkpoint_prefix)
    return stored.records, stored.next_part


def _keep_latest(records: dict[str, AnswerRecord], record: AnswerRecord) -> None:
    previous = records.get(record.id)
    # A success is final; a later error for the same id (should not happen) never replaces it.
    if previous is None or not previous.ok or record.ok:
        records[record.id] = record


def reusable_answers(
    questions: Sequence[EvaluationQuestion], checkpoint: Mapping[str, AnswerRecord]
) -> dict[str, AnswerRecord]:
    """The checkpointed successes that answer the questions as they are now (same prompt), by id.

    Empty or truncated answers (:attr:`AnswerRecord.empty_or_truncated`) are asked again: the usual
    fix for them is a larger output cap or less thinking, and a re-run after that fix must not reuse them.
    """
    reusable: dict[str, AnswerRecord] = {}
    for question in questions:
        stored = checkpoint.get(question.id)
        if (
            stored is not None
            and stored.ok
            and not stored.empty_or_truncated
            and stored.prompt_sha256 == question.prompt_sha256
        ):
            reusable[question.id] = stored
    return reusable


class CheckpointWriter:
    """Saves each answer as it arrives, so a kill loses at most the answers still in flight.

    :meth:`save` returns once the record is in object storage. Object stores cannot append, so every
    write is a new part object; to keep their number down, writes are grouped: one write is in flight at
    a time, and the answers that arrive meanwhile go together into the next one (group commit). A worker
    asks its next question only after :meth:`save` returned, so at any moment each worker holds at most
    one answer that is not saved yet *or* one request in flight: a kill loses at most ``concurrency``
    paid answers. A run writes at most one part per write latency (about 20/s on GCS), however fast the
    answers come; :meth:`compact` merges them (and the parts of earlier attempts) into one object at the
    end of a run, so a re-run reads one object, not thousands.

    ``progress`` is asked for the counts passed to ``on_checkpoint`` after each part is written.
    """

    def __init__(
        self,
        checkpoint_prefix: str,
        next_part: int,
        on_checkpoint: Callable[[CheckpointProgress], None] | None,
        progress: Callable[[str], CheckpointProgress],
    ) -> None:
        self.checkpoint_prefix = checkpoint_prefix
        self.next_part = next_part
        self.on_checkpoint = on_checkpoint
        self.progress = progress
        self.buffer: list[AnswerRecord] = []
        self.written: list[AnswerRecord] = []
        self.part_uris: list[str] = []
        self._received = 0
        self._saved = 0
        self._lock = asyncio.Lock()

    @property
    def parts_written(self) -> int:
        return len(self.part_uris)

    async def save(self, record: AnswerRecord) -> None:
        """Keep ``record``; return once it is written (with whatever else arrived meanwhile)."""
        self.buffer.append(record)
        self._received += 1
        mine = self._received
        # Records are written in arrival order, so ours is saved once the saved count reaches it.
        while self._saved < mine:
            await self.flush()

    async def flush(self) -> None:
        """Write the buffered records as the next checkpoint part (object stores cannot append)."""
        async with self._lock:
            if not self.buffer:
                return
            batch, self.buffer = self.buffer, []
            part_uri = storage.join_uri(self.checkpoint_prefix, f"part-{self.next_part:06d}.jsonl")
            self.next_part += 1
            try:
                await asyncio.to_thread(storage.write_bytes, part_uri, _jsonl(batch), "application/jsonl")
            except BaseException:
                # Paid-for answers stay buffered, so the final flush of the run can still save them.
                self.buffer[:0] = batch
                raise
            self._saved += len(batch)
            self.written.extend(batch)
            self.part_uris.append(part_uri)
            logger.debug("Checkpointed %d answers to %s", len(batch), part_uri)
        if self.on_checkpoint is not None:
            self.on_checkpoint(self.progress(part_uri))

    async def compact(self, earlier: StoredCheckpoint) -> None:
        """Merge ``earlier``'s parts and this run's into one part object, then delete the small ones.

        The merged part gets the highest number before anything is deleted, so a kill in between leaves
        duplicates (harmless: the latest success wins), never a gap. Nothing to do with one part or none.
        """
        await self.flush()
        async with self._lock:
            old_parts = [*earlier.part_uris, *self.part_uris]
            if len(old_parts) <= 1:
                return
            merged = dict(earlier.records)
            for record in self.written:
                _keep_latest(merged, record)
            part_uri = storage.join_uri(self.checkpoint_prefix, f"part-{self.next_part:06d}.jsonl")
            self.next_part += 1
            records = sorted(merged.values(), key=lambda record: record.id)
            await asyncio.to_thread(storage.write_bytes, part_uri, _jsonl(records), "application/jsonl")
            await asyncio.to_thread(_delete_all, old_parts)
            self.part_uris = [part_uri]
            logger.info("Merged %d checkpoint parts into %s (%d answers)", len(old_parts), part_uri, len(records))


def _delete_all(uris: Sequence[str]) -> None:
    """Delete many small objects at once: one at a time, a few thousand parts would take a minute."""
    with ThreadPoolExecutor(max_workers=_PARALLEL_DELETES) as pool:
        list(pool.map(storage.delete, uris))


def _jsonl(records: Sequence[AnswerRecord]) -> bytes:
    return "".join(json.dumps(record.to_json(), ensure_ascii=False) + "\n" for record in records).encode("utf-8")
