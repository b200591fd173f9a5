"""The champion's Model Registry alias: which tuned model version serving should use, by name.

Every Vertex AI tuned model is a Model Registry model (``tunedModel.model`` =
``projects/N/locations/L/models/M@1``). On promotion the champion's version gets a version alias
(``champion`` by default; the Param ``champion_alias``) and the previous champion's version loses it, so
anything that serves "the champion" can ask for ``…/models/M@champion`` — the alias convention MLflow
also moved to. Google's call is ``models.mergeVersionAliases``
(https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.models/mergeVersionAliases):
``-alias`` removes an alias; aliases are unique among one model's versions and ``default`` is reserved
(https://cloud.google.com/vertex-ai/docs/model-registry/versioning).

**Which client.** ``google-cloud-aiplatform``'s ``aiplatform.models.ModelRegistry(model=…)``
(``add_version_aliases`` / ``remove_version_aliases`` / ``list_versions``; sample:
googleapis/python-aiplatform ``samples/model-builder/model_registry/``) builds its client from the
process-wide ``aiplatform.init(api_endpoint=…, api_transport=…)`` — global state that would leak between
tasks and tests in one process. The Google provider's ``ModelServiceHook.add_version_aliases`` builds a
gRPC client pinned to ``{region}-aiplatform.googleapis.com:443``, which cannot reach a local emulator. So
this module uses the GAPIC client that ``ModelRegistry`` itself calls, ``aiplatform_v1.ModelServiceClient``,
with the same methods (``merge_version_aliases``, ``get_model``, ``list_model_versions``,
``delete_model``), built per call site with explicit credentials and endpoint: ``transport="rest"`` with
``client_options.api_endpoint`` = Google's regional host, or an ``http://`` URL for the emulator (the GAPIC
REST transport keeps a scheme given in the endpoint; gRPC would need TLS or a channel of our own).

**Order of the alias step and the record** (see docs/architecture.md, "Champion alias"): the champion
record is written first, by the conditional write that decides which run wins; the alias moves after.
A failure in between leaves the record naming the new champion and the alias on the old one: the next
:func:`reconcile_alias` (a retry of the promotion, the next run's ``find_champion``, or a rollback) moves
it, because the record is the truth and the alias follows it. The other order could leave the alias on
the model of a run that then lost the race.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

__all__ = [
    "DEFAULT_ALIAS",
    "AliasChange",
    "InvalidAliasError",
    "ModelRegistry",
    "ModelVersion",
    "VertexModelRegistry",
    "check_alias",
    "reconcile_alias",
]

logger = logging.getLogger(__name__)

#: Vertex names every model's default version ``default``: reserved, never ours to move.
DEFAULT_ALIAS = "default"
_ALIAS = re.compile(r"^[a-z][a-zA-Z0-9-]{0,126}[a-z-0-9]$")
_MODEL_NAME = re.compile(r"^(?P<model>projects/[^/]+/locations/[^/]+/models/[^/@]+)(?:@(?P<version>[^/@]+))?$")


class InvalidAliasError(ValueError):
    """The alias is one Vertex refuses: reserved, or not of the allowed form."""


def check_alias(alias: str) -> str:
    """``alias`` when Vertex accepts it as a version alias; raises InvalidAliasError saying why not."""
    if alias == DEFAULT_ALIAS:
        raise InvalidAliasError(
            f"champion_alias {alias!r} is reserved by Vertex AI for each model's default version; choose "
            "another name, e.g. 'champion'."
        )
    if not _ALIAS.fullmatch(alias):
        raise InvalidAliasError(
            f"champion_alias {alias!r} is not a valid Vertex AI version alias: at most 128 characters, a "
            "lowercase letter first, then letters, digits or '-', ending in a lowercase letter, digit or '-'."
        )
    return alias


@dataclass(frozen=True)
class ModelVersion:
    """One Model Registry version: ``projects/…/models/M`` and its version id."""

    model: str
    version: str

    @property
    def name(self) -> str:
        """``projects/…/models/M@<version>``, the name ``mergeVersionAliases`` requires."""
        return f"{self.model}@{self.version}"

    @classmethod
    def parse(cls, name: str, version: str | None = None) -> ModelVersion:
        """From ``projects/…/models/M@1`` (or the bare model name and ``version``); raises ValueError."""
        match = _MODEL_NAME.fullmatch(name.strip())
        if match is None:
            raise ValueError(f"{name!r} is not a Model Registry model name (projects/…/locations/…/models/M@1)")
        found = version or match["version"]
        if not found:
            raise ValueError(f"{name!r} names no version; give one (…/models/M@1)")
        return cls(model=match["model"], version=found)


@dataclass(frozen=True)
class AliasChange:
    """What :func:`reconcile_alias` did: the version that got the alias, and those that lost it."""

    alias: str
    added_to: ModelVersion | None
    removed_from: tuple[ModelVersion, ...]

    @property
    def changed(self) -> bool:
        return self.added_to is not None or bool(self.removed_from)

    def describe(self) -> str:
        parts = []
        if self.added_to is not None:
            parts.append(f"alias {self.alias!r} added to {self.added_to.name}")
        parts.extend(f"removed from {version.name}" for version in self.removed_from)
        return "; ".join(parts) or f"alias {self.alias!r} already in place"


class ModelRegistry(Protocol):
    """The Model Registry calls the champion's alias needs (:class:`VertexModelRegistry` implements them)."""

    def version_aliases(self, version: ModelVersion) -> tuple[str, ...] | None:
        """The aliases of ``version``; ``None`` when the model no longer exists."""

    def merge_version_aliases(self, version: ModelVersion, aliases: Sequence[str]) -> None:
        """``models.mergeVersionAliases``: ``alias`` adds, ``-alias`` removes."""

    def delete_model(self, model: str) -> bool:
        """Delete a model (every version); ``False`` when it was already gone."""


def reconcile_alias(
    registry: ModelRegistry, alias: str, champion: ModelVersion | None, others: Iterable[ModelVersion]
) -> AliasChange:
    """Make ``champion`` (``None``: a publisher model, no registry version) the one holder of ``alias``.

    ``others`` are the versions that may still hold it (the earlier champions in the history). The alias
    is added first and removed after, so at no moment does no version hold it — and each call only does
    what is missing: a repeated call changes nothing, and a call after a failure completes the move.
    """
    check_alias(alias)
    added_to = None
    if champion is not None:
        aliases = registry.version_aliases(champion)
        if aliases is None:
            raise LookupError(
                f"The champion's model version {champion.name} is not in the Model Registry: it was deleted, "
                "or the record names the wrong model. Roll back to an earlier champion, or repair the record."
            )
        if alias not in aliases:
            registry.merge_version_aliases(champion, [alias])
            added_to = champion
    removed = []
    for version in dict.fromkeys(others):  # each once, in the order given
        if version == champion:
            continue
        aliases = registry.version_aliases(version)
        if aliases is not None and alias in aliases:
            registry.merge_version_aliases(version, [f"-{alias}"])
            removed.append(version)
    change = AliasChange(alias=alias, added_to=added_to, removed_from=tuple(removed))
    logger.info("Model Registry: %s", change.describe())
    return change


class VertexModelRegistry:
    """The Vertex AI Model Registry through ``google-cloud-aiplatform``'s ``ModelServiceClient`` (REST).

    :param credentials: google-auth credentials every request is signed with.
    :param location: the Vertex AI region (``us-central1``); Google's endpoint is
        ``{location}-aiplatform.googleapis.com``.
    :param base_url: another endpoint, e.g. ``http://127.0.0.1:8090`` for the local emulator.
    """

    def __init__(self, credentials: Credentials, location: str, base_url: str | None = None) -> None:
        from google.api_core.client_options import ClientOptions
        from google.cloud import aiplatform_v1

        endpoint = (base_url or f"https://{location}-aiplatform.googleapis.com").rstrip("/")
        self._client: Any = aiplatform_v1.ModelServiceClient(
            credentials=credentials, transport="rest", client_options=ClientOptions(api_endpoint=endpoint)
        )
        self.endpoint = endpoint

    def version_aliases(self, version: ModelVersion) -> tuple[str, ...] | None:
        from google.api_core.exceptions import NotFound

        try:
            model = self._client.get_model(name=version.name)
        except NotFound:
            return None
        return tuple(model.version_aliases)

    def merge_version_aliases(self, version: ModelVersion, aliases: Sequence[str]) -> None:
        self._client.merge_version_aliases(name=version.name, version_aliases=list(aliases))

    def list_versions(self, model: str) -> list[tuple[str, tuple[str, ...]]]:
        """``(version id, aliases)`` of each version of ``model``."""
        return [(item.version_id, tuple(item.version_aliases)) for item in self._client.list_model_versions(name=model)]

    def delete_model(self, model: str) -> bool:
        from google.api_core.exceptions import NotFound

        try:
            operation = self._client.delete_model(name=model)
        except NotFound:
            return False
        operation.result(timeout=300)
        return True

    def close(self) -> None:
        self._client.transport.close()
