"""Names of what a tuning job is and carries: its resource name, its console page and its labels.

A job this package launched is identified by four labels (see :data:`IDENTITY_LABEL_KEYS`): the
dataset fingerprint, the config hash, the pipeline that owns it and ``managed-by``. The pipeline label
keeps two DAGs (or teams) that tune the same data in one project from reusing or skipping each other's
jobs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote

__all__ = [
    "CONFIG_LABEL_KEY",
    "CONSOLE_BASE_URL",
    "DATASET_LABEL_KEY",
    "IDENTITY_LABEL_KEYS",
    "MANAGED_BY_LABEL_KEY",
    "MANAGED_BY_LABEL_VALUE",
    "MAX_LABELS",
    "MAX_LABEL_LENGTH",
    "PIPELINE_LABEL_KEY",
    "TuningJobNameError",
    "console_url",
    "console_url_or_name",
    "identity_label_value",
    "label_value",
    "labels_filter",
    "parse_job_name",
    "validate_labels",
]

# Label keys that identify a job this package launched. Keys must start with a lowercase letter.
DATASET_LABEL_KEY = "dataset-fingerprint"
CONFIG_LABEL_KEY = "tuning-config-hash"
PIPELINE_LABEL_KEY = "pipeline"
MANAGED_BY_LABEL_KEY = "managed-by"
MANAGED_BY_LABEL_VALUE = "gemini-qa-tuning"
#: The labels a launch matches on to find the job it (or an earlier try) already created.
IDENTITY_LABEL_KEYS = frozenset({DATASET_LABEL_KEY, CONFIG_LABEL_KEY, PIPELINE_LABEL_KEY, MANAGED_BY_LABEL_KEY})

MAX_LABEL_LENGTH = 63
MAX_LABELS = 64
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
_NOT_LABEL_CHARACTER = re.compile(r"[^a-z0-9_-]+")

_JOB_NAME = re.compile(r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/tuningJobs/(?P<job_id>[^/]+)$")
CONSOLE_BASE_URL = "https://console.cloud.google.com"


class TuningJobNameError(ValueError):
    """A string is not a Vertex tuning job resource name."""


# --------------------------------------------------------------------------- labels
def label_value(text: str) -> str:
    """``text`` as a valid Vertex label value: lowercase, ``[a-z0-9_-]`` only, at most 63 characters."""
    return _NOT_LABEL_CHARACTER.sub("-", text.strip().lower())[:MAX_LABEL_LENGTH]


def identity_label_value(setting: str, text: object, hint: str) -> str:
    """``label_value(text)`` for an identity label; raises ``ValueError`` naming ``setting`` when it is empty."""
    value = label_value(text) if isinstance(text, str) else ""
    if not value.strip("-_"):  # only separators left would name nothing
        raise ValueError(f"{setting} {text!r} is empty after label normalisation; {hint}.")
    return value


#: What to pass as ``pipeline_id`` (said in the error when it is missing).
PIPELINE_ID_HINT = "pass the id of the pipeline that owns the job (e.g. the DAG id)"


def validate_labels(labels: Mapping[str, str], where: str = "labels") -> list[str]:
    """Problems with user labels under Vertex's label rules (empty list when they are fine)."""
    if not isinstance(labels, Mapping):
        return [f'{where} must be a mapping of strings to strings such as {{"team": "qa"}}, got {labels!r}.']
    problems = []
    allowed = MAX_LABELS - len(IDENTITY_LABEL_KEYS)
    if len(labels) > allowed:
        problems.append(
            f"{where}: {len(labels)} labels given; at most {allowed} are allowed next to the "
            f"{len(IDENTITY_LABEL_KEYS)} this package adds."
        )
    for key, value in labels.items():
        if not isinstance(key, str) or not _LABEL_KEY.match(key):
            problems.append(
                f"{where}: key {key!r} is not a valid label key; use 1-63 characters from [a-z0-9_-] "
                "starting with a lowercase letter."
            )
        if not isinstance(value, str) or not _LABEL_VALUE.match(value):
            problems.append(
                f"{where}: value {value!r} of {key!r} is not a valid label value; use at most 63 "
                f"characters from [a-z0-9_-] (label_value({value!r}) gives a valid one)."
            )
        if key in IDENTITY_LABEL_KEYS:
            problems.append(
                f"{where}: key {key!r} is reserved: the launch operator sets it to identify the job; "
                "remove it from your labels."
            )
    return problems


def labels_filter(labels: Mapping[str, str]) -> str:
    """A Vertex list filter matching jobs that carry all ``labels`` (AIP-160 syntax)."""
    return " AND ".join(f'labels.{key}="{value}"' for key, value in sorted(labels.items()))


# --------------------------------------------------------------------------- job names and links
def parse_job_name(job_name: str) -> tuple[str, str, str]:
    """``projects/P/locations/L/tuningJobs/ID`` -> ``(P, L, ID)``."""
    match = _JOB_NAME.match(job_name or "")
    if not match:
        raise TuningJobNameError(
            f"{job_name!r} is not a tuning job resource name; expected "
            "'projects/<project>/locations/<location>/tuningJobs/<id>' as returned by the launch task."
        )
    return match["project"], match["location"], match["job_id"]


def console_url(job_name: str) -> str:
    """The job's page in the Google Cloud console (Vertex AI > Tuning)."""
    project, location, job_id = parse_job_name(job_name)
    return (
        f"{CONSOLE_BASE_URL}/vertex-ai/generative/language/locations/{quote(location)}"
        f"/tuning/tuningJob/{quote(job_id)}?project={quote(project)}"
    )


def console_url_or_name(job_name: str) -> str:
    """The console URL when ``job_name`` is a resource name, else ``job_name`` itself (for messages)."""
    try:
        return console_url(job_name)
    except TuningJobNameError:
        return job_name
