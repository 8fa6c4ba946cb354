"""Pinned HTTP: the connection goes to the address the policy checked at connect time, the
request keeps its host name, and a name rebound to a refused address gets no new connection."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpcore
import pytest
import uvicorn

from app.egress.http import CoalescingStream, pinned_client
from app.egress.policy import EgressRefused, EgressUnresolved
from tests.fixtures.egress import EgressNames


class Seen:
    def __init__(self) -> None:
        self.hosts: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = dict(scope["headers"])
        self.hosts.append(headers[b"host"].decode())
        if scope["path"] == "/redirect":
            location = [(b"location", b"http://169.254.169.254/latest/meta-data")]
            await send({"type": "http.response.start", "status": 302, "headers": location})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
async def server() -> AsyncIterator[tuple[int, Seen]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    seen = Seen()
    config = uvicorn.Config(seen, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    running = uvicorn.Server(config)
    task = asyncio.create_task(running.serve())
    while not running.started:
        await asyncio.sleep(0.02)
    yield port, seen
    running.should_exit = True
    await task


async def test_a_checked_name_is_reached_under_its_own_name(
    egress_names: EgressNames, server: tuple[int, Seen]
) -> None:
    port, seen = server
    name = await egress_names.name_for(["127.0.0.1"])
    policy = egress_names.policy(allowed_networks=["127.0.0.1/32"])
    async with pinned_client(policy) as http:
        answer = await http.get(f"http://{name}:{port}/x")
    assert answer.status_code == 204
    assert seen.hosts == [f"{name}:{port}"]


async def test_a_refused_name_gets_no_connection(
    egress_names: EgressNames, server: tuple[int, Seen]
) -> None:
    port, seen = server
    name = await egress_names.name_for(["127.0.0.1"])
    async with pinned_client(egress_names.policy(), field="body.url") as http:
        with pytest.raises(EgressRefused, match="loopback") as refused:
            await http.get(f"http://{name}:{port}/x")
        with pytest.raises(EgressRefused, match="loopback"):
            await http.get(f"http://127.0.0.1:{port}/x")
        with pytest.raises(EgressRefused, match="loopback"):
            await http.get(f"http://[::ffff:127.0.0.1]:{port}/x")
    assert refused.value.errors[0]["field"] == "body.url"
    assert seen.hosts == []


async def test_a_rebound_name_is_refused_on_its_next_connection(
    egress_names: EgressNames, server: tuple[int, Seen]
) -> None:
    port, seen = server
    name = await egress_names.name_for(["127.0.0.1"])
    policy = egress_names.policy(allowed_networks=["127.0.0.1/32"])
    async with pinned_client(policy, headers={"connection": "close"}) as http:
        assert (await http.get(f"http://{name}:{port}/x")).status_code == 204
        await egress_names.point(name, ["10.0.0.1"])
        with pytest.raises(EgressRefused, match="private"):
            await http.get(f"http://{name}:{port}/x")
        await egress_names.point(name, [])
        with pytest.raises(EgressUnresolved):
            await http.get(f"http://{name}:{port}/x")
    assert len(seen.hosts) == 1


async def test_redirects_open_checked_connections(
    egress_names: EgressNames, server: tuple[int, Seen]
) -> None:
    port, seen = server
    policy = egress_names.policy(allowed_networks=["127.0.0.1/32"])
    async with pinned_client(policy, follow_redirects=True) as http:
        with pytest.raises(EgressRefused, match="metadata"):
            await http.get(f"http://127.0.0.1:{port}/redirect")
    assert seen.hosts == [f"127.0.0.1:{port}"]


async def test_a_ca_client_checks_every_request_url_against_the_ca_rules(
    egress_names: EgressNames, server: tuple[int, Seen]
) -> None:
    """A CA's answers (a directory, a redirect) cannot send the broker to another host."""
    port, seen = server
    policy = egress_names.policy(
        allowed_networks=["127.0.0.1/32"],
        ca_host_allowlist=["127.0.0.1"],
        ca_allow_http=True,
        ca_any_port=True,
    )
    async with pinned_client(policy, kind="ca", field="acme.directory_url") as http:
        assert (await http.get(f"http://127.0.0.1:{port}/x")).status_code == 204
        name = await egress_names.name_for(["127.0.0.1"])
        with pytest.raises(EgressRefused, match="not an allowed CA endpoint") as refused:
            await http.get(f"http://{name}:{port}/x")
    assert refused.value.errors[0]["field"] == "acme.directory_url"
    assert seen.hosts == [f"127.0.0.1:{port}"]


class RecordingStream(httpcore.AsyncNetworkStream):
    def __init__(self) -> None:
        self.writes: list[bytes] = []

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.writes.append(buffer)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return b"HTTP/1.1 204 No Content\r\n\r\n"

    async def aclose(self) -> None:
        pass


async def test_a_requests_head_and_body_leave_in_one_send() -> None:
    inner = RecordingStream()
    stream = CoalescingStream(inner)
    await stream.write(b"POST / HTTP/1.1\r\n\r\n")
    await stream.write(b"")
    await stream.write(b"{}")
    assert inner.writes == []
    assert (await stream.read(65536)).startswith(b"HTTP/1.1 204")
    assert inner.writes == [b"POST / HTTP/1.1\r\n\r\n{}"]
    await stream.write(b"x" * CoalescingStream.FLUSH_AT)  # a large body is not held back
    assert len(inner.writes) == 2


async def test_an_idle_connection_closed_by_the_server_reads_as_readable() -> None:
    ours, theirs = socket.socketpair()

    class Raw(RecordingStream):
        def get_extra_info(self, info: str) -> Any:
            return ours if info == "socket" else None

    stream = CoalescingStream(Raw())
    try:
        assert stream.get_extra_info("is_readable") is False  # httpcore keeps it
        theirs.close()
        assert stream.get_extra_info("is_readable") is True  # httpcore drops it
    finally:
        ours.close()
