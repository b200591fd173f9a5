"""Start the Vertex AI emulator as a subprocess and talk to its ``/_emulator`` admin API.

    with VertexEmulatorProcess(gcs_endpoint=gcs.endpoint, latency_seconds=0.2) as emulator:
        client = genai.Client(vertexai=True, ..., http_options=HttpOptions(base_url=emulator.base_url))
        emulator.configure(job_outcome="fail")
        emulator.request_counts()["tuningJobs.create"]
        emulator.advance_job(job.name, "JOB_STATE_SUCCEEDED")  # with hold_jobs_at set: tests set the pace

Standard library only: importing this module does not import aiohttp or google-genai.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
from pathlib import Path
from types import TracebackType
from typing import Any

from devtools.vertex_emulator.admin import EmulatorAdmin
from devtools.vertex_emulator.config import CONFIG_KEYS, EmulatorConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
LOG_TAIL_CHARACTERS = 2000


class VertexEmulatorProcess:
    """A ``python -m devtools.vertex_emulator`` subprocess on loopback.

    ``port=0`` lets the server pick a free port (it reports it through a port file). ``faults`` are
    config keys (see ``devtools.vertex_emulator.config.EmulatorConfig``), passed as start-up flags; they
    are also the configuration that ``reset()`` returns to. The server's log goes to ``log_file``, or to
    a temporary file that ``stop()`` deletes.
    """

    def __init__(
        self,
        port: int = 0,
        gcs_endpoint: str | None = None,
        state_file: str | Path | None = None,
        *,
        host: str = "127.0.0.1",
        log_file: str | Path | None = None,
        startup_timeout: float = 15.0,
        **faults: Any,
    ):
        unknown = sorted(set(faults) - set(CONFIG_KEYS))
        if unknown:
            raise TypeError(f"unknown emulator config key(s) {unknown}; known keys: {sorted(CONFIG_KEYS)}")
        EmulatorConfig().updated(faults)  # fail here, not in the child, on a bad value
        self.host = host
        self.port = port
        self.gcs_endpoint = gcs_endpoint
        self.state_file = Path(state_file) if state_file is not None else None
        self.faults = faults
        self.startup_timeout = startup_timeout
        self._requested_log_file = Path(log_file) if log_file is not None else None
        self.log_path: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._work_dir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def base_url(self) -> str:
        """The URL to give google-genai as ``HttpOptions(base_url=...)``."""
        if not self.port:
            raise RuntimeError("the Vertex AI emulator is not started: call start() first")
        return f"http://{self.host}:{self.port}"

    def command(self, port_file: Path | None = None) -> list[str]:
        """The command line that starts the server with this object's settings."""
        command = [sys.executable, "-m", "devtools.vertex_emulator", "--host", self.host, "--port", str(self.port)]
        if port_file is not None:
            command += ["--port-file", str(port_file)]
        if self.gcs_endpoint:
            command += ["--gcs-endpoint", self.gcs_endpoint]
        if self.state_file is not None:
            command += ["--state-file", str(self.state_file)]
        defaults = EmulatorConfig()
        for key, value in self.faults.items():
            if value is None:
                if getattr(defaults, key) is None:
                    continue
                value = ""  # null on the command line (e.g. project_number=None: echo the project id)
            if key == "fault_methods":
                value = ",".join(value) if not isinstance(value, str) else value
            command += [f"--{key.replace('_', '-')}", str(value)]
        return command

    def start(self) -> VertexEmulatorProcess:
        """Launch the server and wait until it answers its health check."""
        if self.running:
            return self
        self._work_dir = tempfile.TemporaryDirectory(prefix="vertex-emulator-")
        port_file = Path(self._work_dir.name) / "port"
        self.log_path = self._requested_log_file or Path(self._work_dir.name) / "emulator.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(
            part for part in (str(REPO_ROOT), environment.get("PYTHONPATH")) if part
        )
        with open(self.log_path, "ab") as log:
            # The log is a file, never an unread pipe: a full pipe would stall the server. Its own session
            # keeps a terminal's Ctrl-C from stopping it before the processes that use it; stop() ends it.
            self._process = subprocess.Popen(
                self.command(port_file),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=REPO_ROOT,
                env=environment,
                start_new_session=True,
            )
        deadline = time.monotonic() + self.startup_timeout
        while not port_file.exists():
            self._raise_if_exited("while starting")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"the Vertex AI emulator did not start within {self.startup_timeout} s")
            time.sleep(0.01)
        self.port = int(port_file.read_text())
        self.wait_healthy(max(0.1, deadline - time.monotonic()))
        return self

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def wait_healthy(self, timeout: float = 10.0) -> None:
        """Wait until ``GET /_emulator/health`` answers 200; raise ``TimeoutError`` after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            self._raise_if_exited("before it became healthy")
            try:
                self.admin.health(timeout=1.0)
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"the Vertex AI emulator at {self.base_url} was not healthy within {timeout} s: {error}"
                    ) from error
                time.sleep(0.02)

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after 5 s) and remove its temporary files."""
        if self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            self._process = None
        if self._work_dir is not None:
            with contextlib.suppress(OSError):
                self._work_dir.cleanup()
            self._work_dir = None

    @property
    def admin(self) -> EmulatorAdmin:
        """The admin API client of this server (see ``devtools.vertex_emulator.admin``)."""
        return EmulatorAdmin(self.base_url)

    def configure(self, **faults: Any) -> dict[str, Any]:
        """Merge config keys into the running server's configuration; returns the whole configuration."""
        return self.admin.configure(**faults)

    def set_quota(self, requests_per_minute: int | None, quota_window_seconds: float | None = None) -> dict[str, Any]:
        """Change the quota mid-run, keeping the calls already admitted in its window."""
        return self.admin.set_quota(requests_per_minute, quota_window_seconds)

    def reset(self) -> None:
        """Start-up configuration again, no jobs/models/endpoints, request counts zero."""
        self.admin.reset()

    def request_counts(self) -> dict[str, int]:
        """API requests received since start or reset, by method key (rejected ones included)."""
        return self.admin.request_counts()

    def config(self) -> dict[str, Any]:
        """The running server's current configuration."""
        return self.admin.config()

    def hold_job(self, job: str, state: str | None = None) -> dict[str, Any]:
        """Keep a tuning job (id or name) in ``state`` (default: where it is) once there; returns the job."""
        return self.admin.hold_job(job, state)

    def advance_job(self, job: str, state: str | None = None) -> dict[str, Any]:
        """Move a tuning job now to ``state`` (default: its next state), where it then stays; returns the job."""
        return self.admin.advance_job(job, state)

    def _raise_if_exited(self, when: str) -> None:
        if self._process is not None and self._process.poll() is not None:
            code, log_tail = self._process.returncode, self._log_tail()
            self.stop()
            raise RuntimeError(f"the Vertex AI emulator exited with code {code} {when}. {log_tail}")

    def _log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return f"Log ({self.log_path}):\n{self.log_path.read_text(errors='replace')[-LOG_TAIL_CHARACTERS:]}"

    def __enter__(self) -> VertexEmulatorProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"running at {self.base_url}" if self.running else "stopped"
        return f"VertexEmulatorProcess({state})"
