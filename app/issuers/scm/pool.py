"""One shared `ScmClient` per SCM endpoint and identity, built on first use."""

from __future__ import annotations

import ssl

import httpx

from app.issuers.scm.client import ScmClient
from app.issuers.scm.config import ScmBackendConfig
from app.issuers.scm.retry import RetryPolicy


class ScmClientPool:
    """Organizations sharing base URL and credentials share a client (and its connections).

    `transport`, `verify` and `retry` apply to every client built here; tests inject them.
    """

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | str | bool = True,
        retry: RetryPolicy | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> None:
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
            client = ScmClient(
                config.base_url,
                config.build_auth(),
                transport=self._transport,
                verify=config.ca_file or self._verify,
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
