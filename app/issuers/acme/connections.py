"""The issuer's long-lived ACME clients (one per directory URL and trust bundle) and accounts."""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from app.crypto.pem import client_context
from app.egress.http import pinned_client
from app.egress.policy import EgressPolicy
from app.issuers.acme.accounts import AcmeAccountStore
from app.issuers.acme.client import AcmeAccount, AcmeClient
from app.issuers.acme.config import AcmeConfig
from app.issuers.acme.registration import AccountRegistrar

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# Enough keep-alive connections for a burst of concurrent orders against one CA.
LIMITS = httpx.Limits(max_connections=8, max_keepalive_connections=8)


class AcmeConnections:
    """Builds each httpx client once: the shared one for public CAs, a dedicated one per
    extra trust bundle (httpx fixes TLS trust per client). With `egress`, every client is
    pinned by the policy and checks each request's URL against the CA rules."""

    def __init__(
        self,
        accounts: AcmeAccountStore,
        http: httpx.AsyncClient | None,
        egress: EgressPolicy | None = None,
    ) -> None:
        self.registrar = AccountRegistrar(accounts)
        self._shared = http if egress is None else None
        self._egress = egress
        self._owned: dict[str | None, httpx.AsyncClient] = {}
        self._clients: dict[tuple[str, str | None], AcmeClient] = {}

    def client(self, config: AcmeConfig) -> AcmeClient:
        key = (config.directory_url, config.ca_bundle_pem)
        if key not in self._clients:
            self._clients[key] = AcmeClient(self._http(config.ca_bundle_pem), config.directory_url)
        return self._clients[key]

    async def open(self, config: AcmeConfig) -> tuple[AcmeClient, AcmeAccount]:
        client = self.client(config)
        return client, await self.registrar.account(client, config)

    async def aclose(self) -> None:
        for http in self._owned.values():
            await http.aclose()
        self._owned.clear()
        self._clients.clear()

    def _http(self, ca_bundle: str | None) -> httpx.AsyncClient:
        if ca_bundle is None and self._shared is not None:
            return self._shared
        if ca_bundle not in self._owned:
            verify: ssl.SSLContext | bool = client_context(ca_bundle) if ca_bundle else True
            options: dict[str, Any] = {
                "timeout": TIMEOUT,
                "limits": LIMITS,
                "headers": {"User-Agent": "certbroker-acme/0.1"},
            }
            self._owned[ca_bundle] = (
                pinned_client(
                    self._egress, field="acme.directory_url", kind="ca", verify=verify, **options
                )
                if self._egress is not None
                else httpx.AsyncClient(verify=verify, **options)
            )
        return self._owned[ca_bundle]
