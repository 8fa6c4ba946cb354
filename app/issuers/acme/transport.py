"""Signed requests to one ACME server: directory discovery, the nonce pool, badNonce retries."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections import deque
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from app.issuers.acme.errors import AcmeTransportError, BadNonce, problem_from_document
from app.issuers.acme.jws import AccountKey, sign_jws
from app.issuers.acme.models import Directory

JOSE = {"Content-Type": "application/jose+json"}
# Nonces are single-use and cheap; a bounded pool avoids hoarding ones the server may expire.
_POOL_LIMIT = 256


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


class AcmeTransport:
    """Everything below the ACME resources: one per directory URL, sharing an httpx client.

    `max_nonce_retries` bounds how often one request is re-signed after `badNonce`; each
    rejection carries a fresh nonce, so retrying is cheap and a CA that rejects half of all
    nonces still gets through.
    """

    def __init__(
        self, http: httpx.AsyncClient, directory_url: str, max_nonce_retries: int = 15
    ) -> None:
        self.http = http
        self.directory_url = directory_url
        self.max_nonce_retries = max_nonce_retries
        self._directory: Directory | None = None
        self._directory_lock = asyncio.Lock()
        self._nonces: deque[str] = deque()

    async def directory(self) -> Directory:
        if self._directory is None:
            async with self._directory_lock:
                if self._directory is None:
                    response = await self.get(self.directory_url)
                    self._directory = Directory.from_json(self.json(response))
        return self._directory

    async def get(self, url: str) -> httpx.Response:
        """An unauthenticated GET (directory, ARI renewalInfo)."""
        response = await self._send("GET", url)
        self._raise_for_problem(response)
        return response

    async def post(
        self, url: str, payload: Any | None, key: AccountKey, kid: str | None = None
    ) -> httpx.Response:
        """POST a JWS (payload None = POST-as-GET); re-sign with a fresh nonce on badNonce."""
        for attempt in range(self.max_nonce_retries + 1):
            nonce = await self._take_nonce()
            body = sign_jws(key, payload, url, nonce=nonce, kid=kid)
            response = await self._send(
                "POST", url, idempotent=payload is None, json=body, headers=JOSE
            )
            try:
                self._raise_for_problem(response)
            except BadNonce:
                if attempt == self.max_nonce_retries:
                    raise
                continue
            return response
        raise AssertionError("unreachable")

    async def _take_nonce(self) -> str:
        if self._nonces:
            return self._nonces.popleft()
        directory = await self.directory()
        response = await self._send("HEAD", directory.new_nonce)
        nonce = response.headers.get("Replay-Nonce")
        if not nonce:
            raise AcmeTransportError(f"no Replay-Nonce from {directory.new_nonce}")
        # _send pooled it; take it back out so it is used exactly once.
        with contextlib.suppress(ValueError):
            self._nonces.remove(nonce)
        return nonce

    async def _send(
        self, method: str, url: str, idempotent: bool = True, **kwargs: Any
    ) -> httpx.Response:
        """One request, sent again once when the connection failed: always if it never got
        through (connect errors), and for reads also when a kept-alive connection turned out
        to be closed by the server (the CA may have acted on a POST before dropping it)."""
        for attempt in (1, 2):
            try:
                response = await self.http.request(method, url, **kwargs)
                break
            except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                if attempt == 2 or not (idempotent or isinstance(exc, httpx.ConnectError)):
                    raise AcmeTransportError(f"{method} {url}: {exc!r}") from exc
            except httpx.HTTPError as exc:
                raise AcmeTransportError(f"{method} {url}: {exc!r}") from exc
        nonce = response.headers.get("Replay-Nonce")
        if nonce and len(self._nonces) < _POOL_LIMIT:
            self._nonces.append(nonce)
        return response

    @staticmethod
    def _raise_for_problem(response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        try:
            doc = response.json()
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise AcmeTransportError(
                f"HTTP {response.status_code} from {response.request.url} without a problem "
                f"document: {response.text[:200]!r}"
            )
        raise problem_from_document(doc, response.status_code, retry_after_seconds(response))

    @staticmethod
    def json(response: httpx.Response) -> dict[str, Any]:
        try:
            doc = response.json()
        except ValueError as exc:
            raise AcmeTransportError(f"invalid JSON from {response.request.url}") from exc
        if not isinstance(doc, dict):
            raise AcmeTransportError(f"unexpected JSON from {response.request.url}")
        return doc
