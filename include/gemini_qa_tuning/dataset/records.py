"""The records the dataset stage passes around: examples, rejects, and the errors it raises.

A :class:`QAExample` is the one shape every loader returns, whatever the source. Its texts are already
whitespace-cleaned (see :mod:`gemini_qa_tuning.text`); answers keep their case — lowercasing happens only
when the training target is written. Examples are stored as JSONL lines of
``{"id", "title", "context", "question", "answers": [...]}``, the same shape the JSONL loader reads.

A :class:`RejectedRecord` is a source record that could not become a valid example, with a reason from
:class:`RejectReason`, a human-readable detail, where it came from and the record itself, so that nothing
is dropped silently: every one of them ends up in ``rejects.jsonl``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gemini_qa_tuning.gemini_format import dumps_compact

__all__ = [
    "DatasetError",
    "DatasetLimitError",
    "QAExample",
    "RejectReason",
    "RejectShareExceededError",
    "RejectedRecord",
    "SourceError",
    "count_by_reason",
    "example_line",
    "jsonl_bytes",
    "rejects_jsonl",
]

# A reject keeps at most this many characters of an unparseable line, so one broken multi-megabyte line
# cannot bloat rejects.jsonl.
MAX_RAW_LINE_CHARS = 10_000

# default=str keeps a reject writable even when a source handed us a value JSON cannot hold.
_LENIENT_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


class DatasetError(Exception):
    """Base class of the dataset stage's errors."""


class SourceError(DatasetError):
    """A whole source cannot be read: missing, not the format its kind promises, or missing columns."""


class RejectShareExceededError(DatasetError):
    """More records were rejected than the ``max_reject_share`` setting allows."""


class DatasetLimitError(DatasetError):
    """The dataset breaks a Vertex AI tuning limit (examples or bytes per file) or has nothing to train on."""


class RejectReason(StrEnum):
    """Why a source record did not become an example (the ``reason`` field of ``rejects.jsonl``)."""

    INVALID_JSON = "invalid_json"
    """A JSONL line that is not JSON."""
    MALFORMED_STRUCTURE = "malformed_structure"
    """A record or SQuAD article/paragraph that is not an object of the expected shape."""
    MISSING_FIELD = "missing_field"
    """A required field (id, title, context, question, answers) is absent or null."""
    EMPTY_FIELD = "empty_field"
    """A required field is empty or only whitespace (or no non-empty answer is left)."""
    WRONG_TYPE = "wrong_type"
    """A field has the wrong JSON type (e.g. a number where text belongs)."""
    ANSWER_NOT_IN_CONTEXT = "answer_not_in_context"
    """A reference answer is not a substring of the (whitespace-cleaned) context."""
    PROMPT_TOO_LONG = "prompt_too_long"
    """The rendered prompt plus the target exceeds ``max_prompt_tokens`` (estimated tokens)."""
    DUPLICATE_ID = "duplicate_id"
    """Another example of the same source already uses this id for a different question or context."""


@dataclass(frozen=True, slots=True)
class QAExample:
    """One question about one context, with every reference answer (the first is the training target)."""

    id: str
    title: str
    context: str
    question: str
    answers: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: the JSONL loader's input shape."""
        return {
            "id": self.id,
            "title": self.title,
            "context": self.context,
            "question": self.question,
            "answers": list(self.answers),
        }


@dataclass(frozen=True, slots=True)
class RejectedRecord:
    """A source record set aside, with why and where."""

    reason: RejectReason
    detail: str
    where: str
    record: Any

    def to_dict(self) -> dict[str, Any]:
        """The ``rejects.jsonl`` line: reason, detail, where, and the record as read."""
        return {"reason": str(self.reason), "detail": self.detail, "where": self.where, "record": self.record}


def example_line(example: QAExample) -> str:
    """One JSONL line (no newline) holding an example."""
    return dumps_compact(example.to_dict())


def jsonl_bytes(lines: list[str]) -> bytes:
    """JSONL file content: each line followed by a newline, UTF-8; no lines give an empty file."""
    return ("\n".join(lines) + "\n").encode() if lines else b""


def rejects_jsonl(rejects: Iterable[RejectedRecord]) -> bytes:
    """The content of ``rejects.jsonl``: one JSON object per line, in the order the rejects were found."""
    return jsonl_bytes([_LENIENT_ENCODER.encode(reject.to_dict()) for reject in rejects])


def count_by_reason(rejects: Iterable[RejectedRecord]) -> dict[str, int]:
    """Reject counts keyed by reason, sorted by reason name (stable for manifests)."""
    counts = Counter(str(reject.reason) for reject in rejects)
    return dict(sorted(counts.items()))
