"""One shared `ScmClient` per SCM endpoint and identity, built on first use."""

from __future__ import annotations

import ssl

import httpx

from app.egress.http import PinnedTransport
from app.egress.policy import EgressPolicy
from app.issuers.scm.client import ScmClient
from app.issuers.scm.config import ScmBackendConfig
from app.issuers.scm.retry import RetryPolicy


class ScmClientPool:
    """Organizations sharing base URL and credentials share a client (and its connections).

    `transport`, `verify` and `retry` apply to every client built here; tests inject them.
    With `egress`, every client connects through the policy (pinned, CA URL rules re-checked
    on each request).
    """

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | str | bool = True,
        retry: RetryPolicy | None = None,
        timeout: float | httpx.Timeout | None = None,
        egress: EgressPolicy | None = None,
    ) -> None:
        self._egress = egress
        self._transport = transport
        self._verify = verify
        self._retry = retry
        self._timeout = timeout
        self._clients: dict[tuple[str, ...], ScmClient] = {}

    def get(self, config: ScmBackendConfig) -> ScmClient:
        key = config.client_key()
        client = self._clients.get(key)
        if client is None:
            extra = {"timeout": self._timeout} if self._timeout is not None else {}
            verify = config.ssl_context() or self._verify
            transport = self._transport
            if transport is None and self._egress is not None:
                context = verify if isinstance(verify, ssl.SSLContext) else None
                transport = PinnedTransport(
                    self._egress, field="scm.base_url", kind="ca", verify=context or True
                )
            client = ScmClient(
                config.base_url,
                config.build_auth(),
                transport=transport,
                verify=verify,
                retry=self._retry,
                **extra,
            )
            self._clients[key] = client
        return client

    def __len__(self) -> int:
        return len(self._clients)

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
