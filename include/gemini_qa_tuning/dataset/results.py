"""What the dataset stage hands on: the refreshed dataset (staged splits) and the exported dataset.

Both are frozen records with one ``to_json()`` / ``from_json()`` pair (see
:mod:`gemini_qa_tuning.json_types`): the JSON form is what crosses the task boundary as XCom, and the
refresh's JSON form is also what the export records in ``manifest.json`` (so its layout is part of
the fingerprinted manifest: change it only with ``MANIFEST_FORMAT_VERSION``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Self

from gemini_qa_tuning.dataset.settings import DatasetSettings
from gemini_qa_tuning.json_types import (
    JsonObject,
    read_counts,
    read_float,
    read_int,
    read_object,
    read_optional_str,
    read_str,
)

__all__ = ["DatasetCounts", "DatasetSource", "ExportedDataset", "RefreshedDataset", "TrainingCostEstimate"]


@dataclass(frozen=True)
class DatasetSource:
    """Where the examples came from."""

    kind: str
    uri: str
    test_source: str | None
    description: str

    def to_json(self) -> JsonObject:
        return {"kind": self.kind, "uri": self.uri, "test_source": self.test_source, "description": self.description}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "dataset source"
        return cls(
            kind=read_str(data, "kind", where),
            uri=read_str(data, "uri", where),
            test_source=read_optional_str(data, "test_source", where),
            description=read_str(data, "description", where),
        )


@dataclass(frozen=True)
class DatasetCounts:
    """How many records were read, dropped and kept, per split (``available``: before the samples)."""

    records_read: int
    unanswerable_skipped: int
    rejected: int
    duplicates_dropped: int
    leakage_dropped: int
    available_train: int
    available_validation: int
    available_test: int
    train: int
    validation: int
    test: int

    def with_split_sizes(self, train: int, validation: int, test: int) -> DatasetCounts:
        return replace(self, train=train, validation=validation, test=test)

    def to_json(self) -> JsonObject:
        return {
            "records_read": self.records_read,
            "unanswerable_skipped": self.unanswerable_skipped,
            "rejected": self.rejected,
            "duplicates_dropped": self.duplicates_dropped,
            "leakage_dropped": self.leakage_dropped,
            "available": {
                "train": self.available_train,
                "validation": self.available_validation,
                "test": self.available_test,
            },
            "train": self.train,
            "validation": self.validation,
            "test": self.test,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "dataset counts"
        available = read_counts(data, "available", where)
        return cls(
            records_read=read_int(data, "records_read", where),
            unanswerable_skipped=read_int(data, "unanswerable_skipped", where),
            rejected=read_int(data, "rejected", where),
            duplicates_dropped=read_int(data, "duplicates_dropped", where),
            leakage_dropped=read_int(data, "leakage_dropped", where),
            available_train=available["train"],
            available_validation=available["validation"],
            available_test=available["test"],
            train=read_int(data, "train", where),
            validation=read_int(data, "validation", where),
            test=read_int(data, "test", where),
        )


@dataclass(frozen=True)
class RefreshedDataset:
    """The refresh's outcome: where the splits are staged, and how they came about.

    The ``*_examples_uri`` and ``rejects_uri`` are ``None`` for an in-memory refresh that staged nothing
    (:func:`gemini_qa_tuning.dataset.pipeline.refresh_examples`).
    """

    source: DatasetSource
    settings: DatasetSettings
    template: Mapping[str, str]
    counts: DatasetCounts
    rejects_by_reason: Mapping[str, int]
    reject_share: float
    max_reject_share: float
    staging_uri: str | None = None
    train_examples_uri: str | None = None
    validation_examples_uri: str | None = None
    test_examples_uri: str | None = None
    rejects_uri: str | None = None

    @property
    def duplicates_dropped(self) -> int:
        return self.counts.duplicates_dropped

    def staged_uri(self, split: str) -> str:
        """The staged example file of ``split`` (train, validation or test)."""
        uri = getattr(self, f"{split}_examples_uri")
        if not uri:
            raise ValueError(f"this refresh staged no {split} examples (an in-memory refresh); run refresh_dataset")
        return str(uri)

    def to_json(self) -> JsonObject:
        return {
            "source": self.source.to_json(),
            "settings": self.settings.to_json(),
            "template": dict(self.template),
            "counts": self.counts.to_json(),
            "rejects_by_reason": dict(self.rejects_by_reason),
            "duplicates_dropped": self.counts.duplicates_dropped,
            "reject_share": self.reject_share,
            "max_reject_share": self.max_reject_share,
            "staging_uri": self.staging_uri,
            "train_examples_uri": self.train_examples_uri,
            "validation_examples_uri": self.validation_examples_uri,
            "test_examples_uri": self.test_examples_uri,
            "rejects_uri": self.rejects_uri,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "refreshed dataset"
        return cls(
            source=DatasetSource.from_json(read_object(data, "source", where)),
            settings=DatasetSettings.from_json(read_object(data, "settings", where)),
            template={str(key): str(value) for key, value in read_object(data, "template", where).items()},
            counts=DatasetCounts.from_json(read_object(data, "counts", where)),
            rejects_by_reason=read_counts(data, "rejects_by_reason", where),
            reject_share=read_float(data, "reject_share", where),
            max_reject_share=read_float(data, "max_reject_share", where),
            staging_uri=read_optional_str(data, "staging_uri", where),
            train_examples_uri=read_optional_str(data, "train_examples_uri", where),
            validation_examples_uri=read_optional_str(data, "validation_examples_uri", where),
            test_examples_uri=read_optional_str(data, "test_examples_uri", where),
            rejects_uri=read_optional_str(data, "rejects_uri", where),
        )


@dataclass(frozen=True)
class TrainingCostEstimate:
    """The tuning cost the manifest records: training tokens x epochs x list price per million."""

    training_tokens: int
    epochs: int
    price_per_million_tokens: float
    estimated_cost: float

    def to_json(self) -> JsonObject:
        return {
            "training_tokens": self.training_tokens,
            "epochs": self.epochs,
            "price_per_million_tokens": self.price_per_million_tokens,
            "estimated_cost": self.estimated_cost,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "training cost estimate"
        return cls(
            training_tokens=read_int(data, "training_tokens", where),
            epochs=read_int(data, "epochs", where),
            price_per_million_tokens=read_float(data, "price_per_million_tokens", where),
            estimated_cost=read_float(data, "estimated_cost", where),
        )


@dataclass(frozen=True)
class ExportedDataset:
    """One exported dataset under ``datasets/<fingerprint>/``: what tuning and evaluation read.

    ``objects_written`` is 0 when identical data had been exported before.
    """

    fingerprint: str
    dataset_uri: str
    train_uri: str
    validation_uri: str | None
    test_uri: str
    rejects_uri: str
    manifest_uri: str
    objects_written: int
    counts: DatasetCounts
    rejects_by_reason: Mapping[str, int]
    training_tokens: int
    validation_tokens: int
    test_prompt_tokens: int
    token_estimator: str
    template_version: str
    source_description: str
    cost_estimate: TrainingCostEstimate | None = None

    @property
    def duplicates_dropped(self) -> int:
        return self.counts.duplicates_dropped

    def to_json(self) -> JsonObject:
        return {
            "fingerprint": self.fingerprint,
            "dataset_uri": self.dataset_uri,
            "train_uri": self.train_uri,
            "validation_uri": self.validation_uri,
            "test_uri": self.test_uri,
            "rejects_uri": self.rejects_uri,
            "manifest_uri": self.manifest_uri,
            "objects_written": self.objects_written,
            "counts": self.counts.to_json(),
            "rejects_by_reason": dict(self.rejects_by_reason),
            "duplicates_dropped": self.counts.duplicates_dropped,
            "training_tokens": self.training_tokens,
            "validation_tokens": self.validation_tokens,
            "test_prompt_tokens": self.test_prompt_tokens,
            "token_estimator": self.token_estimator,
            "template_version": self.template_version,
            "source_description": self.source_description,
            "cost_estimate": self.cost_estimate.to_json() if self.cost_estimate else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "exported dataset"
        cost = data.get("cost_estimate")
        return cls(
            fingerprint=read_str(data, "fingerprint", where),
            dataset_uri=read_str(data, "dataset_uri", where),
            train_uri=read_str(data, "train_uri", where),
            validation_uri=read_optional_str(data, "validation_uri", where),
            test_uri=read_str(data, "test_uri", where),
            rejects_uri=read_str(data, "rejects_uri", where),
            manifest_uri=read_str(data, "manifest_uri", where),
            objects_written=read_int(data, "objects_written", where),
            counts=DatasetCounts.from_json(read_object(data, "counts", where)),
            rejects_by_reason=read_counts(data, "rejects_by_reason", where),
            training_tokens=read_int(data, "training_tokens", where),
            validation_tokens=read_int(data, "validation_tokens", where),
            test_prompt_tokens=read_int(data, "test_prompt_tokens", where),
            token_estimator=read_str(data, "token_estimator", where),
            template_version=read_str(data, "template_version", where),
            source_description=read_str(data, "source_description", where),
            cost_estimate=TrainingCostEstimate.from_json(read_object(data, "cost_estimate", where)) if cost else None,
        )
