"""The dataset stage's settings, built from DAG Params with clear errors.

Vertex AI limits for Gemini supervised tuning that the settings and the export enforce:

* at most 5,000 validation examples;
* a training file of at most 1 GB and 1,000,000 examples;
* at most 131,072 tokens per example for gemini-2.5-flash (the default ``max_prompt_tokens``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

from gemini_qa_tuning.dataset.records import DatasetError
from gemini_qa_tuning.json_types import JsonObject

__all__ = [
    "SOURCE_KINDS",
    "VERTEX_MAX_EXAMPLE_TOKENS",
    "VERTEX_MAX_TRAINING_BYTES",
    "VERTEX_MAX_TRAINING_EXAMPLES",
    "VERTEX_MAX_VALIDATION_EXAMPLES",
    "DatasetSettings",
    "DatasetSettingsError",
]

VERTEX_MAX_VALIDATION_EXAMPLES = 5_000
VERTEX_MAX_TRAINING_EXAMPLES = 1_000_000
VERTEX_MAX_TRAINING_BYTES = 1_000_000_000
VERTEX_MAX_EXAMPLE_TOKENS = 131_072

SourceKind = Literal["sample", "squad_json", "jsonl", "huggingface"]
SOURCE_KINDS: tuple[str, ...] = ("sample", "squad_json", "jsonl", "huggingface")
DEFAULT_HUGGINGFACE_DATASET = "rajpurkar/squad"
DEFAULT_HUGGINGFACE_TEST_SPLIT = "validation"
NO_TEST_SOURCE = "none"


class DatasetSettingsError(DatasetError, ValueError):
    """A dataset setting (DAG Param) has an invalid value."""


@dataclass(frozen=True)
class DatasetSettings:
    """Where the data comes from and how it is cut into splits.

    * ``source_kind``: ``"sample"`` (the packaged offline sample), ``"squad_json"``, ``"jsonl"`` or
      ``"huggingface"``.
    * ``source_uri``: the training source — a ``gs://`` URI or local path; for ``huggingface`` a Hub
      name (default ``rajpurkar/squad``) or a ``save_to_disk`` folder. Ignored for ``sample``.
    * ``test_source_uri``: the held-out source that becomes ``test`` (same kind as the training source);
      for ``huggingface`` the held-out split name (empty means ``"validation"``). ``"none"``, and an
      empty value for the file kinds, means: split the one source three ways by group instead.
    * ``max_train_examples`` / ``max_validation_examples`` / ``max_test_examples``: seeded samples of at
      most this many examples (``None``: all; validation is capped at Vertex's 5,000).
    * ``validation_fraction``: share of the training source grouped into validation.
    * ``test_fraction``: share grouped into test, for a source without a held-out part.
    * ``seed``: for the group order and the samples; the same seed and input give the same bytes.
    * ``group_by``: ``"title"`` (articles never cross splits; nor do contexts) or ``"context"``.
    * ``max_prompt_tokens``: per-example token limit (prompt + target, estimated at 4 characters/token).
    * ``max_reject_share``: the refresh fails when a larger share of the records is rejected.
    """

    source_kind: SourceKind = "sample"
    source_uri: str = ""
    test_source_uri: str | None = None
    max_train_examples: int | None = None
    max_validation_examples: int = VERTEX_MAX_VALIDATION_EXAMPLES
    max_test_examples: int | None = None
    validation_fraction: float = 0.1
    test_fraction: float = 0.1
    seed: int = 0
    group_by: Literal["title", "context"] = "title"
    max_prompt_tokens: int = VERTEX_MAX_EXAMPLE_TOKENS
    max_reject_share: float = 0.05

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise DatasetSettingsError("Invalid dataset settings: " + "; ".join(problems))

    def _problems(self) -> list[str]:
        problems: list[str] = []
        if self.source_kind not in SOURCE_KINDS:
            problems.append(f"source_kind must be one of {', '.join(SOURCE_KINDS)}, not {self.source_kind!r}")
        elif self.source_kind in ("squad_json", "jsonl") and not (
            isinstance(self.source_uri, str) and self.source_uri.strip()
        ):
            problems.append(f"source_kind {self.source_kind!r} needs source_uri (a gs:// URI or local path)")
        if not isinstance(self.source_uri, str):
            problems.append(f"source_uri must be a string, not {type(self.source_uri).__name__}")
        if self.test_source_uri is not None and not isinstance(self.test_source_uri, str):
            problems.append(f"test_source_uri must be a string or null, not {type(self.test_source_uri).__name__}")
        for name in ("max_train_examples", "max_test_examples"):
            value = getattr(self, name)
            if value is not None and (not _is_int(value) or value < 1):
                problems.append(f"{name} must be a positive integer or null (no limit), not {value!r}")
        if not _is_int(self.max_validation_examples) or not (
            0 <= self.max_validation_examples <= VERTEX_MAX_VALIDATION_EXAMPLES
        ):
            problems.append(
                f"max_validation_examples must be an integer from 0 to {VERTEX_MAX_VALIDATION_EXAMPLES} "
                f"(Vertex AI's validation limit), not {self.max_validation_examples!r}"
            )
        for name in ("validation_fraction", "test_fraction"):
            value = getattr(self, name)
            if not _is_number(value) or not 0 <= value < 1:
                problems.append(f"{name} must be a number in [0, 1), not {value!r}")
        if (
            _is_number(self.validation_fraction)
            and _is_number(self.test_fraction)
            and self.validation_fraction + self.test_fraction >= 1
        ):
            problems.append("validation_fraction + test_fraction must be below 1 so that train keeps examples")
        if not _is_int(self.seed) or not -(2**63) <= self.seed < 2**63:
            problems.append(f"seed must be a 64-bit integer, not {self.seed!r}")
        if self.group_by not in ("title", "context"):
            problems.append(f"group_by must be 'title' or 'context', not {self.group_by!r}")
        if not _is_int(self.max_prompt_tokens) or self.max_prompt_tokens < 1:
            problems.append(f"max_prompt_tokens must be a positive integer, not {self.max_prompt_tokens!r}")
        if not _is_number(self.max_reject_share) or not 0 <= self.max_reject_share <= 1:
            problems.append(f"max_reject_share must be a number in [0, 1], not {self.max_reject_share!r}")
        return problems

    @property
    def resolved_source_uri(self) -> str:
        """The training source, with the Hugging Face default filled in ("packaged" for the sample)."""
        if self.source_kind == "sample":
            return "packaged"  # the sample ships inside the library; any source_uri is ignored
        if self.source_kind == "huggingface" and not self.source_uri.strip():
            return DEFAULT_HUGGINGFACE_DATASET
        return self.source_uri.strip()

    @property
    def resolved_test_source(self) -> str | None:
        """The held-out source (or split name), or ``None`` for a three-way group split of one source."""
        value = (self.test_source_uri or "").strip()
        if self.source_kind == "sample" or value.lower() == NO_TEST_SOURCE:
            return None
        if self.source_kind == "huggingface" and not value:
            return DEFAULT_HUGGINGFACE_TEST_SPLIT
        return value or None

    def to_json(self) -> JsonObject:
        """The settings as JSON (what the refresh summary and the manifest record)."""
        return {setting.name: getattr(self, setting.name) for setting in fields(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> DatasetSettings:
        """Settings recorded by :meth:`to_json`; the usual checks apply (keys that are not settings are ignored)."""
        return cls(**{setting.name: data[setting.name] for setting in fields(cls) if setting.name in data})  # type: ignore[arg-type]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
