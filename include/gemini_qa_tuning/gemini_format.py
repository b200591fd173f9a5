"""Gemini supervised-tuning JSONL records: build them for the export, parse them back for checks.

One line of a Vertex AI Gemini tuning file (``train.jsonl`` / ``validation.jsonl``) is::

    {"contents": [{"role": "user", "parts": [{"text": PROMPT}]},
                  {"role": "model", "parts": [{"text": ANSWER}]}]}

Lines are written compactly (no spaces after separators) and as UTF-8 rather than ``\\uXXXX`` escapes,
so files are smaller and byte-for-byte deterministic for a given input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "TuningRecordError",
    "dumps_compact",
    "encode_json_string",
    "parse_tuning_line",
    "parse_tuning_record",
    "tuning_line",
    "tuning_line_of_encoded",
    "tuning_record",
]

_COMPACT_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# What the compact encoder writes for a str with ensure_ascii=False (the C version when available).
encode_json_string = json.encoder.encode_basestring
_encode_string = encode_json_string
_LINE_START = '{"contents":[{"role":"user","parts":[{"text":'
_LINE_MIDDLE = '}]},{"role":"model","parts":[{"text":'
_LINE_END = "}]}]}"


class TuningRecordError(ValueError):
    """A line is not a single-turn Gemini tuning record (user prompt, then model answer)."""


def dumps_compact(value: Any) -> str:
    """JSON text without insignificant whitespace and with non-ASCII kept as is (one JSONL line)."""
    return _COMPACT_ENCODER.encode(value)


def tuning_record(prompt: str, answer: str) -> dict[str, Any]:
    """The tuning record for one example: the ``user`` turn holds the prompt, the ``model`` turn the answer."""
    return {
        "contents": [
            {"role": "user", "parts": [{"text": prompt}]},
            {"role": "model", "parts": [{"text": answer}]},
        ]
    }


def tuning_line(prompt: str, answer: str) -> str:
    """One JSONL line (without the newline) of a tuning file: ``dumps_compact(tuning_record(...))``.

    Built from the two encoded strings around fixed JSON text (the encoder's own string escaping, so the
    bytes are the same): a training file has up to 1,000,000 lines, and encoding the record's nested
    dicts and lists is most of the time of writing one.
    """
    return tuning_line_of_encoded(_encode_string(prompt), _encode_string(answer))


def tuning_line_of_encoded(prompt_json: str, answer_json: str) -> str:
    """:func:`tuning_line` from the prompt and the answer already encoded as JSON strings (with quotes).

    For a writer that encodes shared pieces of many prompts once (JSON string escaping works character
    by character, so escaped pieces concatenate to the escaped whole).
    """
    return f"{_LINE_START}{prompt_json}{_LINE_MIDDLE}{answer_json}{_LINE_END}"


def parse_tuning_record(record: Mapping[str, Any]) -> tuple[str, str]:
    """``(prompt, answer)`` of a single-turn tuning record; raises TuningRecordError on any other shape."""
    contents = record.get("contents") if isinstance(record, Mapping) else None
    if not isinstance(contents, list) or len(contents) != 2:
        raise TuningRecordError(
            "expected {'contents': [user turn, model turn]}, got "
            f"{type(contents).__name__ if contents is not None else 'no contents'}"
        )
    texts: list[str] = []
    for turn, expected_role in zip(contents, ("user", "model"), strict=True):
        if not isinstance(turn, Mapping) or turn.get("role") != expected_role:
            role = turn.get("role") if isinstance(turn, Mapping) else type(turn).__name__
            raise TuningRecordError(f"expected a {expected_role!r} turn, got role {role!r}")
        parts = turn.get("parts")
        if not isinstance(parts, list) or len(parts) != 1 or not isinstance(parts[0], Mapping):
            raise TuningRecordError(f"the {expected_role!r} turn must have exactly one part")
        text = parts[0].get("text")
        if not isinstance(text, str):
            raise TuningRecordError(f"the {expected_role!r} part must have a string 'text'")
        texts.append(text)
    return texts[0], texts[1]


def parse_tuning_line(line: str) -> tuple[str, str]:
    """``(prompt, answer)`` of one tuning JSONL line."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise TuningRecordError(f"not JSON: {error}") from error
    return parse_tuning_record(record)
