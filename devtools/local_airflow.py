"""``make airflow``: a full local Airflow wired to the emulators, UI on http://127.0.0.1:8080.

Runs what ``airflow standalone`` runs — scheduler (LocalExecutor), dag-processor, triggerer (which holds
the deferred tuning sensor) and api-server, with SQLite — but closed to the network: the api-server
listens on 127.0.0.1 only, and the scheduler and triggerer start no log servers (``airflow standalone``
cannot be told either: its api-server and both log servers listen on every interface). On one machine
the api-server reads the task logs from their files, so nothing is lost but a "could not read served
logs" note on a task that is still running.

Everyone is an admin (simple auth manager, ``SIMPLE_AUTH_MANAGER_ALL_ADMINS``), so the UI opens with no
login. That shortcut is safe only because nobody but this machine's users can reach the port; pointed at
a real project a run spends money. Trigger ``gemini_squad_tuning`` from the UI with "Trigger DAG" and
pick ``sample`` as the source for an offline run. Stop with Ctrl-C: every component is stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from devtools.local_stack import LOCAL_STATE, child_environment, running_local_stack

# The only address any component of the local stack listens on.
LOOPBACK_HOST = "127.0.0.1"
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"

# The components `airflow standalone` runs, as `airflow` sub-commands. --skip-serve-logs: Airflow's log
# server always binds every interface (no setting chooses its host), and on one machine it is not needed.
COMPONENTS: dict[str, tuple[str, ...]] = {
    "scheduler": ("scheduler", "--skip-serve-logs"),
    "dag-processor": ("dag-processor",),
    "triggerer": ("triggerer", "--skip-serve-logs"),
    "api-server": ("api-server", "--host", LOOPBACK_HOST),
}
STOP_SECONDS = 30
_NAME_WIDTH = max(map(len, COMPONENTS))


def standalone_environment(port: int) -> dict[str, str]:
    """Airflow settings of the local stack: loopback only, everyone an admin, only the runs you trigger."""
    return {
        "AIRFLOW__API__HOST": LOOPBACK_HOST,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{LOOPBACK_HOST}:{port}/execution/",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
        # Only with the api-server on loopback (above): anyone who can reach it is an admin.
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        # Only runs you trigger: unpausing would otherwise start the nightly run with its default (Hugging
        # Face, needs network) source, which fails offline and holds the DAG's only active-run slot.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
    }


def _relay(name: str, stream: IO[bytes]) -> None:
    """Copy a component's output to ours, each line prefixed with its name (as ``airflow standalone`` does)."""
    prefix = f"{name:<{_NAME_WIDTH}} | ".encode()
    for line in iter(stream.readline, b""):
        sys.stdout.buffer.write(prefix + line)
        sys.stdout.buffer.flush()


def _stop(processes: Mapping[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM every component's process group, wait, then SIGKILL what is left."""
    for process in processes.values():
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    for process in processes.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
    for process in processes.values():
        # Also the group of a component that has exited: its LocalExecutor workers may outlive it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def run_components(airflow: str, environment: Mapping[str, str]) -> int:
    """Run every component until one of them ends or we are interrupted; then stop them all.

    Each runs in its own session, so that Ctrl-C reaches this process only and the stop is orderly.
    """
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, arguments in COMPONENTS.items():
            process = subprocess.Popen(
                [airflow, *arguments],
                env=dict(environment),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            processes[name] = process
            assert process.stdout is not None
            threading.Thread(target=_relay, args=(name, process.stdout), daemon=True).start()
        while True:
            for name, process in processes.items():
                if process.poll() is not None:
                    print(f"{name} exited with {process.returncode}; stopping the other components", flush=True)
                    return process.returncode or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(processes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080, help="api-server / UI port on 127.0.0.1 (default 8080)")
    parser.add_argument(
        "--state",
        type=Path,
        default=LOCAL_STATE,
        help=f"folder for emulator data, AIRFLOW_HOME and logs (default {LOCAL_STATE}); tests pass a temporary one",
    )
    args = parser.parse_args(argv)
    # SIGTERM (a test, a process manager) stops everything the same way Ctrl-C does; by default it would
    # end this process at once and leave Airflow and the emulators, each in its own session, running.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with running_local_stack(args.state) as stack:
        environment = {**child_environment(stack), **standalone_environment(args.port)}
        airflow = str(Path(sys.executable).parent / "airflow")
        subprocess.run([airflow, "db", "migrate"], env=environment, check=True, stdout=subprocess.DEVNULL)
        print(
            f"Airflow UI: http://{LOOPBACK_HOST}:{args.port}  (this machine only; every user is an admin. "
            "Ctrl-C stops Airflow and the emulators)",
            flush=True,
        )
        return run_components(airflow, environment)


if __name__ == "__main__":
    raise SystemExit(main())
