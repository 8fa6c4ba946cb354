"""A lean Redis lane for the tiny commands every API request sends (the rate limit's script).

redis-py's asyncio command path (connection pool checkout, retry wrapper, script object,
encoder, parser, one write per command) costs about 120 µs of CPU per call here; most of it is
not the round trip. A lane is one connection of the process's own, pipelined: a call appends
its command to the lane's buffer and gets a future; the buffer is written once per event-loop
turn, so calls made together share one write, and replies, which Redis sends in order, resolve
the futures in order. Sequentially a call costs about half of redis-py's, at 64 concurrent about
a tenth.

Only plain `redis://host:port/db` URLs (with an optional user and password) take the lane;
anything else (TLS, a Unix socket) goes through redis-py, as does every command elsewhere.
A lost connection fails the calls in flight (`ConnectionError`) and the next call reconnects.
A Redis that does not answer within `TIMEOUT` (connecting, or a reply) fails the call the same
way and the connection is dropped (its replies would be out of step): the rate limit lets the
request through and the nudge is skipped, so a stalled Redis costs a request at most that long.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

if TYPE_CHECKING:
    from app.runtime import Runtime

Reply = Any
TIMEOUT = 2.0  # seconds: a connection or a reply (the lane's commands take microseconds)


class _Incomplete(Exception):
    pass


def _parse(buf: bytearray, pos: int) -> tuple[Reply, int]:
    """One RESP2 reply from `buf` at `pos`: (value, position after it); _Incomplete if the
    buffer does not hold all of it yet. Errors are returned, not raised."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise _Incomplete
    kind, line, pos = buf[pos], bytes(buf[pos + 1 : end]), end + 2
    if kind == 58:  # ':'
        return int(line), pos
    if kind == 36:  # '$'
        size = int(line)
        if size < 0:
            return None, pos
        if len(buf) < pos + size + 2:
            raise _Incomplete
        return bytes(buf[pos : pos + size]), pos + size + 2
    if kind == 42:  # '*'
        count = int(line)
        if count < 0:
            return None, pos
        items = []
        for _ in range(count):
            item, pos = _parse(buf, pos)
            items.append(item)
        return items, pos
    if kind == 43:  # '+'
        return line, pos
    if kind == 45:  # '-'
        message = line.decode("utf-8", "replace")
        if message.startswith("NOSCRIPT"):
            return NoScriptError(message), pos
        return ResponseError(message), pos
    raise RedisConnectionError(f"unexpected reply type {chr(kind)!r} from Redis")


def pack(*args: bytes | str | int | float) -> bytes:
    """A command in RESP2."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, str):
            data = arg.encode()
        else:
            data = repr(arg).encode()
        out.append(b"$%d\r\n%b\r\n" % (len(data), data))
    return b"".join(out)


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiting: collections.deque[asyncio.Future[Reply]] = collections.deque()
        self.buffer = bytearray()
        self.outgoing: list[bytes] = []
        self.flush_scheduled = False
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        pos = 0
        try:
            while self.waiting:
                value, pos = _parse(self.buffer, pos)
                waiter = self.waiting.popleft()
                if not waiter.done():
                    waiter.set_result(value)
        except _Incomplete:
            pass
        except Exception as exc:  # a reply we cannot read: the stream is out of step
            self._fail(exc)
            if self.transport is not None:
                self.transport.close()
            return
        del self.buffer[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(RedisConnectionError(f"connection to Redis lost: {exc or 'closed'}"))

    def _fail(self, exc: Exception) -> None:
        self.lost = True
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_exception(exc)

    def send(self, command: bytes) -> asyncio.Future[Reply]:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Reply] = loop.create_future()
        self.waiting.append(waiter)
        self.outgoing.append(command)
        if not self.flush_scheduled:
            self.flush_scheduled = True
            loop.call_soon(self._flush)
        return waiter

    def _flush(self) -> None:
        self.flush_scheduled = False
        if self.outgoing and self.transport is not None and not self.lost:
            self.transport.write(b"".join(self.outgoing))
        self.outgoing.clear()


class RedisLane:
    def __init__(self, url: str, fallback: Redis) -> None:
        self._fallback = fallback
        parts = urlsplit(url)
        self._direct = parts.scheme == "redis" and bool(parts.hostname)
        if self._direct:
            self._host = parts.hostname or "127.0.0.1"
            self._port = parts.port or 6379
            self._db = int(parts.path.strip("/") or 0)
            self._user = unquote(parts.username) if parts.username else None
            self._password = unquote(parts.password) if parts.password else None
        self._protocol: _Protocol | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting: asyncio.Lock | None = None

    async def execute(self, *args: bytes | str | int | float) -> Reply:
        """One command's reply; a Redis error reply is raised as redis-py raises it."""
        if not self._direct:
            return await self._fallback.execute_command(*args)
        try:
            async with asyncio.timeout(TIMEOUT):
                protocol = await self._connection()
                reply = await protocol.send(pack(*args))
        except TimeoutError:
            self._forget()  # replies still owed would answer the next calls
            raise RedisConnectionError(f"Redis did not answer within {TIMEOUT} s") from None
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def _connection(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        protocol = self._protocol
        if protocol is not None and not protocol.lost and self._loop is loop:
            return protocol
        if self._connecting is None or self._loop is not loop:
            self._forget()
            self._loop, self._connecting = loop, asyncio.Lock()
        async with self._connecting:
            if self._protocol is not None and not self._protocol.lost:
                return self._protocol
            _, fresh = await loop.create_connection(_Protocol, self._host, self._port)
            hello = []
            if self._password is not None:
                auth = (self._user, self._password) if self._user else (self._password,)
                hello.append(fresh.send(pack("AUTH", *auth)))
            if self._db:
                hello.append(fresh.send(pack("SELECT", self._db)))
            for reply in await asyncio.gather(*hello):
                if isinstance(reply, Exception):
                    if fresh.transport is not None:
                        fresh.transport.close()
                    raise reply
            self._protocol = fresh
            return fresh

    def _forget(self) -> None:
        if self._protocol is not None and self._protocol.transport is not None:
            with contextlib.suppress(RuntimeError):  # its loop is gone (a test's)
                self._protocol.transport.close()
        self._protocol = None

    async def aclose(self) -> None:
        self._forget()


def lane_for(runtime: Runtime) -> RedisLane:
    """The process's lane to the runtime's Redis (closed with the runtime)."""
    found = runtime.extras.get("redis_lane")
    if found is None:
        found = runtime.extras["redis_lane"] = RedisLane(runtime.settings.redis_url, runtime.redis)
        runtime.closers.append(found.aclose)
    return found
