"""GenAIVertexHook: client settings from the Airflow connection, tuning-job calls against the emulator."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest

from gemini_qa_tuning.hooks.genai import GenAIVertexHook
from gemini_qa_tuning.tuning import TuningConfig


def set_connection(monkeypatch: pytest.MonkeyPatch, **extra: Any) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT",
        json.dumps({"conn_type": "google_cloud_platform", "extra": {"project": "conn-project", **extra}}),
    )


def test_base_url_location_and_project_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_VERTEX_BASE_URL", raising=False)
    monkeypatch.delenv("GOOGLE_CLOUD_LOCATION", raising=False)
    set_connection(monkeypatch)
    hook = GenAIVertexHook()
    assert hook.get_base_url() is None  # Google's endpoint
    assert hook.location == "us-central1"
    monkeypatch.setenv("GOOGLE_VERTEX_BASE_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "europe-west4")
    assert GenAIVertexHook().get_base_url() == "http://127.0.0.1:1"
    assert GenAIVertexHook().location == "europe-west4"
    set_connection(monkeypatch, vertex_ai_base_url="http://127.0.0.1:2", location="us-east5")
    assert GenAIVertexHook().get_base_url() == "http://127.0.0.1:2"
    assert GenAIVertexHook().location == "us-east5"
    hook = GenAIVertexHook(base_url="http://127.0.0.1:3", location="asia-east1", project_id="arg-project")
    assert (hook.get_base_url(), hook.location, hook.get_project_id()) == (
        "http://127.0.0.1:3",
        "asia-east1",
        "arg-project",
    )
    options = hook.get_http_options()
    assert options.timeout == 60_000 and options.retry_options is not None
    assert options.retry_options.attempts == 5
    with pytest.raises(ValueError, match="retry_attempts must be at least 1"):
        GenAIVertexHook(retry_attempts=0)


def test_credentials_project_and_impersonation_come_from_the_google_base_hook(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The provider's GoogleBaseHook resolves credentials and impersonation; the client gets its result."""
    import google.oauth2.credentials
    from airflow.providers.google.common.hooks import base_google

    set_connection(monkeypatch, vertex_ai_base_url="http://127.0.0.1:1")
    credentials = google.oauth2.credentials.Credentials(token="impersonated-token")
    resolved: dict[str, Any] = {}

    def resolve(**kwargs: Any) -> tuple[Any, str]:
        resolved.update(kwargs)  # impersonating would call Google's IAM API: no local server can answer
        return credentials, "credentials-project"

    monkeypatch.setattr(base_google, "get_credentials_and_project_id", resolve)
    hook = GenAIVertexHook(impersonation_chain=["first@p.iam.gserviceaccount.com", "last@p.iam.gserviceaccount.com"])
    assert isinstance(hook, base_google.GoogleBaseHook)
    client = hook.get_client()
    assert resolved["target_principal"] == "last@p.iam.gserviceaccount.com"
    assert resolved["delegates"] == ["first@p.iam.gserviceaccount.com"]
    assert client._api_client._credentials is credentials
    assert client._api_client.project == "conn-project"  # the connection's project wins over the credentials'
    assert client._api_client.location == "us-central1" and client._api_client.vertexai
    hook.close()
    assert hook._client is None  # closed clients are not reused


def test_listing_rechecks_labels_the_server_did_not_filter_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that ignores the filter must not make us reuse another dataset's job."""
    from types import SimpleNamespace

    from google.genai import types

    def job(number: int, **labels: str) -> types.TuningJob:
        return types.TuningJob(name=f"projects/p/locations/l/tuningJobs/{number}", labels=labels)

    sent: list[Any] = []

    def list_everything(config: types.ListTuningJobsConfig) -> list[types.TuningJob]:
        sent.append(config)
        return [job(1, data="a", cfg="x"), job(2, data="b", cfg="x"), job(3, data="a"), job(4)]

    set_connection(monkeypatch)
    hook = GenAIVertexHook()
    hook._client = SimpleNamespace(tunings=SimpleNamespace(list=list_everything))  # type: ignore[assignment]
    found = hook.list_tuning_jobs_by_labels({"data": "a", "cfg": "x"})
    assert [listed.name for listed in found] == ["projects/p/locations/l/tuningJobs/1"]
    assert sent[0].filter == 'labels.cfg="x" AND labels.data="a"'


@pytest.mark.integration
def test_client_from_local_connection_reaches_the_emulator(fast_vertex: Any, local_airflow_env: dict) -> None:
    hook = GenAIVertexHook()
    assert hook.get_base_url() == fast_vertex.base_url
    assert hook.get_project_id() == "local-project"
    client = hook.get_client()
    assert client is hook.get_client()  # cached
    assert client.models.count_tokens(model="gemini-3.5-flash-lite", contents="12345678").total_tokens == 2
    hook.close()


@pytest.mark.integration
@pytest.mark.parametrize("source", ["connection", "environment"])
def test_base_url_from_connection_or_environment_reaches_the_emulator(
    source: str, fast_vertex: Any, local_airflow_env: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Either place alone is enough; the network guard fails the test if a request went to Google."""
    connection = json.loads(local_airflow_env["AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT"])
    if source == "connection":
        monkeypatch.delenv("GOOGLE_VERTEX_BASE_URL")
    else:
        del connection["extra"]["vertex_ai_base_url"]
        monkeypatch.setenv("AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT", json.dumps(connection))
    hook = GenAIVertexHook()
    assert hook.get_base_url() == fast_vertex.base_url
    assert hook.get_client().models.count_tokens(model="gemini-3.5-flash-lite", contents="1234").total_tokens == 1
    assert fast_vertex.request_counts()["countTokens"] == 1
    hook.close()


@pytest.mark.integration
def test_sync_tuning_job_calls(held_vertex: Any, tuning_files: tuple[str, str]) -> None:
    """The job is held unfinished until cancelled: the cancel never meets a job the clock has ended."""
    config = TuningConfig(training_uri=tuning_files[0], validation_uri=tuning_files[1])
    request = config.request("hook-test", pipeline_id="hook-tests")
    dataset, sdk_config = request.to_sdk()
    hook = GenAIVertexHook()
    job = hook.create_tuning_job(request.base_model, dataset, sdk_config)
    assert job.name and re.match(r"projects/[0-9]+/locations/us-central1/tuningJobs/", job.name)  # project number
    assert hook.get_tuning_job(job.name).name == job.name
    assert [
        found.name
        for found in hook.list_tuning_jobs_by_labels(config.identity_labels("hook-test", pipeline_id="hook-tests"))
    ] == [job.name]
    assert hook.list_tuning_jobs_by_labels(config.identity_labels("other-data", pipeline_id="hook-tests")) == []
    assert hook.list_tuning_jobs_by_labels(config.identity_labels("hook-test", pipeline_id="other")) == []
    hook.cancel_tuning_job(job.name)
    deadline = time.monotonic() + 5
    while str(hook.get_tuning_job(job.name).state.value) != "JOB_STATE_CANCELLED":  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "job was not cancelled"
        time.sleep(0.05)
    counts = held_vertex.request_counts()
    assert counts["tuningJobs.create"] == 1 and counts["tuningJobs.cancel"] == 1
    hook.close()


@pytest.mark.integration
def test_create_is_never_retried(fast_vertex: Any, tuning_files: tuple[str, str]) -> None:
    """A retried create could pay twice: a 503 on create must surface after exactly one request."""
    from google.genai import errors

    fast_vertex.configure(error_rate_503=1.0, fault_methods=["tuningJobs.create"])
    request = TuningConfig(training_uri=tuning_files[0]).request("no-retry", pipeline_id="hook-tests")
    dataset, sdk_config = request.to_sdk()
    with pytest.raises(errors.ServerError):
        GenAIVertexHook(retry_attempts=5).create_tuning_job(request.base_model, dataset, sdk_config)
    assert fast_vertex.request_counts()["tuningJobs.create"] == 1


@pytest.mark.integration
async def test_async_tuning_job_calls(held_vertex: Any, tuning_files: tuple[str, str]) -> None:
    config = TuningConfig(training_uri=tuning_files[0])
    request = config.request("async-hook", pipeline_id="hook-tests")
    dataset, sdk_config = request.to_sdk()
    hook = GenAIVertexHook()
    hook.get_client()
    try:
        job = await hook.acreate_tuning_job(request.base_model, dataset, sdk_config)
        assert job.name
        assert (await hook.aget_tuning_job(job.name)).name == job.name
        listed = await hook.alist_tuning_jobs_by_labels(config.identity_labels("async-hook", pipeline_id="hook-tests"))
        assert [found.name for found in listed] == [job.name]
        assert (
            await hook.alist_tuning_jobs_by_labels(config.identity_labels("other-data", pipeline_id="hook-tests")) == []
        )
        await hook.acancel_tuning_job(job.name)
        assert held_vertex.request_counts()["tuningJobs.cancel"] == 1
    finally:
        await hook.aclose()
    assert hook._client is None
