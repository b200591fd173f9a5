"""The tuned ``Model`` resource and ``models.patch`` of its default checkpoint.

Vertex sources (read 2026-12-01):

* ``PATCH v1/{model.name}`` with ``updateMask`` ("Required. The update mask applies to the resource.")
  and a ``Model`` body; ``Model.defaultCheckpointId`` is writable ("The default checkpoint id of a model
  version"), ``Model.checkpoints[]`` (``{checkpointId, epoch, step}``) is output only —
  https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.models/patch and
  https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.models#Model.
* "The tuned model endpoint represents the endpoint of the default checkpoint" —
  https://cloud.google.com/vertex-ai/generative-ai/docs/models/tuning-checkpoints.
* google-genai's ``client.models.update(model=…, config=UpdateModelConfig(default_checkpoint_id=…))``
  sends the PATCH with the body ``{"defaultCheckpointId": …}`` and **no** ``updateMask`` (google/genai/models.py,
  ``_UpdateModelConfig_to_vertex``), and Google's recorded SDK tests pass against Vertex, so Vertex takes
  the body's fields as the mask then. The emulator does the same; with an ``updateMask`` it applies
  exactly the listed paths, as a ``FieldMask`` does.

Strict where the pipeline could notice: an unknown or output-only path, a body field outside the
mask's writable set, or a checkpoint id the model does not have is 400 ``INVALID_ARGUMENT`` with
``google.rpc.BadRequest`` field violations; an unknown model or version is 404.
"""

from __future__ import annotations

from typing import Any

from devtools.vertex_emulator.errors import bad_request, invalid_argument, not_found
from devtools.vertex_emulator.store import TunedModelRecord, TuningJobRecord, resource_name

# The Model fields this emulator lets a patch write (camelCase as on the wire, snake_case accepted in masks).
WRITABLE_FIELDS = ("defaultCheckpointId", "displayName", "description")
_SNAKE_TO_CAMEL = {"default_checkpoint_id": "defaultCheckpointId", "display_name": "displayName"}
# The emulator's tuned models have one version, as a model tuned from a base model does ("version ID will be 1").
VERSION_ID = "1"


def checkpoint_ids(job: TuningJobRecord) -> list[str]:
    """The ids of the checkpoints a job exported (the emulator numbers them by epoch)."""
    return [str(checkpoint["epoch"]) for checkpoint in job.checkpoint_endpoints]


def default_epoch(model: TunedModelRecord, job: TuningJobRecord) -> int:
    """The epoch whose checkpoint the tuned model's own endpoint serves: the default checkpoint's, else the last."""
    if model.default_checkpoint_id is not None:
        return int(model.default_checkpoint_id)
    return job.epochs


def model_json(model: TunedModelRecord, job: TuningJobRecord) -> dict[str, Any]:
    """The ``Model`` resource of a tuned model (the fields the pipeline reads)."""
    body: dict[str, Any] = {
        "name": resource_name(job.name_project, model.location, "models", model.model_id),
        "versionId": VERSION_ID,
        "displayName": model.display_name or f"tuned-{model.model_id}",
        "checkpoints": [
            {
                "checkpointId": str(checkpoint["epoch"]),
                "epoch": str(checkpoint["epoch"]),
                "step": str(checkpoint["epoch"] * job.steps_per_epoch),
            }
            for checkpoint in job.checkpoint_endpoints
        ],
    }
    if model.description is not None:
        body["description"] = model.description
    ids = checkpoint_ids(job)
    default = model.default_checkpoint_id or (ids[-1] if ids else None)
    if default is not None:
        body["defaultCheckpointId"] = default
    return body


def _mask_paths(update_mask: str | None, body: dict[str, Any]) -> list[str]:
    if update_mask is None:
        return list(body)  # google-genai sends none: the body's fields are the mask
    paths = [_SNAKE_TO_CAMEL.get(path.strip(), path.strip()) for path in update_mask.split(",") if path.strip()]
    if not paths:
        raise invalid_argument("updateMask is empty; name the fields to update, e.g. updateMask=defaultCheckpointId.")
    return paths


def apply_patch(model: TunedModelRecord, job: TuningJobRecord, body: Any, update_mask: str | None) -> None:
    """Apply a ``models.patch`` to ``model``; a refused patch raises ``ApiError`` and changes nothing."""
    if not isinstance(body, dict):
        raise invalid_argument("The request body must be a Model JSON object.")
    paths = _mask_paths(update_mask, body)
    violations = [
        (
            f"update_mask.paths[{index}]" if update_mask is not None else path,
            f"{path!r} cannot be updated: it is not a field, or it is output only. Updatable here: "
            f"{', '.join(WRITABLE_FIELDS)}.",
        )
        for index, path in enumerate(paths)
        if path not in WRITABLE_FIELDS
    ]
    if violations:
        raise bad_request(violations)
    updates = {path: body.get(path) for path in paths}
    problems: list[tuple[str, str]] = []
    if "defaultCheckpointId" in updates:
        wanted = updates["defaultCheckpointId"]
        ids = checkpoint_ids(job)
        if not isinstance(wanted, str) or wanted not in ids:
            problems.append(
                (
                    "model.default_checkpoint_id",
                    f"Checkpoint {wanted!r} does not exist for model {model.model_id}; its checkpoints are {ids}.",
                )
            )
    if "displayName" in updates and (not isinstance(updates["displayName"], str) or not updates["displayName"]):
        problems.append(("model.display_name", "displayName must be a non-empty string."))
    if "description" in updates and not isinstance(updates["description"], str | None):
        problems.append(("model.description", "description must be a string."))
    if problems:
        raise bad_request(problems)
    if "defaultCheckpointId" in updates:
        model.default_checkpoint_id = updates["defaultCheckpointId"]
    if "displayName" in updates:
        model.display_name = updates["displayName"]
    if "description" in updates:
        model.description = updates["description"]


def check_version(version: str | None, name: str) -> None:
    """404 for a version the model does not have (``@1``, or none = the default version, exist)."""
    if version is not None and version not in (VERSION_ID, "default"):
        raise not_found(f"Model {name}@{version} not found: the model has version {VERSION_ID} only.")
