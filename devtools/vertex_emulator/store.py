"""The emulator's resources (tuning jobs, tuned models, endpoints) and their optional state file.

Job states are not stored: they are derived from wall-clock timestamps when read (see ``jobs.py``), so
the store changes only on create, cancel, reset and the admin hold/advance calls, and a restarted
emulator continues where it was.
The state file is rewritten atomically (temporary file + rename) after each change.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

STATE_FORMAT = "vertex-emulator-state/1"


def resource_name(project: str, location: str, collection: str, resource_id: str) -> str:
    """A Vertex AI resource name, e.g. ``projects/p/locations/l/endpoints/42``."""
    return f"projects/{project}/locations/{location}/{collection}/{resource_id}"


@dataclass
class TuningJobRecord:
    """A tuning job as created; its state follows from the timestamps and durations fixed at creation."""

    job_id: str
    project: str
    location: str
    create_time: float
    request: dict[str, Any]  # the fields echoed back: baseModel, supervisedTuningSpec, labels, ...
    outcome: str  # planned end: succeed | fail | cancel | never_finish
    pending_seconds: float
    queued_seconds: float
    running_seconds: float
    cancelling_seconds: float
    data_error: dict[str, Any] | None = None  # {code, message} when the dataset check failed
    data_stats: dict[str, Any] | None = None  # tuningDataStats
    model_id: str | None = None
    endpoint_id: str | None = None
    cancel_time: float | None = None  # when a client asked to cancel
    # Emulator-only test control (POST /_emulator/tuningJobs/{id}:hold and :advance), never Vertex behaviour:
    hold_state: str | None = None  # the clock moves the job no further than this state
    admin_transitions: list[dict[str, Any]] | None = None  # once advanced: the whole history, {state, at, error}
    project_number: str | None = None  # shown in resource names instead of the project id, as Vertex does
    epochs: int = 3
    steps_per_epoch: int = 1
    # One {"epoch", "endpoint_id"} per exported checkpoint (every epoch unless exportLastCheckpointOnly).
    checkpoint_endpoints: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int | None = None  # the checkpoint that answers best (None: the last)

    @property
    def name_project(self) -> str:
        """The project segment of the resource names this job returns."""
        return self.project_number or self.project

    def in_project(self, project: str) -> bool:
        """Whether a request addressed to ``project`` (id or number) reaches this job."""
        return project in (self.project, self.project_number)

    @property
    def name(self) -> str:
        return resource_name(self.name_project, self.location, "tuningJobs", self.job_id)


@dataclass
class TunedModelRecord:
    """A tuned model with the stand-in reader profile learned from its training file."""

    model_id: str
    project: str
    location: str
    job_id: str
    base_model: str
    display_name: str | None
    training_dataset_uri: str
    reader_profile: dict[str, Any]
    # Model Registry version aliases of its only version (registry.py); "default" is always there.
    version_aliases: list[str] = field(default_factory=lambda: ["default"])
    # models.patch: the checkpoint the tuned model's endpoint serves (None: the last one, Vertex's default)
    default_checkpoint_id: str | None = None
    description: str | None = None


@dataclass
class EndpointRecord:
    """An endpoint serving one tuned model; it answers only once its tuning job has succeeded."""

    endpoint_id: str
    project: str
    location: str
    model_id: str
    job_id: str
    epoch: int | None = None  # the checkpoint it serves; None: the default (final) one
    project_number: str | None = None

    def in_project(self, project: str) -> bool:
        return project in (self.project, self.project_number)


class Store:
    """All resources of one emulator, optionally persisted to a JSON state file."""

    def __init__(self, state_file: Path | None = None):
        self.state_file = state_file
        self.jobs: dict[str, TuningJobRecord] = {}
        self.models: dict[str, TunedModelRecord] = {}
        self.endpoints: dict[str, EndpointRecord] = {}
        self._last_id = 0

    @classmethod
    def open(cls, state_file: Path | None) -> Store:
        """A store, loaded from ``state_file`` when that file exists."""
        store = cls(state_file)
        if state_file is not None and state_file.exists():
            store._load(state_file)
        return store

    def new_id(self) -> str:
        """A fresh numeric resource id, unique across restarts and resets (time-based, like Vertex's)."""
        self._last_id = max(self._last_id + 1, time.time_ns() // 1000)
        return str(self._last_id)

    def clear(self) -> None:
        """Forget every job, model and endpoint (ids keep increasing)."""
        self.jobs.clear()
        self.models.clear()
        self.endpoints.clear()
        self.save()

    def save(self) -> None:
        """Write the state file atomically, when there is one."""
        if self.state_file is None:
            return
        document = {
            "format": STATE_FORMAT,
            "last_id": self._last_id,
            "jobs": [dataclasses.asdict(job) for job in self.jobs.values()],
            "models": [dataclasses.asdict(model) for model in self.models.values()],
            "endpoints": [dataclasses.asdict(endpoint) for endpoint in self.endpoints.values()],
        }
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=self.state_file.parent, prefix=f".{self.state_file.name}.")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(document, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.state_file)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _load(self, state_file: Path) -> None:
        try:
            document = json.loads(state_file.read_text(encoding="utf-8"))
            if document.get("format") != STATE_FORMAT:
                raise ValueError(f"format is {document.get('format')!r}, expected {STATE_FORMAT!r}")
            self._last_id = int(document["last_id"])
            self.jobs = {job["job_id"]: TuningJobRecord(**job) for job in document["jobs"]}
            self.models = {model["model_id"]: TunedModelRecord(**model) for model in document["models"]}
            self.endpoints = {endpoint["endpoint_id"]: EndpointRecord(**endpoint) for endpoint in document["endpoints"]}
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(
                f"Cannot load the emulator state file {state_file}: {error}. Delete it to start empty."
            ) from error
        logger.info(
            "loaded %d tuning jobs, %d models, %d endpoints from %s",
            len(self.jobs),
            len(self.models),
            len(self.endpoints),
            state_file,
        )
