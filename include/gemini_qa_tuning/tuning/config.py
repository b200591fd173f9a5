"""The settings of one supervised tuning job, validated against the model catalog, and its identity.

Values are native (``int``, ``float``, ``Mapping``): the DAG renders templates as native objects, so
nothing here re-parses strings; a value of the wrong type is reported as a problem, not converted.

Identity
    A job is identified by the labels of :data:`~gemini_qa_tuning.tuning.resources.IDENTITY_LABEL_KEYS`:
    the dataset fingerprint, the config hash (:meth:`TuningConfig.config_hash`, over the settings that
    change what is trained), the pipeline that owns the job, and ``managed-by``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Self

from gemini_qa_tuning.json_types import JsonObject, JsonValue
from gemini_qa_tuning.tuning.catalog import ADAPTER_SIZES, DEFAULT_BASE_MODEL, ModelCatalog, default_catalog, model_id
from gemini_qa_tuning.tuning.resources import (
    CONFIG_LABEL_KEY,
    DATASET_LABEL_KEY,
    IDENTITY_LABEL_KEYS,
    MANAGED_BY_LABEL_KEY,
    MANAGED_BY_LABEL_VALUE,
    PIPELINE_ID_HINT,
    PIPELINE_LABEL_KEY,
    identity_label_value,
    validate_labels,
)

if TYPE_CHECKING:
    from gemini_qa_tuning.tuning.request import TuningRequest

__all__ = [
    "CONFIG_HASH_VERSION",
    "MAX_DISPLAY_NAME_LENGTH",
    "MAX_EPOCHS",
    "MAX_LEARNING_RATE_MULTIPLIER",
    "TUNING_MODES",
    "TuningConfig",
    "TuningConfigError",
]

#: Tuning modes (``google.genai.types.TuningMode``), by short name. PEFT adapter (LoRA) is what Vertex
#: offers for Gemini; full fine-tuning exists in the API for other model families.
TUNING_MODES: Mapping[str, str] = MappingProxyType(
    {
        "peft_adapter": "TUNING_MODE_PEFT_ADAPTER",
        "full": "TUNING_MODE_FULL",
    }
)

#: A sanity bound, not a Vertex limit: more passes than this over a QA dataset is almost surely a typo.
MAX_EPOCHS = 100
#: A sanity bound on the learning-rate multiplier (Vertex scales its own recommended rate by it).
MAX_LEARNING_RATE_MULTIPLIER = 10.0
MAX_DISPLAY_NAME_LENGTH = 128
CONFIG_HASH_VERSION = "v1"


class TuningConfigError(ValueError):
    """The tuning settings are invalid. ``problems`` lists every problem found, one sentence each."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        bullet_list = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"Invalid tuning settings ({len(self.problems)} problem(s)):\n{bullet_list}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class TuningConfig:
    """Settings of one supervised tuning job.

    :param base_model: Gemini model to tune (see the model catalog).
    :param training_uri: ``gs://`` URI of the training JSONL (Gemini tuning format).
    :param validation_uri: optional ``gs://`` URI of the validation JSONL.
    :param epochs: passes over the training data (1..:data:`MAX_EPOCHS`).
    :param adapter_size: LoRA rank, one the base model supports; ``None`` lets Vertex choose. Only for
        PEFT adapter tuning.
    :param learning_rate_multiplier: scales Vertex's recommended learning rate (0 < m <= 10).
    :param tuned_model_display_name: display name of the tuned model (at most 128 characters).
    :param description: description of the tuning job.
    :param labels: extra Vertex labels for the job and the resources it creates.
    :param tuning_mode: a value of :data:`TUNING_MODES` (default PEFT adapter); ``None`` sends no mode and
        lets Vertex use its default.
    :param export_last_checkpoint_only: export only the final checkpoint (Vertex's
        ``supervisedTuningSpec.exportLastCheckpointOnly``) instead of about one per epoch; then there is no
        checkpoint to choose from. Not hashed: it changes what is kept, not what is trained, so a job found
        with either value is reused.
    :param catalog: the model catalog the settings are checked against (default: the packaged one). Not
        a setting: it is left out of comparisons, the JSON form and the config hash.
    """

    base_model: str = DEFAULT_BASE_MODEL
    training_uri: str = ""
    validation_uri: str | None = None
    epochs: int = 3
    adapter_size: int | None = 4
    learning_rate_multiplier: float = 1.0
    tuned_model_display_name: str | None = None
    description: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    tuning_mode: str | None = TUNING_MODES["peft_adapter"]
    export_last_checkpoint_only: bool = False
    catalog: ModelCatalog | None = field(default=None, compare=False, repr=False)

    @classmethod
    def setting_names(cls) -> tuple[str, ...]:
        """The names of the settings (every field but ``catalog``)."""
        return tuple(item.name for item in fields(cls) if item.name != "catalog")

    @classmethod
    def validated(cls, catalog: ModelCatalog | None = None, **settings: Any) -> Self:
        """Build a config from keyword settings and validate it; settings left out keep their defaults.

        Unknown names are a problem (a misspelt setting would otherwise be silently ignored). Raises
        :class:`TuningConfigError` listing every problem at once.
        """
        known = cls.setting_names()
        unknown = sorted(set(settings) - set(known))
        if unknown:
            raise TuningConfigError([f"unknown setting(s) {unknown}; known settings are {sorted(known)}."])
        config = cls(catalog=catalog, **settings)
        config.validate()
        return config

    # ------------------------------------------------------------------ validation
    @property
    def model_catalog(self) -> ModelCatalog:
        """The catalog these settings are checked against."""
        return self.catalog if self.catalog is not None else default_catalog()

    @property
    def base_model_id(self) -> str:
        """The base model without a ``publishers/google/models/`` prefix."""
        return model_id(self.base_model) if isinstance(self.base_model, str) else ""

    def problems(self) -> list[str]:
        """Every problem with these settings, one sentence each saying what to change."""
        problems: list[str] = []
        catalog = self.model_catalog
        model = self.base_model_id
        if not isinstance(self.base_model, str):
            problems.append(f"base_model must be a model name (text), got {self.base_model!r}.")
        elif not model:
            problems.append(f"base_model is empty; use a tunable Gemini model such as {catalog.default_model!r}.")
        elif catalog.is_retired_family(model):
            problems.append(
                f"base_model {self.base_model!r} has been retired by Vertex AI (and a tuned model retires "
                f"with its base); use a current tunable model such as {catalog.default_model!r}."
            )
        problems.extend(self._uri_problems("training_uri", self.training_uri, required=True))
        if self.validation_uri is not None:
            problems.extend(self._uri_problems("validation_uri", self.validation_uri, required=False))
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or not 1 <= self.epochs <= MAX_EPOCHS:
            problems.append(f"epochs is {self.epochs!r}; use a whole number from 1 to {MAX_EPOCHS}.")
        problems.extend(self._adapter_size_problems(catalog))
        if not (
            _is_number(self.learning_rate_multiplier)
            and 0 < self.learning_rate_multiplier <= MAX_LEARNING_RATE_MULTIPLIER
        ):
            problems.append(
                f"learning_rate_multiplier is {self.learning_rate_multiplier!r}; use a number greater "
                f"than 0 and at most {MAX_LEARNING_RATE_MULTIPLIER:g} (1.0 keeps Vertex's recommended rate)."
            )
        if self.tuning_mode is not None and self.tuning_mode not in TUNING_MODES.values():
            problems.append(
                f"tuning_mode {self.tuning_mode!r} is unknown; use one of {sorted(TUNING_MODES.values())} "
                f"(TUNING_MODES maps the short names {sorted(TUNING_MODES)} to them)."
            )
        if self.tuning_mode == TUNING_MODES["full"] and self.adapter_size is not None:
            problems.append("adapter_size applies to PEFT adapter tuning only; leave it empty for tuning_mode 'full'.")
        for name in ("tuned_model_display_name", "description"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                problems.append(f"{name} must be text or empty, got {value!r}.")
        if (
            isinstance(self.tuned_model_display_name, str)
            and len(self.tuned_model_display_name) > MAX_DISPLAY_NAME_LENGTH
        ):
            problems.append(
                f"tuned_model_display_name has {len(self.tuned_model_display_name)} characters; "
                f"shorten it to at most {MAX_DISPLAY_NAME_LENGTH}."
            )
        if not isinstance(self.export_last_checkpoint_only, bool):
            problems.append(
                f"export_last_checkpoint_only must be true or false, got {self.export_last_checkpoint_only!r}."
            )
        problems.extend(validate_labels(self.labels))
        return problems

    def _adapter_size_problems(self, catalog: ModelCatalog) -> list[str]:
        size = self.adapter_size
        if size is None:
            return []
        if isinstance(size, bool) or size not in ADAPTER_SIZES:
            return [
                f"adapter_size {size!r} is not one Vertex offers; use one of {sorted(ADAPTER_SIZES)} "
                "(or leave it empty to let Vertex choose)."
            ]
        known = catalog.model(self.base_model_id) if self.base_model_id else None
        if known is not None and size not in known.adapter_sizes:
            return [
                f"adapter_size {size} is not supported for {known.name}; use one of {list(known.adapter_sizes)} "
                "(or leave it empty to let Vertex choose)."
            ]
        return []

    def warnings(self) -> list[str]:
        """Things that are allowed but worth a log line."""
        warnings = []
        model = self.base_model_id
        catalog = self.model_catalog
        if model and not model.startswith("projects/") and catalog.model(model) is None:
            warnings.append(
                f"base_model {self.base_model!r} is not in the list of known tunable models "
                f"{list(catalog.names)}; Vertex will reject it at creation if it cannot be tuned, "
                "and no cost estimate is available."
            )
        if self.validation_uri is None:
            warnings.append(
                "no validation_uri: Vertex reports no validation loss, so overfitting goes unnoticed until evaluation."
            )
        return warnings

    def validate(self) -> None:
        """Raise :class:`TuningConfigError` listing every problem, or return quietly."""
        problems = self.problems()
        if problems:
            raise TuningConfigError(problems)

    @staticmethod
    def _uri_problems(name: str, uri: object, *, required: bool) -> list[str]:
        if uri is None or uri == "":
            return [f"{name} is missing; pass the gs:// URI of the exported JSONL file."] if required else []
        if not isinstance(uri, str):
            return [f"{name} must be a gs:// URI (text), got {uri!r}."]
        if not uri.startswith("gs://") or len(uri) <= len("gs://") or "/" not in uri[len("gs://") :]:
            return [f"{name} {uri!r} is not a gs://<bucket>/<object> URI; Vertex reads tuning data from GCS."]
        if not uri.endswith(".jsonl"):
            return [f"{name} {uri!r} does not end in .jsonl; Vertex expects a JSONL file in Gemini format."]
        return []

    # ------------------------------------------------------------------ identity
    def hashed_settings(self) -> JsonObject:
        """The settings that change what is trained, i.e. what :meth:`config_hash` covers.

        Cosmetic settings (display name, description, labels) are left out so editing them does not
        launch and pay for a new job; the data (URIs and content) is identified by the dataset
        fingerprint, which labels the job separately.
        """
        return {
            "version": CONFIG_HASH_VERSION,
            "base_model": self.base_model_id,
            "epochs": self.epochs,
            "adapter_size": self.adapter_size,
            "learning_rate_multiplier": float(self.learning_rate_multiplier),
            "tuning_mode": self.tuning_mode,
        }

    def config_hash(self) -> str:
        """A 16-hex-character hash of :meth:`hashed_settings` (stable across processes and versions)."""
        canonical = json.dumps(self.hashed_settings(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]

    def job_labels(self, dataset_fingerprint: str, *, pipeline_id: str) -> dict[str, str]:
        """The labels the job carries: the user's plus the identity labels a launch matches on.

        ``pipeline_id`` names the pipeline that owns the job (e.g. the DAG id), so two pipelines tuning the
        same data with the same settings in one project keep separate jobs.
        """
        problems = []
        fingerprint = pipeline = ""
        try:
            fingerprint = identity_label_value(
                "dataset_fingerprint", dataset_fingerprint, "pass the export's fingerprint of the training data"
            )
        except ValueError as error:
            problems.append(str(error))
        try:
            pipeline = identity_label_value("pipeline_id", pipeline_id, PIPELINE_ID_HINT)
        except ValueError as error:
            problems.append(str(error))
        if problems:
            raise TuningConfigError(problems)
        return {
            **dict(self.labels),
            DATASET_LABEL_KEY: fingerprint,
            CONFIG_LABEL_KEY: self.config_hash(),
            PIPELINE_LABEL_KEY: pipeline,
            MANAGED_BY_LABEL_KEY: MANAGED_BY_LABEL_VALUE,
        }

    def identity_labels(self, dataset_fingerprint: str, *, pipeline_id: str) -> dict[str, str]:
        """Only the labels that identify the job (what a reuse lookup filters on)."""
        labels = self.job_labels(dataset_fingerprint, pipeline_id=pipeline_id)
        return {key: labels[key] for key in sorted(IDENTITY_LABEL_KEYS)}

    def request(self, dataset_fingerprint: str, *, pipeline_id: str) -> TuningRequest:
        """The ``client.tunings.tune`` request for this configuration (validated first)."""
        from gemini_qa_tuning.tuning.request import TuningRequest

        self.validate()
        return TuningRequest(
            base_model=self.base_model,
            training_uri=self.training_uri,
            validation_uri=self.validation_uri,
            epoch_count=self.epochs,
            adapter_size=ADAPTER_SIZES[self.adapter_size] if self.adapter_size is not None else None,
            learning_rate_multiplier=float(self.learning_rate_multiplier),
            tuning_mode=self.tuning_mode,
            tuned_model_display_name=self.tuned_model_display_name,
            description=self.description,
            labels=self.job_labels(dataset_fingerprint, pipeline_id=pipeline_id),
            export_last_checkpoint_only=self.export_last_checkpoint_only,
        )

    # ------------------------------------------------------------------ JSON
    def to_json(self) -> JsonObject:
        """The settings as JSON (the catalog is not a setting and is left out)."""
        labels: dict[str, JsonValue] = dict(self.labels)
        return {
            "base_model": self.base_model,
            "training_uri": self.training_uri,
            "validation_uri": self.validation_uri,
            "epochs": self.epochs,
            "adapter_size": self.adapter_size,
            "learning_rate_multiplier": self.learning_rate_multiplier,
            "tuned_model_display_name": self.tuned_model_display_name,
            "description": self.description,
            "labels": labels,
            "tuning_mode": self.tuning_mode,
            "export_last_checkpoint_only": self.export_last_checkpoint_only,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        """The config :meth:`to_json` wrote, validated (raises :class:`TuningConfigError`)."""
        settings: dict[str, Any] = dict(data)
        return cls.validated(**settings)
