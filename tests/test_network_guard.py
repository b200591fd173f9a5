"""The suite's network guard (tests/conftest.py): tests may reach this machine only."""

from __future__ import annotations

import socket

import pytest


@pytest.mark.parametrize("address", [("8.8.8.8", 53), ("10.0.0.1", 80), ("storage.googleapis.com", 443)])
def test_non_loopback_connections_are_refused(address: tuple[str, int]) -> None:
    with socket.socket() as sock, pytest.raises(RuntimeError, match="only loopback allowed"):
        sock.connect(address)
    with socket.socket() as sock, pytest.raises(RuntimeError, match="only loopback allowed"):
        sock.connect_ex(address)


def test_ipv6_non_loopback_is_refused() -> None:
    with socket.socket(socket.AF_INET6) as sock, pytest.raises(RuntimeError, match="only loopback allowed"):
        sock.connect(("2001:4860:4860::8888", 53, 0, 0))


def test_loopback_connections_pass() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        for host in ("127.0.0.1", "localhost"):
            with socket.socket() as client:
                client.connect((host, server.getsockname()[1]))
                server.accept()[0].close()


def test_a_google_client_cannot_slip_out(local_airflow_env: dict) -> None:
    """Even a real SDK call, with the emulator URL removed, fails at the guard instead of reaching Google."""
    import google.oauth2.credentials
    from google import genai
    from google.genai import types

    client = genai.Client(
        vertexai=True,
        project="p",
        location="us-central1",
        credentials=google.oauth2.credentials.Credentials(token="t"),
        http_options=types.HttpOptions(base_url="https://us-central1-aiplatform.googleapis.com/", timeout=5000),
    )
    with pytest.raises(Exception) as raised:
        client.models.count_tokens(model="gemini-2.5-flash", contents="hello")
    chain, error = [], raised.value
    while error is not None:
        chain.append(repr(error))
        error = error.__cause__ or error.__context__
    assert any("only loopback allowed" in item for item in chain), chain


def test_name_lookups_of_remote_hosts_are_refused() -> None:
    with pytest.raises(RuntimeError, match="only loopback allowed"):
        socket.getaddrinfo("huggingface.co", 443)
    assert socket.getaddrinfo("localhost", 80)
