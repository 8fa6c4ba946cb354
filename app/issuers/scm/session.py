"""The SCM client's wire layer: one shared httpx client, auth, timeouts, retries, logging.

Every CA call goes through `ScmSession.request`, which is the only place that knows about
HTTP status codes; above it the client deals in typed results and `ScmError`s.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import httpx

from app.issuers.scm.auth import ClientCertAuth, ScmAuth
from app.issuers.scm.errors import (
    ScmError,
    ScmProtocolError,
    ScmTimeoutError,
    ScmTransportError,
    error_from_response,
)
from app.issuers.scm.retry import RetryPolicy

log = logging.getLogger("certbroker.scm")

T = TypeVar("T")

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
PAGE_SIZE = 200  # SCM's maximum `size`


class ScmSession:
    """Sends requests to one SCM base URL (…/api or …/private/api) with one auth style.

    Pass `http` to share an existing `httpx.AsyncClient`; otherwise one is built here (with
    `transport` injectable for tests, and the client certificate when the auth style needs it)
    and closed by `aclose()`.
    """

    def __init__(
        self,
        base_url: str,
        auth: ScmAuth,
        *,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | str | bool = True,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.retry = retry or RetryPolicy()
        # Applied per request, so a shared client passed in without timeouts still gets them.
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._owns_http = http is None
        if http is None:
            if isinstance(auth, ClientCertAuth) and not isinstance(verify, ssl.SSLContext):
                verify = auth.ssl_context()
            elif isinstance(verify, str):
                verify = ssl.create_default_context(cafile=verify)
            http = httpx.AsyncClient(
                transport=transport,
                verify=verify,
                timeout=timeout,
                headers={"Accept": "application/json", "User-Agent": "certbroker-scm/1"},
            )
        self.http = http

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        collect: bool = False,
    ) -> httpx.Response:
        """Send one call; retry it only if `idempotent` (default: GET and HEAD).

        A 401 is retried once for every method when the auth style can refresh (OAuth), since
        a refused request was not processed.
        """
        if idempotent is None:
            idempotent = method in ("GET", "HEAD")
        policy = self.retry if idempotent else RetryPolicy(attempts=1)
        params = {k: v for k, v in (params or {}).items() if v is not None}
        attempt = 0
        reauthed = False
        while True:
            attempt += 1
            try:
                return await self._send_once(method, path, params, json, collect)
            except ScmError as error:
                if error.status == 401 and not reauthed and self.auth.invalidate():
                    reauthed = True
                    attempt -= 1
                    continue
                wait = policy.delay(attempt, error)
                if wait is None:
                    raise
                log.warning(
                    "scm %s %s attempt %d failed (%s); retrying in %.2fs",
                    method, path, attempt, type(error).__name__, wait,
                )  # fmt: skip
                await asyncio.sleep(wait)

    async def _send_once(
        self, method: str, path: str, params: dict[str, Any], json: Any, collect: bool
    ) -> httpx.Response:
        headers = await self.auth.headers(self.http)
        started = time.monotonic()
        try:
            response = await self.http.request(
                method,
                self.url(path),
                params=params,
                json=json,
                headers=headers,
                timeout=self.timeout,
            )
        except httpx.TimeoutException as exc:
            log.info("scm %s %s -> timeout after %.3fs", method, path, time.monotonic() - started)
            raise ScmTimeoutError(f"{method} {path} timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            log.info("scm %s %s -> %s", method, path, type(exc).__name__)
            raise ScmTransportError(f"{method} {path} failed: {type(exc).__name__}") from None
        log.info(
            "scm %s %s -> %s in %.3fs",
            method, path, response.status_code, time.monotonic() - started,
        )  # fmt: skip
        if response.status_code >= 400:
            raise error_from_response(response, collect=collect)
        return response

    async def get_json(self, path: str, **params: Any) -> Any:
        return json_of(await self.request("GET", path, params=params))

    async def count(self, path: str, **params: Any) -> int:
        """`HEAD` with filters; SCM answers with only `X-Total-Count`."""
        response = await self.request("HEAD", path, params=params)
        return total_count(response)

    async def paginate(
        self, path: str, parse: Callable[[dict[str, Any]], T], **params: Any
    ) -> AsyncIterator[T]:
        """Yield every item of a list endpoint, fetching `size=200` pages by `position`."""
        position = 0
        while True:
            response = await self.request(
                "GET", path, params={**params, "size": PAGE_SIZE, "position": position}
            )
            items = json_of(response)
            if not isinstance(items, list):
                raise ScmProtocolError(f"GET {path} returned no list")
            for item in items:
                yield parse(item)
            position += len(items)
            total = response.headers.get("X-Total-Count")
            if not items or len(items) < PAGE_SIZE or (total and position >= int(total)):
                return


def json_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ScmProtocolError(
            f"{response.request.method} {response.request.url.path} returned no JSON "
            f"(HTTP {response.status_code})",
            status=response.status_code,
        ) from None


def total_count(response: httpx.Response) -> int:
    try:
        return int(response.headers["X-Total-Count"])
    except (KeyError, ValueError):
        raise ScmProtocolError(
            f"{response.request.url.path} answered without X-Total-Count"
        ) from None


def id_from_location(response: httpx.Response) -> int:
    """The new resource's id from a 201's `Location` (an absolute URL ending in `/{id}`)."""
    location = response.headers.get("Location", "")
    tail = location.rstrip("/").rsplit("/", 1)[-1]
    if not tail.isdigit():
        raise ScmProtocolError(
            f"{response.request.url.path} created a resource without a usable Location"
        )
    return int(tail)
