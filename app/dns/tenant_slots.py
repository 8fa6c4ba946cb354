"""At most N DNS checks per tenant at once, across every API process (a lease set in Redis).

A check talks to servers the tenant chose; one tenant starting many of them must not occupy
the API for everyone else. Each check holds a lease (a member of a sorted set scored by its
expiry), so a process that dies mid-check frees its slot when the lease runs out. When Redis
is unavailable the cap is not enforced (fail open, as the rate limit): checks still never
hold a database connection and are bounded in time.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from app.errors import TooManyRequests

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger("certbroker.dns")

_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
"""


class TenantSlots:
    def __init__(self, redis: Redis, prefix: str, limit: int, lease_seconds: float) -> None:
        self._redis = redis
        self._prefix = prefix
        self._limit = limit
        self._lease = lease_seconds
        self._script = redis.register_script(_ACQUIRE)

    def _key(self, tenant_id: str) -> str:
        return f"{self._prefix}:dns-checks:{tenant_id}"

    @asynccontextmanager
    async def slot(self, tenant_id: str) -> AsyncIterator[None]:
        """Hold one of the tenant's slots for the block; 429 when all are taken."""
        key, lease = self._key(tenant_id), uuid.uuid4().hex
        now = time.time()
        try:
            granted = await self._script(
                keys=[key],
                args=[now, now + self._lease, self._limit, lease, int(self._lease * 1000) + 1000],
            )
        except Exception as exc:
            log.warning("DNS check cap not enforced: %s", type(exc).__name__)
            granted, key = 1, ""
        if not granted:
            retry = max(1, math.ceil(self._lease / 4))
            raise TooManyRequests(
                f"{self._limit} DNS checks of this tenant are already running; retry shortly",
                headers={"Retry-After": str(retry)},
            )
        try:
            yield
        finally:
            if key:
                try:
                    await self._redis.zrem(key, lease)
                except Exception as exc:
                    log.warning("DNS check slot not released (expires): %s", type(exc).__name__)


def tenant_slots(runtime: Runtime) -> TenantSlots:
    """The process's slots, sized by CERTBROKER_DNS__* (one lease outlives a check's bound)."""
    found = runtime.extras.get("dns_check_slots")
    if found is None:
        settings = runtime.settings
        found = runtime.extras["dns_check_slots"] = TenantSlots(
            runtime.redis,
            settings.jobs.queue_name,
            settings.dns.checks_per_tenant,
            lease_seconds=settings.dns.check_timeout_seconds + 30,
        )
    return found
