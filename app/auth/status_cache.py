"""Briefly cached answers to "is this client still active?" and "is this tenant active?".

Every authenticated request asks both; a revocation or a disabled tenant takes effect within
TTL seconds in every process (at once in the process that made the change, which forgets).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from app.clients.service import client_is_active
from app.runtime import Runtime
from app.tenants.service import find_tenant

T = TypeVar("T")

TTL = 10.0
MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class TenantState:
    id: str
    active: bool


class StatusCache:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._clients: dict[str, tuple[float, bool]] = {}
        self._tenants: dict[str, tuple[float, TenantState | None]] = {}

    async def client_active(self, client_id: str) -> bool:
        async def load() -> bool:
            async with self._runtime.sessions() as session:
                return await client_is_active(session, client_id)

        return await _cached(self._clients, client_id, load)

    async def tenant(self, id_or_slug: str) -> TenantState | None:
        async def load() -> TenantState | None:
            async with self._runtime.sessions() as session:
                tenant = await find_tenant(session, id_or_slug)
            return TenantState(tenant.id, tenant.is_active) if tenant else None

        return await _cached(self._tenants, id_or_slug, load)

    def forget_client(self, client_id: str) -> None:
        self._clients.pop(client_id, None)

    def forget_tenant(self, tenant_id: str) -> None:
        for key, (_, state) in list(self._tenants.items()):
            if key == tenant_id or (state is not None and state.id == tenant_id):
                self._tenants.pop(key, None)

    def clear(self) -> None:
        self._clients.clear()
        self._tenants.clear()


async def _cached(
    store: dict[str, tuple[float, T]], key: str, load: Callable[[], Awaitable[T]]
) -> T:
    now = time.monotonic()
    hit = store.get(key)
    if hit is not None and now - hit[0] < TTL:
        return hit[1]
    value = await load()
    if len(store) >= MAX_ENTRIES:
        store.clear()  # crude bound; entries are cheap to reload
    store[key] = (now, value)
    return value
