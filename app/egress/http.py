"""HTTP clients that can only connect where the egress policy allows.

The check happens where the socket is opened: each new connection resolves the host through
the policy and connects to an address that was just checked, so no second lookup (DNS
rebinding) can swap it. The URL keeps its host name, so TLS (SNI, certificate name check) and
the Host header are those of the name. Redirects, when a caller follows them, open their own
checked connections.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from app.egress.policy import EgressPolicy, UrlKind

DEFAULT_LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=10)


class CoalescingStream(httpcore.AsyncNetworkStream):
    """Holds what is written until the next read, so an HTTP/1.1 request's head and body
    (httpcore writes them one by one) leave as one TLS record in one send. Each send is a
    system call and a wake-up of the peer; for the small requests of an ACME order that is
    most of their cost. A large body is still sent as it comes (`FLUSH_AT`)."""

    FLUSH_AT = 64 * 1024

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        # httpcore asks every idle connection in the pool whether it is readable (closed by
        # the server) each time it hands out a connection; anyio's answer builds its attribute
        # maps on every call, so the socket is looked up once.
        self._socket = inner.get_extra_info("socket")
        self._pending: list[bytes] = []
        self._size = 0
        self._timeout: float | None = None

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if not buffer:
            return
        self._pending.append(buffer)
        self._size += len(buffer)
        self._timeout = timeout
        if self._size >= self.FLUSH_AT:
            await self._flush()

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        if self._pending:
            # As httpcore does with a failed write: the server may have answered already;
            # the read tells.
            with contextlib.suppress(httpcore.WriteError):
                await self._flush()
        return await self._inner.read(max_bytes, timeout)

    async def aclose(self) -> None:
        self._pending.clear()
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
    ) -> httpcore.AsyncNetworkStream:
        if self._pending:
            await self._flush()
        return CoalescingStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            return _readable(self._socket)
        return self._inner.get_extra_info(info)

    async def _flush(self) -> None:
        data = b"".join(self._pending)
        self._pending.clear()
        self._size = 0
        await self._inner.write(data, self._timeout)


def _readable(sock: socket.socket) -> bool:
    """httpcore's test: data (or the end of the stream) waits to be read. A closed socket is
    reported readable, as httpcore does, so the connection is dropped."""
    fd = sock.fileno()
    if fd < 0:
        return True
    if not hasattr(select, "poll"):  # Windows
        return bool(select.select([fd], [], [], 0)[0])
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    return bool(poll.poll(0))


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with every TCP connection checked by the policy first."""

    def __init__(self, policy: EgressPolicy, field: str) -> None:
        self._policy = policy
        self._field = field
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._policy.resolve(host, field=self._field)
        failure: Exception | None = None
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
                return CoalescingStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc  # the host's next address may answer
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not an egress target")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """An `AsyncHTTPTransport` whose connections go through `PinnedBackend`. `verify` is what
    httpx takes (an `SSLContext` carries extra roots or a client certificate). With `kind`,
    every request's URL is checked by the policy's URL rules first (a CA's directory cannot
    send the broker to a host outside the CA allowlist)."""

    def __init__(
        self,
        policy: EgressPolicy,
        *,
        field: str = "url",
        kind: UrlKind | None = None,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits = DEFAULT_LIMITS,
        http2: bool = False,
    ) -> None:
        context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify)
        super().__init__(verify=context, limits=limits, http2=http2)
        self._policy, self._field, self._kind = policy, field, kind
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=http2,
            network_backend=PinnedBackend(policy, field),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._kind is not None:
            self._policy.check_url(str(request.url), field=self._field, kind=self._kind)
        return await super().handle_async_request(request)


def pinned_client(
    policy: EgressPolicy,
    *,
    field: str = "url",
    kind: UrlKind | None = None,
    verify: ssl.SSLContext | bool = True,
    limits: httpx.Limits = DEFAULT_LIMITS,
    **client_options: Any,
) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` on a `PinnedTransport`; no proxies from the environment (they
    would connect for us, unchecked)."""
    transport = PinnedTransport(policy, field=field, kind=kind, verify=verify, limits=limits)
    return httpx.AsyncClient(transport=transport, trust_env=False, **client_options)
