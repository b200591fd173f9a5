"""One pass over a tuning JSONL file before a paid job: check the format, count, estimate tokens, hash."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Self

from gemini_qa_tuning.gemini_format import TuningRecordError, parse_tuning_line
from gemini_qa_tuning.json_types import JsonObject, read_int, read_str
from gemini_qa_tuning.text import estimate_tokens

__all__ = ["TrainingDataScan", "files_fingerprint", "scan_tuning_jsonl"]


@dataclass(frozen=True)
class TrainingDataScan:
    """What one pass over a tuning JSONL file found."""

    uri: str
    example_count: int
    estimated_tokens: int
    sha256: str

    def to_json(self) -> JsonObject:
        return {
            "uri": self.uri,
            "example_count": self.example_count,
            "estimated_tokens": self.estimated_tokens,
            "sha256": self.sha256,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "training data scan"
        return cls(
            uri=read_str(data, "uri", where),
            example_count=read_int(data, "example_count", where),
            estimated_tokens=read_int(data, "estimated_tokens", where),
            sha256=read_str(data, "sha256", where),
        )


def scan_tuning_jsonl(lines: Iterable[str], uri: str) -> TrainingDataScan:
    """Check a tuning JSONL stream line by line, count examples and estimate tokens.

    Each line must be a record of :mod:`gemini_qa_tuning.gemini_format` (what the export writes); tokens
    are estimated as the export estimates them (``gemini_qa_tuning.text.estimate_tokens`` of prompt plus
    answer), so the launch's estimate matches the manifest's. Raises ``ValueError`` naming the file and
    line of the first malformed example, so a broken file fails before a paid job is created.
    """
    digest = hashlib.sha256()
    examples = 0
    tokens = 0
    for number, line in enumerate(lines, start=1):
        digest.update(line.encode("utf-8") + b"\n")
        if not line.strip():
            continue
        try:
            prompt, answer = parse_tuning_line(line)
        except TuningRecordError as error:
            raise ValueError(
                f"{uri} line {number} is not a Gemini tuning record ({error}); re-run the export or fix the file."
            ) from None
        examples += 1
        tokens += estimate_tokens(prompt) + estimate_tokens(answer)
    if examples == 0:
        raise ValueError(f"{uri} holds no examples; re-run the export or point the URI at the right file.")
    return TrainingDataScan(uri=uri, example_count=examples, estimated_tokens=tokens, sha256=digest.hexdigest())


def files_fingerprint(training: TrainingDataScan, validation: TrainingDataScan | None) -> str:
    """A content fingerprint of the tuning files, for launches given no dataset fingerprint.

    The export's fingerprint (``gemini_qa_tuning.dataset.export``) also covers the test split and the
    prompt template, so pass that one when available; this one only sees the two files Vertex reads.
    """
    digest = hashlib.sha256(b"gemini-qa-tuning tuning files\n")
    digest.update(b"train " + training.sha256.encode() + b"\n")
    digest.update(b"validation " + (validation.sha256.encode() if validation else b"none") + b"\n")
    return digest.hexdigest()[:32]
