"""HTTP-01 (RFC 8555 §8.3): where key authorizations are published and the route serving them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

CHALLENGE_PREFIX = "/.well-known/acme-challenge/"
# Tokens are base64url (RFC 8555 §8.1); refusing anything else keeps lookups and file names safe.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@runtime_checkable
class Http01Responder(Protocol):
    """Publishes key authorizations. The broker implements it on its database and answers
    `GET /.well-known/acme-challenge/{token}` with `Http01App` over its own lookup."""

    async def present(self, token: str, key_authorization: str) -> None: ...

    async def cleanup(self, token: str) -> None: ...


class InMemoryHttp01Responder:
    """Tokens in a dict: for tests, the benchmark and single-process deployments."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}

    async def present(self, token: str, key_authorization: str) -> None:
        self.tokens[token] = key_authorization

    async def cleanup(self, token: str) -> None:
        self.tokens.pop(token, None)

    async def lookup(self, token: str) -> str | None:
        return self.tokens.get(token)


class WebrootHttp01Responder:
    """Writes `<webroot>/.well-known/acme-challenge/<token>` for a web server to serve."""

    def __init__(self, webroot: str | Path) -> None:
        self.directory = Path(webroot) / CHALLENGE_PREFIX.strip("/")

    async def present(self, token: str, key_authorization: str) -> None:
        path = self._path(token)
        await asyncio.to_thread(self._write, path, key_authorization)

    async def cleanup(self, token: str) -> None:
        await asyncio.to_thread(self._path(token).unlink, True)

    def _path(self, token: str) -> Path:
        if not _TOKEN.match(token):
            raise ValueError(f"not an ACME token: {token!r}")
        return self.directory / token

    def _write(self, path: Path, key_authorization: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(key_authorization)


class Http01App:
    """A minimal ASGI app answering `GET /.well-known/acme-challenge/{token}` from `lookup`.

    Plain ASGI rather than a FastAPI router so it can be mounted anywhere (the broker's API, a
    bare uvicorn in tests) and stays cheap under a validation burst.
    """

    def __init__(self, lookup: Callable[[str], Awaitable[str | None]]) -> None:
        self.lookup = lookup

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path: str = scope.get("path", "")
        body: str | None = None
        if scope.get("method") in ("GET", "HEAD") and path.startswith(CHALLENGE_PREFIX):
            token = path[len(CHALLENGE_PREFIX) :]
            if _TOKEN.match(token):
                body = await self.lookup(token)
        status, payload = (200, body.encode()) if body is not None else (404, b"not found")
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"text/plain"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send(
            {
                "type": "http.response.body",
                "body": b"" if scope.get("method") == "HEAD" else payload,
            }
        )
