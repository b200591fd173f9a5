"""The run's outcome as its DAG-run note, the line the Airflow UI shows on the run's page.

The Task SDK gives a task no way to write its own run's note (tasks have no database access), so the note
goes through the public REST API: ``PATCH /api/v2/dags/{dag_id}/dagRuns/{run_id}`` with ``note``. The
Param ``run_note_conn_id`` names an HTTP connection to the api-server (host = its base URL; login and
password of a user who may edit DAG runs, or none where every user is an admin, as in ``make airflow``).
Empty: no note, the outcome is only logged. A note that cannot be written is a warning, never a failure.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
import urllib.request

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 30


def write_run_note(conn_id: str, dag_id: str, run_id: str, note: str) -> bool:
    """Set the run's note through the REST API of the connection ``conn_id``; whether it was written."""
    try:
        base_url, token = _session(conn_id)
        path = f"/api/v2/dags/{urllib.parse.quote(dag_id, safe='')}/dagRuns/{urllib.parse.quote(run_id, safe='')}"
        _request("PATCH", base_url + path, {"note": note}, token)
    except Exception as error:  # the note is a convenience: the run's result does not depend on it
        logger.warning("Could not write the run note through connection %r: %s", conn_id, error)
        return False
    logger.info("Run note: %s", note)
    return True


def _session(conn_id: str) -> tuple[str, str]:
    """The api-server's base URL and an access token (``/auth/token``) for the connection's user."""
    from airflow.sdk import BaseHook

    connection = BaseHook.get_connection(conn_id)
    host = str(connection.host or "").rstrip("/")
    if not host:
        raise ValueError(f"connection {conn_id!r} has no host: set it to the api-server's URL, e.g. http://host:8080")
    base_url = host if "://" in host else f"{connection.schema or 'http'}://{host}"
    if connection.port and f":{connection.port}" not in base_url:
        base_url = f"{base_url}:{connection.port}"
    if connection.login:
        credentials = {"username": connection.login, "password": connection.password or ""}
        answer = _request("POST", f"{base_url}/auth/token", credentials, None)
    else:  # an auth manager where everyone is an admin hands out tokens without credentials
        answer = _request("GET", f"{base_url}/auth/token", None, None)
    return base_url, str(answer["access_token"])


def _request(method: str, url: str, body: object, token: str | None) -> dict[str, object]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        answer = json.loads(response.read() or b"{}")
    return answer if isinstance(answer, dict) else {}
