"""Model Registry routes: the tuned models as registry models with versions and version aliases.

Vertex AI puts each tuned model in the Model Registry (``tunedModel.model`` =
``projects/N/locations/L/models/M@1``); the pipeline reads it and moves its champion alias with
``models.get``, ``models.listVersions``, ``models.mergeVersionAliases`` and removes losing models with
``models.delete``. The rules, as Google documents them (read 2026-12-01):

* ``models.mergeVersionAliases`` —
  https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.models/mergeVersionAliases :
  ``name`` must carry an explicit version id (``…/models/M@1``); ``versionAliases`` is required; each alias
  is at most 128 characters and matches ``[a-z][a-zA-Z0-9-]{0,126}[a-z-0-9]``; a ``-`` prefix removes the
  alias; adding and removing the same alias in one request cancel out; the response is the Model.
* Model versioning — https://cloud.google.com/vertex-ai/docs/model-registry/versioning : an alias is
  unique among a model's versions, and ``default`` is reserved (it always names the default version and
  cannot be added or removed by hand).
* ``models.get`` — https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.models/get :
  ``name`` may carry ``@<version id>`` or ``@<alias>``; without one, the default version.
* ``models.listVersions`` —
  https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.models/listVersions :
  ``{"models": [...], "nextPageToken"}``.
* ``models.delete`` — https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.models/delete :
  a long-running operation. ASSUMPTION: the emulator also removes the endpoints the tuning job created
  for the model (Google documents that a model deployed to an endpoint cannot be deleted; the emulator
  has no undeploy call, so it stands for "undeploy, delete the endpoints, delete the model").

A tuned model exists in the registry only once its tuning job has succeeded (Vertex uploads it then).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from aiohttp import web

from devtools.vertex_emulator import jobs
from devtools.vertex_emulator.errors import invalid_argument, not_found
from devtools.vertex_emulator.store import Store, TunedModelRecord, resource_name

#: Each tuned model is a registry model with one version (a new tuning job makes a new model).
VERSION_ID = "1"
DEFAULT_ALIAS = "default"
_ALIAS = re.compile(r"^[a-z][a-zA-Z0-9-]{0,126}[a-z-0-9]$")

#: (HTTP method, method key, path suffix under ``P/``, handler name) of each registry route.
REGISTRY_ROUTES = (
    ("GET", "models.listVersions", r"models/(?P<model_ref>[^/:]+):listVersions", "list_model_versions"),
    (
        "POST",
        "models.mergeVersionAliases",
        r"models/(?P<model_ref>[^/:]+):mergeVersionAliases",
        "merge_version_aliases",
    ),
    ("GET", "models.get", r"models/(?P<model_ref>[^/:]+)", "get_model"),
    ("DELETE", "models.delete", r"models/(?P<model_ref>[^/:]+)", "delete_model"),
)
REGISTRY_METHODS = tuple(route[1] for route in REGISTRY_ROUTES)


def _split_ref(model_ref: str) -> tuple[str, str | None]:
    """``"123@1"`` -> ``("123", "1")``; an alias after ``@`` likewise; ``"123"`` -> ``("123", None)``."""
    model_id, _, version = model_ref.partition("@")
    return model_id, (version or None)


def model_json(store: Store, model: TunedModelRecord) -> dict[str, Any]:
    """The Model resource of a tuned model's only version, as ``models.get`` returns it."""
    job = store.jobs[model.job_id]
    created = jobs.timestamp(job.create_time)
    return {
        "name": resource_name(job.name_project, model.location, "models", model.model_id),
        "displayName": model.display_name or f"tuned-{model.model_id}",
        "versionId": VERSION_ID,
        "versionAliases": list(model.version_aliases),
        "createTime": created,
        "updateTime": created,
        "versionCreateTime": created,
        "versionUpdateTime": created,
        "baseModelSource": {"genieSource": {"baseModelUri": model.base_model}},
        "labels": {"google-vertex-llm-tuning-job-id": model.job_id},
    }


class RegistryRoutes:
    """The Model Registry handlers of :class:`devtools.vertex_emulator.server.Emulator` (a mixin)."""

    store: Store

    def _registry_model(self, params: dict[str, str]) -> tuple[TunedModelRecord, str | None]:
        """The addressed model (404 unless its job succeeded) and the version or alias the name carries."""
        model_id, version = _split_ref(params["model_ref"])
        model = self.store.models.get(model_id)
        job = self.store.jobs.get(model.job_id) if model else None
        name = resource_name(params["project"], params["location"], "models", params["model_ref"])
        if (
            model is None
            or job is None
            or not job.in_project(params["project"])
            or model.location != params["location"]
            or jobs.current_state(job, time.time()) != jobs.SUCCEEDED
        ):
            raise not_found(f"Model {name} not found.")
        if version is not None and version != VERSION_ID and version not in model.version_aliases:
            raise not_found(f"Model {name} not found: no version or alias {version!r}.")
        return model, version

    async def get_model(self, request: web.Request, params: dict[str, str]) -> web.Response:
        model, _ = self._registry_model(params)
        return web.json_response(model_json(self.store, model))

    async def list_model_versions(self, request: web.Request, params: dict[str, str]) -> web.Response:
        model, version = self._registry_model(params)
        if version is not None:
            raise invalid_argument("models.listVersions takes a model name without @version.")
        return web.json_response({"models": [model_json(self.store, model)]})

    async def merge_version_aliases(self, request: web.Request, params: dict[str, str]) -> web.Response:
        model, version = self._registry_model(params)
        if version != VERSION_ID:
            raise invalid_argument(
                "The name of the model version to merge aliases must include a version id explicitly "
                f"(e.g. models/{model.model_id}@{VERSION_ID}), got {params['model_ref']!r}."
            )
        raw = await request.read()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise invalid_argument(f"Invalid JSON payload received: {error}.") from None
        if not isinstance(body, dict) or set(body) - {"versionAliases", "version_aliases", "name"}:
            raise invalid_argument('mergeVersionAliases takes {"versionAliases": [...]}.')
        aliases = body.get("versionAliases", body.get("version_aliases"))
        if not isinstance(aliases, list) or not aliases or not all(isinstance(alias, str) for alias in aliases):
            raise invalid_argument("versionAliases is required: a non-empty list of aliases ('-alias' removes one).")
        added: set[str] = set()
        removed: set[str] = set()
        for alias in aliases:
            bare = alias[1:] if alias.startswith("-") else alias
            if not _ALIAS.fullmatch(bare):
                raise invalid_argument(
                    f"Invalid version alias {alias!r}: an alias has at most 128 characters and matches "
                    "[a-z][a-zA-Z0-9-]{0,126}[a-z-0-9] ('-' prefix to remove)."
                )
            if bare == DEFAULT_ALIAS:
                raise invalid_argument(f"The version alias {DEFAULT_ALIAS!r} is reserved and cannot be changed.")
            (removed if alias.startswith("-") else added).add(bare)
        cancelled = added & removed  # "the 2 operations will be cancelled out"
        added, removed = added - cancelled, removed - cancelled
        # An alias is unique among one model's versions; a tuned model has one version, so no other version
        # can hold it (aliases of different models are independent, as on Vertex).
        model.version_aliases = [alias for alias in model.version_aliases if alias not in removed] + sorted(
            alias for alias in added if alias not in model.version_aliases
        )
        self.store.save()
        return web.json_response(model_json(self.store, model))

    async def delete_model(self, request: web.Request, params: dict[str, str]) -> web.Response:
        model, version = self._registry_model(params)
        if version is not None:
            raise invalid_argument(
                "models.delete takes a model name without @version (models.deleteVersion removes one)."
            )
        job = self.store.jobs[model.job_id]
        name = resource_name(job.name_project, model.location, "models", model.model_id)
        for endpoint_id in [
            key for key, endpoint in self.store.endpoints.items() if endpoint.model_id == model.model_id
        ]:
            del self.store.endpoints[endpoint_id]
        del self.store.models[model.model_id]
        self.store.save()
        return web.json_response(
            {
                "name": f"{name}/operations/{self.store.new_id()}",
                "done": True,
                "response": {"@type": "type.googleapis.com/google.protobuf.Empty"},
            }
        )
