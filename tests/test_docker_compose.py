"""docker-compose.yaml cannot run here (no Docker engine), so check it by reading it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.local_env import local_environment

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((REPO_ROOT / "docker-compose.yaml").read_text()))


AIRFLOW_COMPONENTS = {
    "airflow-api-server": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker": "celery worker",
}


def test_the_whole_airflow_stack_and_both_emulators_are_there(compose: dict[str, Any]) -> None:
    services = compose["services"]
    expected = {"postgres", "redis", "airflow-init", "gcs-emulator", "vertex-emulator", *AIRFLOW_COMPONENTS}
    assert expected <= set(services)
    for service, command in AIRFLOW_COMPONENTS.items():
        assert services[service]["command"] == command, service


def test_emulators_use_the_project_launchers(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["gcs-emulator"]["entrypoint"] == ["python", "-m", "devtools.gcs_emulator"]
    assert services["vertex-emulator"]["entrypoint"] == ["python", "-m", "devtools.vertex_emulator"]
    assert "--state-file" in services["vertex-emulator"]["command"]
    assert (REPO_ROOT / "devtools" / "vertex_emulator" / "__main__.py").exists()


def test_airflow_services_get_the_same_variables_as_local_runs(compose: dict[str, Any]) -> None:
    local_names = set(local_environment("http://gcs", "http://vertex", REPO_ROOT / ".local" / "pytest"))
    for service in [*AIRFLOW_COMPONENTS, "airflow-init"]:
        environment = compose["services"][service]["environment"]
        assert local_names <= set(environment), f"{service} lacks {local_names - set(environment)}"
        assert environment["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/project/dags"


def test_all_airflow_components_share_their_signing_secrets(compose: dict[str, Any]) -> None:
    """Without one JWT secret, tokens the scheduler signs for tasks fail at the api-server."""
    for name in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY"):
        values = {compose["services"][service]["environment"].get(name) for service in AIRFLOW_COMPONENTS}
        assert len(values) == 1 and None not in values, name


def test_airflow_components_wait_for_the_database_migration(compose: dict[str, Any]) -> None:
    for service in AIRFLOW_COMPONENTS:
        depends_on = compose["services"][service]["depends_on"]
        assert depends_on["airflow-init"]["condition"] == "service_completed_successfully"
