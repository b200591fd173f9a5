"""docker-compose.yaml cannot run here (no Docker engine), so check it by reading it."""

from __future__ import annotations

import re
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


# --------------------------------------------------------------------------- closed to the network
SECRET_SETTINGS = {
    "AIRFLOW__API_AUTH__JWT_SECRET": "AIRFLOW_JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY": "AIRFLOW_API_SECRET_KEY",
    "AIRFLOW__CORE__FERNET_KEY": "AIRFLOW_FERNET_KEY",
}
_REFERENCE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?P<rule>:[?-])?(?P<rest>[^}]*)\}")


def env_template() -> dict[str, str]:
    """The names and values .env.example sets (comments and blank lines skipped)."""
    values = {}
    for line in (REPO_ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def test_every_published_port_is_on_loopback_only(compose: dict[str, Any]) -> None:
    published = {name: service.get("ports", []) for name, service in compose["services"].items()}
    assert published["airflow-api-server"] == ["127.0.0.1:8080:8080"]
    for service, ports in published.items():
        for port in ports:
            assert str(port).startswith("127.0.0.1:"), f"{service} publishes {port} on every interface"


def test_secrets_come_from_the_env_file_and_none_is_in_the_repository(compose: dict[str, Any]) -> None:
    for service in AIRFLOW_COMPONENTS:
        environment = compose["services"][service]["environment"]
        for setting, variable in SECRET_SETTINGS.items():
            reference = _REFERENCE.fullmatch(environment[setting])
            assert reference and reference["name"] == variable and reference["rule"] == ":?", (service, setting)
        for setting in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__RESULT_BACKEND"):
            assert "airflow:${POSTGRES_PASSWORD:?" in environment[setting], (service, setting)
    postgres = compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert postgres.startswith("${POSTGRES_PASSWORD:?")
    text = (REPO_ROOT / "docker-compose.yaml").read_text()
    assert "local-development-only" not in text and "airflow:airflow@" not in text


def test_the_env_template_names_every_variable_and_holds_no_secret() -> None:
    template = env_template()
    text = (REPO_ROOT / "docker-compose.yaml").read_text()
    referenced = {match["name"] for match in _REFERENCE.finditer(text)}
    required = {match["name"] for match in _REFERENCE.finditer(text) if match["rule"] == ":?"}
    assert referenced - {"AIRFLOW_AUTH_MANAGER"} <= set(template), referenced - set(template)
    assert required == {*SECRET_SETTINGS.values(), "POSTGRES_PASSWORD"}
    for name in required:
        assert template[name] == "", f".env.example must not hold a value for the secret {name}"
    assert ".env" in (REPO_ROOT / ".gitignore").read_text().splitlines()


def test_all_admins_only_when_asked_and_real_auth_is_explained(compose: dict[str, Any]) -> None:
    environment = compose["services"]["airflow-api-server"]["environment"]
    # Without a value in .env, nobody is an admin without a login.
    assert environment["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] == "${AIRFLOW_SIMPLE_AUTH_ALL_ADMINS:-False}"
    header = (REPO_ROOT / "docker-compose.yaml").read_text().split("x-airflow-common")[0]
    for words in (
        "FabAuthManager",
        "AIRFLOW_SIMPLE_AUTH_USERS",
        "AIRFLOW_SIMPLE_AUTH_ALL_ADMINS=False",
        "cp .env.example .env",
    ):
        assert words in header, words


def test_the_init_container_hands_the_0600_credential_to_the_airflow_user(compose: dict[str, Any]) -> None:
    init = compose["services"]["airflow-init"]["command"][-1]
    airflow_user = compose["x-airflow-common"]["user"].split(":")[0]
    assert f"chown {airflow_user}:0 /opt/project/credentials/local-credentials.json" in init
