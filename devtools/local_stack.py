"""The local platform: GCS emulator + Vertex AI emulator + the environment that points Airflow at them.

Used by ``make demo`` (devtools/demo.py) and ``make airflow`` (devtools/local_airflow.py). State lives
under ``.local/`` so results survive between runs: the GCS emulator uses its filesystem backend and
the Vertex emulator a state file.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.gcs_emulator import GcsEmulator
from devtools.local_env import LOCAL_BUCKET, local_environment
from devtools.vertex_emulator.config import LIBRARY_COMPATIBILITY_PINS
from devtools.vertex_emulator.process import VertexEmulatorProcess

REPO_ROOT = Path(__file__).resolve().parents[1]
LOCAL_STATE = REPO_ROOT / ".local"
DAG_ID = "gemini_squad_tuning"

# Tuning-job phases on the emulator, in seconds: long enough to watch the sensor defer, short enough
# for a demo.
DEMO_JOB_PHASES = {"pending_seconds": 1.0, "queued_seconds": 1.0, "running_seconds": 8.0}


@dataclass(frozen=True)
class LocalStack:
    gcs: GcsEmulator
    vertex: VertexEmulatorProcess
    environment: dict[str, str]


def airflow_environment(airflow_home: Path) -> dict[str, str]:
    """Airflow settings for a local run of this project's DAGs and plugins."""
    return {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        # Deferred tasks hand their wait to the triggerer; one pass a second keeps demos brisk.
        "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
    }


@contextlib.contextmanager
def running_local_stack(state: Path = LOCAL_STATE, **vertex_faults: float | str) -> Iterator[LocalStack]:
    """Start both emulators with persistent state and yield them with the environment to use."""
    state.mkdir(parents=True, exist_ok=True)
    vertex_config: dict[str, Any] = {**DEMO_JOB_PHASES, **vertex_faults}  # config keys, checked by the process
    started = time.monotonic()
    with (
        GcsEmulator(
            backend="filesystem",
            root=state / "gcs",
            buckets=(LOCAL_BUCKET,),
            log_file=state / "fake-gcs-server.log",
        ) as gcs,
        VertexEmulatorProcess(
            gcs_endpoint=gcs.endpoint,
            state_file=str(state / "vertex-emulator-state.json"),
            **{**LIBRARY_COMPATIBILITY_PINS, **vertex_config},
        ) as vertex,
    ):
        environment = {
            **local_environment(gcs.endpoint, vertex.base_url, state),
            **airflow_environment(state / "airflow-home"),
        }
        print(
            f"local servers up in {time.monotonic() - started:.2f} s: "
            f"GCS emulator {gcs.endpoint} (data in {state / 'gcs'}), Vertex AI emulator {vertex.base_url}",
            flush=True,
        )
        yield LocalStack(gcs=gcs, vertex=vertex, environment=environment)


def child_environment(stack: LocalStack) -> dict[str, str]:
    """This process's environment plus the local stack's, with the venv's bin/ first on PATH."""
    environment = {**os.environ, **stack.environment}
    venv_bin = str(Path(sys.executable).parent)
    environment["PATH"] = f"{venv_bin}{os.pathsep}{environment.get('PATH', '')}"
    environment.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
    return environment
