"""Briefly cached answers to "is this client still active?" and "is this tenant active?".

Every authenticated request asks both; a revocation or a disabled tenant takes effect within
TTL seconds in every process (at once in the process that made the change, which forgets).
Requests that miss together share one load (64 concurrent callers used to send 64 identical
queries each time an entry aged out); a load that was under way when its entry was forgotten
answers its waiters but is not kept.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

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
        self._loading: dict[tuple[str, str], asyncio.Future[Any]] = {}
        self._generation = 0  # moved on by every forget: a load begun before is not kept

    async def client_active(self, client_id: str) -> bool:
        async def load() -> bool:
            async with self._runtime.sessions() as session:
                return await client_is_active(session, client_id)

        return await self._cached("client", self._clients, client_id, load)

    async def tenant(self, id_or_slug: str) -> TenantState | None:
        async def load() -> TenantState | None:
            async with self._runtime.sessions() as session:
                tenant = await find_tenant(session, id_or_slug)
            return TenantState(tenant.id, tenant.is_active) if tenant else None

        return await self._cached("tenant", self._tenants, id_or_slug, load)

    def forget_client(self, client_id: str) -> None:
        self._generation += 1
        self._loading.pop(("client", client_id), None)
        self._clients.pop(client_id, None)

    def forget_tenant(self, tenant_id: str) -> None:
        self._generation += 1
        for loading in [key for key in self._loading if key[0] == "tenant"]:
            self._loading.pop(loading, None)
        for key, (_, state) in list(self._tenants.items()):
            if key == tenant_id or (state is not None and state.id == tenant_id):
                self._tenants.pop(key, None)

    def clear(self) -> None:
        self._generation += 1
        self._loading.clear()
        self._clients.clear()
        self._tenants.clear()

    async def _cached(
        self,
        kind: str,
        store: dict[str, tuple[float, T]],
        key: str,
        load: Callable[[], Awaitable[T]],
    ) -> T:
        now = time.monotonic()
        hit = store.get(key)
        if hit is not None and now - hit[0] < TTL:
            return hit[1]
        pending = self._loading.get((kind, key))
        if pending is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this request was cancelled
                return await self._cached(kind, store, key, load)  # the loading one was
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._loading[(kind, key)] = future
        generation = self._generation
        try:
            value = await load()
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        except BaseException:
            future.cancel()  # cancelled: a waiter loads for itself
            raise
        finally:
            if self._loading.get((kind, key)) is future:
                del self._loading[(kind, key)]
        future.set_result(value)
        if generation == self._generation:
            if len(store) >= MAX_ENTRIES:
                store.clear()  # crude bound; entries are cheap to reload
            store[key] = (now, value)
        return value
