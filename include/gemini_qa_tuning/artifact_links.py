"""Where a browser opens a run's artifact: the Google Cloud console, or offline the local emulators.

A ``gs://`` object or folder, a tuned model version or an endpoint resource name becomes a URL. With the
emulators configured (``STORAGE_EMULATOR_HOST``, ``GOOGLE_VERTEX_BASE_URL``, as ``make airflow`` sets them)
the URL is the emulator's REST resource (fake-gcs-server's JSON API object or listing, the Vertex AI
emulator's ``v1`` resource), which a browser on the same machine can open; a console page would be dead.

The kinds of artifact a run leaves (:class:`ArtifactKind`) are named here once: the *Results* tab lists
them and each has its operator extra link (``gemini_qa_tuning.links.artifacts``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

CONSOLE = "https://console.cloud.google.com"
#: Set (by ``make airflow``, ``make demo``) to fake-gcs-server's URL: storage objects are opened there.
STORAGE_EMULATOR_ENV = "STORAGE_EMULATOR_HOST"
#: Set to the Vertex AI emulator's URL (the genai hook's ``BASE_URL_ENV``; a test keeps the two equal).
VERTEX_BASE_URL_ENV = "GOOGLE_VERTEX_BASE_URL"


@dataclass(frozen=True)
class ArtifactKind:
    """One kind of artifact a run leaves: its label (a link's name) and whether it is a folder."""

    label: str
    folder: bool = False


REPORT = ArtifactKind("Run report")
METRICS = ArtifactKind("metrics.json")
DATASET = ArtifactKind("Dataset folder", folder=True)
TUNED_MODEL = ArtifactKind("Tuned model")
ENDPOINT = ArtifactKind("Endpoint")
SUMMARY = ArtifactKind("summary.json")

_MODEL = re.compile(
    r"projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/models/(?P<model>[^/@]+)(?:@(?P<v>\w+))?"
)
_ENDPOINT = re.compile(r"projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/endpoints/(?P<endpoint>[^/]+)")


def artifact_url(
    uri: str, *, folder: bool = False, storage_emulator: str | None = None, vertex_base_url: str | None = None
) -> str | None:
    """The URL to open ``uri`` (``gs://…``, ``projects/…/models/M@V``, ``projects/…/endpoints/E``); ``None``
    for anything else (e.g. a local path, which the browser of another machine could not open)."""
    if uri.startswith("gs://"):
        bucket, _, name = uri.removeprefix("gs://").partition("/")
        if storage_emulator:
            base = f"{storage_emulator.rstrip('/')}/storage/v1/b/{quote(bucket)}/o"
            return (
                f"{base}?prefix={quote(name.rstrip('/') + '/')}"
                if folder
                else f"{base}/{quote(name, safe='')}?alt=media"
            )
        kind = "browser" if folder else "browser/_details"
        return f"{CONSOLE}/storage/{kind}/{quote(bucket)}/{quote(name)}"
    if match := _MODEL.fullmatch(uri):
        if vertex_base_url:
            return f"{vertex_base_url.rstrip('/')}/v1/{uri}"
        version = match["v"] or "default"
        return (
            f"{CONSOLE}/vertex-ai/models/locations/{match['location']}/models/{match['model']}/versions/{version}"
            f"/properties?project={match['project']}"
        )
    if match := _ENDPOINT.fullmatch(uri):
        if vertex_base_url:
            return f"{vertex_base_url.rstrip('/')}/v1/{uri}"
        location, endpoint, project = match["location"], match["endpoint"], match["project"]
        return f"{CONSOLE}/vertex-ai/locations/{location}/endpoints/{endpoint}?project={project}"
    return None


def local_artifact_url(kind: ArtifactKind, uri: str, environ: Mapping[str, str] | None = None) -> str | None:
    """:func:`artifact_url` for ``uri`` with the emulators this process is configured for (``environ``,
    by default the process environment); the console when none is."""
    env = os.environ if environ is None else environ
    return artifact_url(
        uri,
        folder=kind.folder,
        storage_emulator=env.get(STORAGE_EMULATOR_ENV) or None,
        vertex_base_url=env.get(VERTEX_BASE_URL_ENV) or None,
    )
