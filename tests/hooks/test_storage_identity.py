"""Cloud Storage acts as the Airflow connection's identity, the one Vertex AI calls use, not the environment's.

The storage client talks to fake-gcs-server through a small recording proxy, so the test sees the
``Authorization`` header of every request the client really sent.
"""

from __future__ import annotations

import http.client
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from gemini_qa_tuning import storage
from gemini_qa_tuning.hooks.storage_identity import (
    connection_storage_identity,
    storage_as_connection,
    storage_identity_of,
)

CONNECTION_ID = "storage_identity_test"
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class RecordingProxy(ThreadingHTTPServer):
    """Forwards every request to fake-gcs-server and records its method, path and Authorization header."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        parsed = urlparse(upstream)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.seen: list[tuple[str, str, str | None]] = []
        super().__init__(("127.0.0.1", 0), _ForwardingHandler)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ForwardingHandler(BaseHTTPRequestHandler):
    server: RecordingProxy
    protocol_version = "HTTP/1.1"

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append((self.command, self.path, self.headers.get("Authorization")))
        headers = {name: value for name, value in self.headers.items() if name.lower() not in _HOP_BY_HOP}
        upstream = http.client.HTTPConnection(*self.server.upstream, timeout=30)
        try:
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream.getresponse()
            payload = response.read()
            self.send_response(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        finally:
            upstream.close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recording_proxy(gcs_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingProxy]:
    """Storage clients built from now on reach fake-gcs-server only through the proxy."""
    proxy = RecordingProxy(gcs_emulator.endpoint)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.endpoint)
    # Clients built before (by other tests) point at the emulator directly: start from none.
    fresh_default = storage._ClientSlot(None)
    monkeypatch.setattr(storage, "_default_slot", fresh_default)
    monkeypatch.setattr(storage, "_active_slot", fresh_default)
    yield proxy
    proxy.shutdown()
    proxy.server_close()
    thread.join(timeout=5)


def _token_file(folder: Path, name: str, token: str) -> Path:
    path = folder / f"{name}.json"
    info = {
        "type": "authorized_user",
        "client_id": name,
        "client_secret": name,
        "refresh_token": name,
        "token": token,
        "expiry": "2999-01-01T00:00:00Z",
    }
    path.write_text(json.dumps(info))
    return path


@pytest.fixture
def connection_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A connection whose token differs from the environment's Application Default Credentials."""
    token = f"connection-token-{uuid.uuid4().hex}"
    extra = {"project": "connection-project", "credential_config_file": str(_token_file(tmp_path, "conn", token))}
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{CONNECTION_ID.upper()}", json.dumps({"conn_type": "google_cloud_platform", "extra": extra})
    )
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(_token_file(tmp_path, "adc", "adc-token")))
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "adc-project")
    return token


def test_every_storage_request_carries_the_connection_token(
    recording_proxy: RecordingProxy,
    connection_token: str,
    gcs_bucket_uri: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import google.auth

    from gemini_qa_tuning.hooks.genai import GenAIVertexHook

    def no_defaults(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the environment's default credentials were looked up")

    monkeypatch.setattr(google.auth, "default", no_defaults)
    uri = storage.join_uri(gcs_bucket_uri, "identity", "record.json")
    with storage_as_connection(CONNECTION_ID) as identity:
        assert storage.bound_identity() is identity
        assert identity.project == "connection-project"
        assert f"'{CONNECTION_ID}'" in identity.source
        assert connection_token not in repr(identity)  # safe to log
        client = storage._gcs_client()
        assert client._credentials is identity.credentials and client.project == "connection-project"
        # One identity: the Vertex AI hook of the same connection signs with the same token, and a task
        # holding that hook can hand storage its very credentials object.
        vertex_hook = GenAIVertexHook(gcp_conn_id=CONNECTION_ID)
        assert vertex_hook.get_credentials().token == connection_token
        assert storage_identity_of(vertex_hook).credentials is vertex_hook.get_credentials()

        storage.write_bytes(uri, b"v1", content_type="application/json", if_generation_match=0)
        data, generation = storage.read_with_generation(uri)
        storage.write_bytes(uri, b"v2", if_generation_match=generation)
        assert storage.read_text(uri) == "v2"
        assert list(storage.iter_lines(uri)) == ["v2"]
        assert storage.exists(uri) and storage.list_uris(gcs_bucket_uri) == [uri]
        assert storage.write_if_changed(uri, b"v2") is False
        storage.delete(uri)
    assert data == b"v1"
    assert storage.bound_identity() is None

    assert len(recording_proxy.seen) >= 9
    wrong = [request for request in recording_proxy.seen if request[2] != f"Bearer {connection_token}"]
    assert not wrong, f"requests not signed with the connection's token: {wrong}"


def test_with_nothing_bound_the_environment_defaults_apply(
    recording_proxy: RecordingProxy, connection_token: str, gcs_bucket_uri: str
) -> None:
    """Library use outside Airflow keeps google-cloud-storage's own defaults (anonymous on the emulator).

    This is also the proof that the proxy sees what the client sends: here no token is.
    """
    assert storage.bound_identity() is None
    storage.write_text(storage.join_uri(gcs_bucket_uri, "unbound.txt"), "x")
    assert recording_proxy.seen
    assert all(connection_token not in (authorization or "") for _, _, authorization in recording_proxy.seen)


def test_the_impersonation_chain_is_applied_to_storage_credentials(connection_token: str) -> None:
    """Impersonation wraps the connection's credentials, as for Vertex AI (no request is sent here)."""
    from google.auth import impersonated_credentials

    chain = ["delegate@p.iam.gserviceaccount.com", "pipeline@p.iam.gserviceaccount.com"]
    identity = connection_storage_identity(CONNECTION_ID, impersonation_chain=chain)
    credentials = identity.credentials
    assert isinstance(credentials, impersonated_credentials.Credentials)
    assert credentials.service_account_email == "pipeline@p.iam.gserviceaccount.com"
    assert credentials._source_credentials.token == connection_token
    assert "impersonating delegate@p.iam.gserviceaccount.com -> pipeline@p.iam.gserviceaccount.com" in identity.source


def test_bindings_nest_and_unwind() -> None:
    import google.oauth2.credentials

    outer = storage.StorageIdentity(google.oauth2.credentials.Credentials(token="outer"), "p1", "outer")
    inner = storage.StorageIdentity(google.oauth2.credentials.Credentials(token="inner"), None, "inner")
    with storage.using_identity(outer):
        with storage.using_identity(inner):
            assert storage.bound_identity() is inner
            assert storage._gcs_client()._credentials is inner.credentials
        assert storage.bound_identity() is outer
        with pytest.raises(RuntimeError), storage.using_identity(inner):
            raise RuntimeError("a failing task body")
        assert storage.bound_identity() is outer
    assert storage.bound_identity() is None


def test_a_saved_hugging_face_dataset_under_gs_is_read_as_the_connection(
    recording_proxy: RecordingProxy, connection_token: str, gcs_bucket_uri: str, tmp_path: Path
) -> None:
    """The ``datasets`` loader copies a ``gs://`` save_to_disk folder through storage: same identity, no gcsfs."""
    import datasets

    from gemini_qa_tuning.dataset.loaders import load_huggingface

    row = {
        "id": "q1",
        "title": "Bridges",
        "context": "The bridge opened in 1911.",
        "question": "When did the bridge open?",
        "answers": {"text": ["1911"], "answer_start": [21]},
    }
    folder = tmp_path / "saved"
    datasets.Dataset.from_list([row]).save_to_disk(str(folder))
    saved_uri = storage.join_uri(gcs_bucket_uri, "hf", "saved")
    with storage_as_connection(CONNECTION_ID):
        for path in folder.rglob("*"):
            if path.is_file():
                storage.write_bytes(storage.join_uri(saved_uri, str(path.relative_to(folder))), path.read_bytes())
        recording_proxy.seen.clear()
        (train,) = load_huggingface(saved_uri, ["train"])
    assert [example.id for example in train.examples] == ["q1"]
    assert recording_proxy.seen and {request[2] for request in recording_proxy.seen} == {f"Bearer {connection_token}"}
