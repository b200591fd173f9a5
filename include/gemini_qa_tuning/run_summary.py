"""One JSON summary per DAG run: what the run did and where its artifacts are.

Written by the pipeline's last task at ``<prefix>/runs/<run id>/summary.json``; ``make demo`` prints
the newest one.
"""

from __future__ import annotations

import json
import re
import time

from gemini_qa_tuning import storage
from gemini_qa_tuning.json_types import JsonObject


def run_folder_name(run_id: str) -> str:
    """A run id as a path segment (Airflow run ids hold ':' and '+')."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", run_id)


def run_uri(prefix_uri: str, run_id: str) -> str:
    return storage.join_uri(prefix_uri, "runs", run_folder_name(run_id))


def summary_uri(prefix_uri: str, run_id: str) -> str:
    """Where a run's ``summary.json`` goes."""
    return storage.join_uri(run_uri(prefix_uri, run_id), "summary.json")


def write_run_summary(prefix_uri: str, run_id: str, summary: JsonObject) -> str:
    uri = summary_uri(prefix_uri, run_id)
    record = {"run_id": run_id, "written_at": time.time(), **summary}
    storage.write_text(uri, json.dumps(record, indent=2, sort_keys=True, default=str), "application/json")
    return uri


def find_latest_summary(prefix_uri: str, not_before: float = 0.0) -> str | None:
    """The URI of the most recently written run summary at or after ``not_before`` (epoch seconds)."""
    newest: tuple[float, str] | None = None
    for uri in storage.list_uris(storage.join_uri(prefix_uri, "runs")):
        if not uri.endswith("/summary.json"):
            continue
        written_at = float(json.loads(storage.read_text(uri)).get("written_at", 0.0))
        if written_at >= not_before and (newest is None or written_at > newest[0]):
            newest = (written_at, uri)
    return newest[1] if newest else None
