"""``make airflow``: a full local Airflow wired to the emulators, UI on http://localhost:8080.

``airflow standalone`` runs the scheduler, dag-processor, triggerer (which holds the deferred tuning
sensor) and api-server with SQLite. Everyone is an admin (simple auth manager), so the UI opens with
no login. Trigger ``gemini_squad_tuning`` from the UI with "Trigger DAG" and pick ``sample`` as the
source for an offline run. Stop with Ctrl-C: the whole process group is stopped.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

from devtools.local_stack import LOCAL_STATE, child_environment, running_local_stack


def standalone_environment(port: int) -> dict[str, str]:
    return {
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        # Only runs you trigger: unpausing would otherwise start the nightly run with its default (Hugging
        # Face, needs network) source, which fails offline and holds the DAG's only active-run slot.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080, help="api-server / UI port (default 8080)")
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
        print(f"Airflow UI: http://localhost:{args.port}  (Ctrl-C stops Airflow and the emulators)", flush=True)
        process = subprocess.Popen([airflow, "standalone"], env=environment, start_new_session=True)
        try:
            return process.wait()
        except KeyboardInterrupt:
            return 0
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)


if __name__ == "__main__":
    raise SystemExit(main())
