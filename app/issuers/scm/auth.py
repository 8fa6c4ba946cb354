"""How the SCM client proves who it is: one small strategy object per access style.

SCM offers three styles over the same resource paths (contract, section 1):
header credentials (`login`/`password`/`customerUri`), OAuth2 client credentials with a Bearer
token, and a TLS client certificate on the `/private/api` base with `login`/`customerUri`.
The session asks the strategy for headers before every request and tells it about a 401, so
only the OAuth strategy has state (a cached token).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from typing import Protocol

import httpx
from pydantic import SecretStr

from app.crypto.pem import client_context
from app.issuers.scm.errors import (
    ScmAuthError,
    ScmProtocolError,
    ScmTransportError,
    error_from_response,
)

log = logging.getLogger("certbroker.scm")


class ScmAuth(Protocol):
    """An access style. Implementations never expose secrets through repr or errors."""

    style: str

    async def headers(self, http: httpx.AsyncClient) -> dict[str, str]:
        """Headers to put on the next request (may fetch a token)."""
        ...

    def invalidate(self) -> bool:
        """Forget cached credentials after a 401; True if retrying once can help."""
        ...


class HeaderAuth:
    """Classic `login` + `password` + `customerUri` headers on every request."""

    style = "header"

    def __init__(self, login: str, password: SecretStr | str, customer_uri: str) -> None:
        self.login = login
        self._password = password if isinstance(password, SecretStr) else SecretStr(password)
        self.customer_uri = customer_uri

    async def headers(self, http: httpx.AsyncClient) -> dict[str, str]:
        return {
            "login": self.login,
            "password": self._password.get_secret_value(),
            "customerUri": self.customer_uri,
        }

    def invalidate(self) -> bool:
        return False  # the same password will be refused again

    def __repr__(self) -> str:
        return f"HeaderAuth(login={self.login!r}, customer_uri={self.customer_uri!r})"


class ClientCertAuth:
    """TLS client certificate (carried by the httpx client) + `login`/`customerUri` headers.

    The base URL must use the `/private/api` prefix; `ssl_context()` builds what the shared
    httpx client needs to present the certificate. Certificate and key are PEM text from the
    organization's settings (the key decrypted from its own column), never file paths.
    """

    style = "client_cert"

    def __init__(
        self,
        login: str,
        customer_uri: str,
        cert_pem: str,
        key_pem: SecretStr | None = None,
        ca_bundle_pem: str | None = None,
    ) -> None:
        self.login = login
        self.customer_uri = customer_uri
        self.cert_pem = cert_pem
        self._key_pem = key_pem
        self.ca_bundle_pem = ca_bundle_pem

    def ssl_context(self) -> ssl.SSLContext:
        key = self._key_pem.get_secret_value() if self._key_pem else None
        return client_context(self.ca_bundle_pem, self.cert_pem, key)

    async def headers(self, http: httpx.AsyncClient) -> dict[str, str]:
        return {"login": self.login, "customerUri": self.customer_uri}

    def invalidate(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"ClientCertAuth(login={self.login!r}, customer_uri={self.customer_uri!r})"


class OAuthAuth:
    """OAuth2 client credentials; the token is cached and refreshed shortly before expiry.

    "Shortly" is 10% of the lifetime, at most 30 s, so short test lifetimes still work. A 401
    drops the token and lets the session retry once with a fresh one.
    """

    style = "oauth"

    def __init__(
        self,
        client_id: str,
        client_secret: SecretStr | str,
        token_url: str,
        *,
        timeout: float = 10.0,
    ) -> None:
        self.client_id = client_id
        self._secret = (
            client_secret if isinstance(client_secret, SecretStr) else SecretStr(client_secret)
        )
        self.token_url = token_url
        self._timeout = timeout
        self._token: str | None = None
        self._refresh_at = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0  # how many tokens were fetched; useful in tests and metrics

    async def headers(self, http: httpx.AsyncClient) -> dict[str, str]:
        token = self._token
        if token is None or time.monotonic() >= self._refresh_at:
            token = await self._refresh(http, stale=token)
        return {"Authorization": f"Bearer {token}"}

    def invalidate(self) -> bool:
        self._token = None
        return True

    async def _refresh(self, http: httpx.AsyncClient, stale: str | None) -> str:
        async with self._lock:
            # Another task may have refreshed while we waited for the lock.
            fresh = self._token is not None and time.monotonic() < self._refresh_at
            if fresh and self._token != stale:
                return self._token
            started = time.monotonic()
            try:
                response = await http.post(
                    self.token_url,
                    data={
                        "grant_type": "client_credentials",
                        "client_id": self.client_id,
                        "client_secret": self._secret.get_secret_value(),
                    },
                    headers={"Accept": "application/json"},
                    timeout=self._timeout,
                )
            except httpx.HTTPError as exc:
                raise ScmTransportError(f"token request failed: {type(exc).__name__}") from None
            log.info(
                "scm token POST %s -> %s in %.3fs",
                httpx.URL(self.token_url).path,
                response.status_code,
                time.monotonic() - started,
            )
            if response.status_code == 429 or response.status_code >= 500:
                raise error_from_response(response)  # transient: retried like any other call
            if response.status_code != 200:
                # No `status`: a refused token must not trigger the session's retry-on-401.
                raise ScmAuthError(
                    f"token endpoint refused client {self.client_id!r}: HTTP {response.status_code}"
                )
            try:
                body = response.json()
                token = str(body["access_token"])
                lifetime = float(body.get("expires_in", 300))
            except (ValueError, KeyError, TypeError):
                raise ScmProtocolError("token endpoint returned no access_token") from None
            self._token = token
            self._refresh_at = started + lifetime - min(30.0, lifetime * 0.1)
            self.fetches += 1
            return token

    def __repr__(self) -> str:
        return f"OAuthAuth(client_id={self.client_id!r}, token_url={self.token_url!r})"
