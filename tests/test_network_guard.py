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
        client.models.count_tokens(model="gemini-3.5-flash-lite", contents="hello")
    chain, error = [], raised.value
    while error is not None:
        chain.append(repr(error))
        error = error.__cause__ or error.__context__
    assert any("only loopback allowed" in item for item in chain), chain


def test_name_lookups_of_remote_hosts_are_refused() -> None:
    with pytest.raises(RuntimeError, match="only loopback allowed"):
        socket.getaddrinfo("huggingface.co", 443)
    assert socket.getaddrinfo("localhost", 80)


# --------------------------------------------------------------------------- UDP and every resolver call
# 192.0.2.1 is TEST-NET-1 (RFC 5737) and *.example names are reserved (RFC 2606): even if the guard let one
# through, nothing real would be reached. An unbound socket proves the real send never ran: the kernel binds
# a socket to a port on its first datagram.
REMOTE_ADDRESS = ("192.0.2.1", 53)
REMOTE_NAME = "guard-test.example"

# The real functions, taken when pytest imports this module, before the guard (a per-test fixture) replaces
# them. Each test first checks that what it is about to call is the guard's replacement: without a guard,
# the test fails there, before anything can leave the machine.
_RESOLVER_CALLS = ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getnameinfo")
_SOCKET_METHODS = ("connect", "connect_ex", "sendto", "sendmsg")
_UNGUARDED = {name: getattr(socket, name) for name in _RESOLVER_CALLS} | {
    f"socket.{name}": getattr(socket.socket, name) for name in _SOCKET_METHODS
}


def require_guard(*names: str) -> None:
    for name in names:
        current = getattr(socket.socket, name.split(".", 1)[1]) if "." in name else getattr(socket, name)
        assert current is not _UNGUARDED[name], f"socket.{name} is not guarded: refusing to call it"


def test_udp_datagrams_to_remote_addresses_are_refused_before_sending() -> None:
    require_guard("socket.sendto", "socket.sendmsg", "getaddrinfo")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        with pytest.raises(RuntimeError, match="only loopback allowed"):
            sock.sendto(b"x", REMOTE_ADDRESS)
        with pytest.raises(RuntimeError, match="only loopback allowed"):
            sock.sendto(b"x", 0, REMOTE_ADDRESS)
        with pytest.raises(RuntimeError, match="only loopback allowed"):
            sock.sendmsg([b"x"], [], 0, REMOTE_ADDRESS)
        with pytest.raises(RuntimeError, match="only loopback allowed"):
            sock.sendmsg([b"x"], address=REMOTE_ADDRESS)
        with pytest.raises(RuntimeError, match="only loopback allowed"):
            sock.sendto(b"x", (REMOTE_NAME, 53))
        with pytest.raises(RuntimeError, match="only loopback allowed"):
            sock.sendto(b"x", ("<broadcast>", 53))
        assert sock.getsockname() == ("0.0.0.0", 0), "a datagram left before the guard refused it"


def test_connecting_a_udp_socket_to_a_remote_address_is_refused() -> None:
    require_guard("socket.connect", "socket.connect_ex", "socket.sendto")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        with pytest.raises(RuntimeError, match="only loopback allowed"):
            sock.connect(REMOTE_ADDRESS)
        with pytest.raises(RuntimeError, match="only loopback allowed"):
            sock.connect_ex(REMOTE_ADDRESS)
        assert sock.getsockname() == ("0.0.0.0", 0)
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock, pytest.raises(RuntimeError, match="loopback"):
        sock.sendto(b"x", ("2001:db8::1", 53, 0, 0))  # the IPv6 documentation prefix (RFC 3849)


def test_udp_on_loopback_still_works() -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client,
    ):
        server.bind(("127.0.0.1", 0))
        server.settimeout(5)
        client.sendto(b"ping", server.getsockname())
        client.sendmsg([b"pong"], [], 0, server.getsockname())
        assert server.recv(16) == b"ping" and server.recv(16) == b"pong"
        client.connect(server.getsockname())
        client.sendmsg([b"connected"])
        assert server.recv(16) == b"connected"


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        ("gethostbyname", REMOTE_NAME),
        ("gethostbyname_ex", REMOTE_NAME),
        ("gethostbyaddr", REMOTE_ADDRESS[0]),
        ("gethostbyaddr", REMOTE_NAME),
        ("getaddrinfo", REMOTE_NAME),
    ],
)
def test_every_resolver_call_for_a_remote_host_is_refused(call: str, argument: str) -> None:
    # Looked up at call time: the guard replaces the module's functions for each test.
    require_guard(call)
    with pytest.raises(RuntimeError, match="only loopback allowed"):
        getattr(socket, call)(argument)


def test_reverse_look_ups_of_remote_addresses_are_refused_unless_numeric() -> None:
    require_guard("getnameinfo")
    with pytest.raises(RuntimeError, match="only loopback allowed"):
        socket.getnameinfo(REMOTE_ADDRESS, 0)
    # NI_NUMERICHOST only formats the address: no look-up, so no traffic.
    assert socket.getnameinfo(REMOTE_ADDRESS, socket.NI_NUMERICHOST | socket.NI_NUMERICSERV) == ("192.0.2.1", "53")


def test_resolving_this_machine_still_works() -> None:
    assert socket.gethostbyname("localhost").startswith("127.")
    assert socket.gethostbyname_ex("localhost")[2]
    assert socket.gethostbyaddr("127.0.0.1")[2] == ["127.0.0.1"]
    assert socket.getnameinfo(("127.0.0.1", 80), 0)
    assert socket.gethostbyname(socket.gethostname())
    assert socket.getfqdn()  # Airflow's default hostname_callable: gethostbyaddr of this machine's name
