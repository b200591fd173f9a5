"""The ``client.tunings.tune`` request as plain data: loggable, storable as JSON, testable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

from gemini_qa_tuning.json_types import (
    JsonObject,
    JsonValue,
    read_float,
    read_int,
    read_optional_str,
    read_str,
    read_str_map,
)

if TYPE_CHECKING:
    from google.genai import types

__all__ = ["TuningRequest"]


@dataclass(frozen=True)
class TuningRequest:
    """Arguments of ``client.tunings.tune``, built by :meth:`TuningConfig.request`."""

    base_model: str
    training_uri: str
    validation_uri: str | None
    epoch_count: int
    adapter_size: str | None
    learning_rate_multiplier: float
    tuning_mode: str | None
    tuned_model_display_name: str | None
    description: str | None
    labels: Mapping[str, str] = field(default_factory=dict)
    #: Only the final checkpoint is exported (sent only when true: the API's default is false).
    export_last_checkpoint_only: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The request in the SDK's shape (``base_model``, ``training_dataset``, ``config``), ``None`` left out."""
        config = self.config_kwargs()
        if self.validation_uri:
            config["validation_dataset"] = {"gcs_uri": self.validation_uri}
        return {
            "base_model": self.base_model,
            "training_dataset": {"gcs_uri": self.training_uri},
            "config": config,
        }

    def config_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``types.CreateTuningJobConfig`` other than the validation dataset."""
        values: dict[str, Any] = {
            "epoch_count": self.epoch_count,
            "adapter_size": self.adapter_size,
            "learning_rate_multiplier": self.learning_rate_multiplier,
            "tuning_mode": self.tuning_mode,
            "tuned_model_display_name": self.tuned_model_display_name,
            "description": self.description,
            "labels": dict(self.labels),
            "export_last_checkpoint_only": True if self.export_last_checkpoint_only else None,
        }
        return {key: value for key, value in values.items() if value is not None}

    def to_sdk(self) -> tuple[types.TuningDataset, types.CreateTuningJobConfig]:
        """``(training_dataset, config)`` as google-genai types, ready for ``client.tunings.tune``."""
        from google.genai import types

        config = types.CreateTuningJobConfig(
            method=types.TuningMethod.SUPERVISED_FINE_TUNING,
            validation_dataset=(
                types.TuningValidationDataset(gcs_uri=self.validation_uri) if self.validation_uri else None
            ),
            **self.config_kwargs(),
        )
        return types.TuningDataset(gcs_uri=self.training_uri), config

    def to_json(self) -> JsonObject:
        labels: dict[str, JsonValue] = dict(self.labels)
        return {
            "base_model": self.base_model,
            "training_uri": self.training_uri,
            "validation_uri": self.validation_uri,
            "epoch_count": self.epoch_count,
            "adapter_size": self.adapter_size,
            "learning_rate_multiplier": self.learning_rate_multiplier,
            "tuning_mode": self.tuning_mode,
            "tuned_model_display_name": self.tuned_model_display_name,
            "description": self.description,
            "labels": labels,
            "export_last_checkpoint_only": self.export_last_checkpoint_only,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        where = "tuning request"
        return cls(
            base_model=read_str(data, "base_model", where),
            training_uri=read_str(data, "training_uri", where),
            validation_uri=read_optional_str(data, "validation_uri", where),
            epoch_count=read_int(data, "epoch_count", where),
            adapter_size=read_optional_str(data, "adapter_size", where),
            learning_rate_multiplier=read_float(data, "learning_rate_multiplier", where),
            tuning_mode=read_optional_str(data, "tuning_mode", where),
            tuned_model_display_name=read_optional_str(data, "tuned_model_display_name", where),
            description=read_optional_str(data, "description", where),
            labels=read_str_map(data, "labels", where),
            # absent in requests stored before the setting existed: the API's default
            export_last_checkpoint_only=data.get("export_last_checkpoint_only") is True,
        )
