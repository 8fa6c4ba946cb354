"""The long-lived objects one process shares: engine, sessions, Redis, HTTP clients, backends.

Built once by the API's lifespan or the worker's startup, handed down explicitly; nothing
below reads global configuration.
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.crypto.secretbox import SecretBox
from app.db import create_engine, session_factory
from app.dns.base import DnsProviderRegistry
from app.egress.http import pinned_client
from app.egress.policy import EgressPolicy
from app.issuers.base import IssuerRegistry
from app.settings import Settings

if TYPE_CHECKING:
    from app.issuers.scm.pool import ScmClientPool


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    http: httpx.AsyncClient
    secretbox: SecretBox
    # Every connection a tenant's settings point at goes through this policy.
    egress: EgressPolicy
    # Webhook deliveries: connections pinned to addresses the policy checked.
    webhook_http: httpx.AsyncClient
    issuers: IssuerRegistry = field(default_factory=IssuerRegistry)
    dns_providers: DnsProviderRegistry = field(default_factory=DnsProviderRegistry)
    scm_pool: ScmClientPool | None = None
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        engine = create_engine(settings.database_url)
        egress = EgressPolicy(settings.egress)
        return cls(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            redis=Redis.from_url(settings.redis_url),
            http=httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0)),
            secretbox=SecretBox(settings.data_key_bytes, settings.data_key_id),
            egress=egress,
            webhook_http=webhook_client(egress, settings),
        )

    async def close(self) -> None:
        for close in reversed(self.closers):
            await close()
        await self.http.aclose()
        await self.webhook_http.aclose()
        await self.redis.aclose()
        await self.engine.dispose()


def webhook_client(egress: EgressPolicy, settings: Settings) -> httpx.AsyncClient:
    return pinned_client(
        egress,
        field="url",
        timeout=httpx.Timeout(settings.webhooks.timeout_seconds),
        follow_redirects=False,
    )


def freeze_heap() -> None:
    """For a long-running process once it is set up (the API's lifespan, the worker's startup):
    take every object alive now (modules, the app with its routes and schemas, the runtime:
    some 200,000 here) out of the cyclic garbage collector's sight. They live as long as the
    process, yet each full collection walked them all: about 180 ms of CPU with the event loop
    stopped, every few thousand requests under load. Afterwards a full collection looks only at
    what requests and jobs made. Reference counting still frees what is dropped."""
    gc.collect()
    gc.freeze()
