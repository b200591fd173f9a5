"""Tuning datasets: fetch a JSONL file (gs:// from the GCS emulator), check every line the way Vertex AI
checks supervised tuning data, and compute ``supervisedTuningDataStats``.

A dataset problem does not fail the create request; it fails the tuning job (``JOB_STATE_FAILED`` with
``error: {code, message}``), as on Vertex AI where data validation runs inside the job.
"""

from __future__ import annotations

import json
import math
import statistics
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from devtools.vertex_emulator.errors import RPC_INVALID_ARGUMENT, RPC_NOT_FOUND, RPC_UNAVAILABLE

ROLES = ("user", "model")


def estimate_tokens(text: str) -> int:
    """The project's offline token estimate: four characters per token, rounded up."""
    return math.ceil(len(text) / 4)


class DatasetProblem(Exception):
    """A training or validation file that a tuning job cannot use; ``code`` is a google.rpc code."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class TuningExample:
    """One line of a tuning file: its turns, and the texts by who wrote them."""

    contents: list[dict[str, Any]]
    input_texts: tuple[str, ...]  # user turns and system instruction
    output_texts: tuple[str, ...]  # model turns

    @property
    def prompt(self) -> str:
        """The last user turn's text (what the model answered)."""
        for content in reversed(self.contents[:-1]):
            if content["role"] == "user":
                return "\n".join(part["text"] for part in content["parts"])
        return ""

    @property
    def answer(self) -> str:
        """The last model turn's text."""
        return "\n".join(part["text"] for part in self.contents[-1]["parts"])


async def read_dataset_text(uri: str, gcs_endpoint: str | None, session: aiohttp.ClientSession) -> str:
    """The text of a ``gs://bucket/object`` dataset file, read from the GCS emulator.

    Only ``gs://`` URIs reach here: the create request refuses anything else, as Vertex AI does.
    """
    return await _read_gcs_object(uri, gcs_endpoint, session)


async def _read_gcs_object(uri: str, gcs_endpoint: str | None, session: aiohttp.ClientSession) -> str:
    bucket, _, name = uri.removeprefix("gs://").partition("/")
    if not bucket or not name:
        raise DatasetProblem(RPC_INVALID_ARGUMENT, f"Dataset URI {uri} must look like gs://bucket/object.")
    if not gcs_endpoint:
        raise DatasetProblem(
            RPC_UNAVAILABLE,
            f"Cannot read {uri}: the emulator has no GCS endpoint. Start it with --gcs-endpoint URL, set "
            'STORAGE_EMULATOR_HOST, or POST {"gcs_endpoint": URL} to /_emulator/config.',
        )
    url = f"{gcs_endpoint}/storage/v1/b/{urllib.parse.quote(bucket, safe='')}/o/{urllib.parse.quote(name, safe='')}"
    try:
        async with session.get(url, params={"alt": "media"}) as response:
            if response.status == 404:
                raise DatasetProblem(RPC_NOT_FOUND, f"Dataset file {uri} does not exist.")
            if response.status != 200:
                detail = (await response.text())[:200]
                raise DatasetProblem(
                    RPC_UNAVAILABLE, f"Reading {uri} from the GCS emulator failed: HTTP {response.status} {detail}"
                )
            body = await response.read()
    except aiohttp.ClientError as error:
        raise DatasetProblem(
            RPC_UNAVAILABLE, f"Cannot reach the GCS emulator at {gcs_endpoint} to read {uri}: {error}."
        ) from None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DatasetProblem(RPC_INVALID_ARGUMENT, f"Dataset file {uri} is not UTF-8: {error}.") from None


def parse_tuning_file(text: str, uri: str, label: str) -> list[TuningExample]:
    """Check every line of a supervised tuning JSONL file and return its examples.

    Blank lines are skipped. Raises ``DatasetProblem`` naming the file, the line number and the reason
    for the first bad line, or when the file has no example.
    """
    examples = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            reason = f"not valid JSON ({error.msg} at column {error.colno})"
            raise _bad_line(label, uri, line_number, reason) from None
        try:
            examples.append(_example(record))
        except ValueError as error:
            raise _bad_line(label, uri, line_number, str(error)) from None
    if not examples:
        raise DatasetProblem(RPC_INVALID_ARGUMENT, f"{label} {uri} has no examples: the file is empty.")
    return examples


def _bad_line(label: str, uri: str, line_number: int, reason: str) -> DatasetProblem:
    return DatasetProblem(
        RPC_INVALID_ARGUMENT,
        f"{label} {uri} line {line_number} is not a valid supervised tuning example: {reason}. Each line must "
        'be {"contents": [{"role": "user", "parts": [{"text": ...}]}, {"role": "model", "parts": '
        '[{"text": ...}]}]}.',
    )


def _texts(parts: Any, where: str) -> list[str]:
    if not isinstance(parts, list) or not parts:
        raise ValueError(f"'{where}.parts' must be a non-empty list")
    texts = []
    for index, part in enumerate(parts):
        if not isinstance(part, dict) or not isinstance(part.get("text"), str):
            raise ValueError(f"'{where}.parts[{index}]' must be an object with a string 'text'")
        texts.append(part["text"])
    return texts


def _example(record: Any) -> TuningExample:
    if not isinstance(record, dict):
        raise ValueError(f"the line is a JSON {type(record).__name__}, not an object")
    contents = record.get("contents")
    if not isinstance(contents, list) or not contents:
        raise ValueError("'contents' is missing or not a non-empty list")
    input_texts: list[str] = []
    output_texts: list[str] = []
    if "systemInstruction" in record:
        instruction = record["systemInstruction"]
        if not isinstance(instruction, dict):
            raise ValueError("'systemInstruction' must be an object with 'parts'")
        input_texts += _texts(instruction.get("parts"), "systemInstruction")
    for index, content in enumerate(contents):
        if not isinstance(content, dict):
            raise ValueError(f"'contents[{index}]' must be an object")
        role = content.get("role")
        if role not in ROLES:
            raise ValueError(f"'contents[{index}].role' must be 'user' or 'model', got {role!r}")
        texts = _texts(content.get("parts"), f"contents[{index}]")
        (input_texts if role == "user" else output_texts).extend(texts)
    if contents[0]["role"] != "user":
        raise ValueError("the first turn must have role 'user'")
    if contents[-1]["role"] != "model":
        raise ValueError("the last turn must have role 'model' (the answer to learn)")
    return TuningExample(contents=contents, input_texts=tuple(input_texts), output_texts=tuple(output_texts))


def _distribution(values: Sequence[int]) -> dict[str, Any]:
    ordered = sorted(values)

    def percentile(share: float) -> float:
        return float(ordered[min(len(ordered) - 1, int(share * len(ordered)))])

    return {
        "sum": str(sum(ordered)),
        "billableSum": str(sum(ordered)),
        "min": float(ordered[0]),
        "max": float(ordered[-1]),
        "mean": statistics.fmean(ordered),
        "median": float(statistics.median(ordered)),
        "p5": percentile(0.05),
        "p95": percentile(0.95),
    }


def supervised_tuning_data_stats(examples: Sequence[TuningExample]) -> dict[str, Any]:
    """``tuningDataStats.supervisedTuningDataStats`` as Vertex AI reports it (camelCase field names).

    Billable counts cover every text part of the training file once: the API reference calls
    ``totalBillableTokenCount`` the "number of billable tokens in the tuning dataset"; the bill is that
    times the epochs. Integer counts are JSON strings, as Google's REST APIs encode int64 fields.
    """
    input_tokens = [sum(estimate_tokens(text) for text in example.input_texts) for example in examples]
    output_tokens = [sum(estimate_tokens(text) for text in example.output_texts) for example in examples]
    characters = sum(len(text) for example in examples for text in (*example.input_texts, *example.output_texts))
    tokens = sum(input_tokens) + sum(output_tokens)
    return {
        "tuningDatasetExampleCount": str(len(examples)),
        "totalTuningCharacterCount": str(characters),
        "totalBillableCharacterCount": str(characters),
        "totalBillableTokenCount": str(tokens),
        "totalTruncatedExampleCount": "0",
        "userInputTokenDistribution": _distribution(input_tokens),
        "userOutputTokenDistribution": _distribution(output_tokens),
        "userMessagePerExampleDistribution": _distribution([len(example.contents) for example in examples]),
    }
