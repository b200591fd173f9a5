"""Fault suite, report / notify stage: no credential in any log or artifact of a whole run.

One real run of the DAG in ``dag.test()`` against the emulators, with a connection whose credential file
holds distinctive secrets (access token, refresh token, client secret). Afterwards every place a run
leaves text is searched for them: the task logs (``dag.test()`` writes them to the console; any log file
under ``AIRFLOW_HOME``), every object the run wrote under its ``gcs_prefix`` (datasets, evaluation,
summary, champion) and every XCom the run stored (the records handed from task to task). The run itself
must succeed and have paid for exactly one job, so the search covers a complete run.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from gemini_qa_tuning import storage

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
DAG_ID = "gemini_squad_tuning"


@pytest.fixture
def secret_connection(local_airflow_env: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The local connection, with a credential file of distinctive secrets; returns them by name."""
    from devtools.local_env import google_cloud_connection

    secrets = {name: f"{name}-{uuid.uuid4().hex}" for name in ("token", "refresh_token", "client_secret")}
    credential = tmp_path / "credential.json"
    credential.write_text(
        json.dumps({"type": "authorized_user", "client_id": "faults", **secrets, "expiry": "2999-01-01T00:00:00Z"})
    )
    credential.chmod(0o600)
    monkeypatch.setenv(
        "AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT",
        google_cloud_connection(credential, local_airflow_env["GOOGLE_VERTEX_BASE_URL"]),
    )
    return secrets


def run_xcoms(dag_id: str, run_id: str) -> list[str]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = select(XComModel.task_id, XComModel.key, XComModel.value).where(
            XComModel.dag_id == dag_id, XComModel.run_id == run_id
        )
        return [f"{task_id}/{key}: {json.dumps(value, default=str)}" for task_id, key, value in session.execute(query)]


def test_no_credential_appears_in_any_log_or_artifact_of_a_run(
    airflow_db: float,
    secret_connection: dict[str, str],
    vertex_emulator: Any,
    gcs_bucket_uri: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    vertex_emulator.reset()
    vertex_emulator.configure(pending_seconds=0.05, queued_seconds=0.05, running_seconds=0.3)
    dag = DagBag(dag_folder=str(DAGS_FOLDER)).get_dag(DAG_ID)
    dag_run = dag.test(run_conf={"source_kind": "sample", "gcs_prefix": gcs_bucket_uri, "poll_interval_seconds": 1})
    console = "".join(capfd.readouterr())

    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert str(dag_run.state) == "success", states
    assert states["summarize_run"] == "success" and states["launch_tuning_job"] == "success", states
    assert vertex_emulator.request_counts().get("tuningJobs.create") == 1

    places: dict[str, str] = {"the console (task logs)": console}
    log_folder = Path(os.environ["AIRFLOW_HOME"]) / "logs"
    for path in log_folder.rglob("*") if log_folder.exists() else ():
        if path.is_file():
            places[str(path)] = path.read_text(errors="replace")
    artifacts = storage.list_uris(gcs_bucket_uri)
    assert any(uri.endswith("summary.json") for uri in artifacts) and any("/datasets/" in uri for uri in artifacts)
    for uri in artifacts:
        places[uri] = storage.read_bytes(uri).decode(errors="replace")
    places["the run's XComs"] = "\n".join(run_xcoms(DAG_ID, dag_run.run_id))
    assert "launch_tuning_job" in places["the run's XComs"]

    leaks = [
        f"{name} in {place}"
        for place, text in places.items()
        for name, value in secret_connection.items()
        if value in text
    ]
    assert not leaks, leaks


def test_no_credential_appears_in_the_errors_and_logs_of_failing_steps(
    secret_connection: dict[str, str],
    fast_vertex: Any,
    tuning_files: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Error paths print more than success does (requests, responses, the connection they used): a refused
    create, a 503 storm at create and a storage write to a missing bucket, each with the secret connection."""
    from airflow.sdk.exceptions import AirflowException

    from gemini_qa_tuning.pipeline import steps
    from tests.operators.test_launch_tuning import launcher, run

    errors: list[str] = []
    with pytest.raises(AirflowException) as refused:
        run(launcher(tuning_files, base_model="text-bison"))  # Vertex answers 400
    errors.append(repr(refused.value) + str(refused.value.__cause__))
    fast_vertex.configure(error_rate_503=1.0, fault_methods=["tuningJobs.create"])
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr("gemini_qa_tuning.operators.tuning.time.sleep", lambda seconds: None)
        with pytest.raises(AirflowException) as storm:
            run(launcher(tuning_files, create_attempts=2))
    errors.append(repr(storm.value) + str(storm.value.__cause__))
    params = steps.check_params({"source_kind": "sample", "gcs_prefix": "gs://no-such-bucket-for-faults/p"}, DAG_ID)
    with pytest.raises(AirflowException) as missing:
        steps.refresh_dataset(params, "manual__fault")
    errors.append(repr(missing.value) + str(missing.value.__cause__))

    text = "\n".join(errors) + caplog.text + "".join(capsys.readouterr())
    assert "text-bison" in text and "no-such-bucket-for-faults" in text  # the failures were logged and caught
    leaks = [name for name, value in secret_connection.items() if value in text]
    assert not leaks, leaks
