"""A client of the emulator's ``/_emulator/*`` admin API (emulator-only: Vertex AI has none of it).

    admin = EmulatorAdmin("http://127.0.0.1:8090")
    admin.configure(hold_jobs_at="JOB_STATE_PENDING")  # jobs created from now on wait for the test
    job = client.tunings.tune(...)
    admin.advance_job(job.name, "JOB_STATE_FAILED")  # now, not when the clock says

``VertexEmulatorProcess`` offers the same methods for the emulator it started. Standard library only.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

# Loopback only: never route admin calls through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def job_id(job: str) -> str:
    """The id of a tuning job given as its id or resource name (``projects/…/tuningJobs/{id}``)."""
    collection, _, last = job.rstrip("/").rpartition("/")
    if not last or (collection and not collection.endswith("tuningJobs")):
        raise ValueError(f"{job!r} is neither a tuning job id nor a name like projects/p/locations/l/tuningJobs/1")
    return last


class EmulatorAdmin:
    """Calls the admin API of the emulator at ``base_url``; errors raise ``ValueError`` with the server's message."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")

    def health(self, timeout: float = 10.0) -> dict[str, Any]:
        """``GET /_emulator/health``; raises ``urllib.error.URLError`` while the server is not up."""
        health: dict[str, Any] = self.call("GET", "/_emulator/health", timeout=timeout)
        return health

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Merge config keys into the running configuration; returns the whole configuration."""
        configuration: dict[str, Any] = self.call("POST", "/_emulator/config", changes)
        return configuration

    def config(self) -> dict[str, Any]:
        """The running configuration."""
        configuration: dict[str, Any] = self.call("GET", "/_emulator/config")
        return configuration

    def set_quota(self, requests_per_minute: int | None, quota_window_seconds: float | None = None) -> dict[str, Any]:
        """Change the quota now (``POST /_emulator/quota``), keeping the calls already admitted in its window."""
        body: dict[str, Any] = {"requests_per_minute": requests_per_minute}
        if quota_window_seconds is not None:
            body["quota_window_seconds"] = quota_window_seconds
        configuration: dict[str, Any] = self.call("POST", "/_emulator/quota", body)
        return configuration

    def reset(self) -> None:
        """Start-up configuration again, no jobs/models/endpoints, request counts zero."""
        self.call("POST", "/_emulator/reset", {})

    def request_counts(self) -> dict[str, int]:
        """API requests received since start or reset, by method key (rejected ones included)."""
        counts: dict[str, int] = self.call("GET", "/_emulator/requests")
        return counts

    def hold_job(self, job: str, state: str | None = None) -> dict[str, Any]:
        """Keep a tuning job (id or name) in ``state`` (default: where it is) once there; returns the job."""
        return self._control(job, "hold", state)

    def advance_job(self, job: str, state: str | None = None) -> dict[str, Any]:
        """Move a tuning job now to ``state`` (default: its next state), where it then stays; returns the job."""
        return self._control(job, "advance", state)

    def _control(self, job: str, action: str, state: str | None) -> dict[str, Any]:
        body = {} if state is None else {"state": state}
        tuning_job: dict[str, Any] = self.call("POST", f"/_emulator/tuningJobs/{job_id(job)}:{action}", body)
        return tuning_job

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 10.0) -> Any:
        """One admin request; the decoded JSON answer."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with _OPENER.open(request, timeout=timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            try:
                message = json.loads(detail)["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = detail
            raise ValueError(f"{method} {path} failed with HTTP {error.code}: {message}") from None
