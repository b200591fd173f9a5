"""``make airflow`` is closed to the network and its credential file is private (unit checks; the
integration test tests/integration/test_local_airflow.py checks the listening sockets of a real launch)."""

from __future__ import annotations

import stat
from pathlib import Path

from devtools.local_airflow import COMPONENTS, LOOPBACK_HOST, standalone_environment
from devtools.local_env import local_environment, write_token_file


def test_the_credential_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = write_token_file(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_world_readable_credential_file_left_from_before_is_tightened(tmp_path: Path) -> None:
    (tmp_path / "local-credentials.json").write_text("{}")
    (tmp_path / "local-credentials.json").chmod(0o644)
    path = write_token_file(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and "local-emulator-token" in path.read_text()
    local_environment("http://gcs", "http://vertex", tmp_path)  # what every launcher calls
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_api_server_binds_loopback_and_no_log_server_starts() -> None:
    environment = standalone_environment(8080)
    assert environment["AIRFLOW__API__HOST"] == LOOPBACK_HOST == "127.0.0.1"
    assert COMPONENTS["api-server"][-2:] == ("--host", LOOPBACK_HOST)
    # Airflow's log servers bind every interface whatever the settings: the components that would start
    # one must not.
    assert "--skip-serve-logs" in COMPONENTS["scheduler"] and "--skip-serve-logs" in COMPONENTS["triggerer"]
    assert environment["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("http://127.0.0.1:")


def test_all_admins_only_together_with_a_loopback_api_server() -> None:
    environment = standalone_environment(8080)
    assert environment["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] == "True"
    assert environment["AIRFLOW__API__HOST"] == "127.0.0.1"


def test_the_readme_says_the_all_admin_ui_is_for_this_machine_only() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### `make airflow` is for this machine only", 1)[1].split("\n## ", 1)[0]
    for words in ("SIMPLE_AUTH_MANAGER_ALL_ADMINS", "127.0.0.1", "--skip-serve-logs", "0600"):
        assert words in section, words
