"""Per-client request budget on the /v1 API: a fixed one-minute window counted in Redis.

A runaway script in one tenant must not starve everyone else. When Redis is unavailable the
limit is not enforced (fail open): the API stays usable, and readiness reports Redis as down.
"""

from __future__ import annotations

import logging
import time

from app.auth.dependencies import CurrentPrincipal
from app.deps import RuntimeDep
from app.errors import TooManyRequests

log = logging.getLogger("certbroker.ratelimit")


async def rate_limited(principal: CurrentPrincipal, runtime: RuntimeDep) -> None:
    limit = runtime.settings.rate_limit_per_minute
    if limit <= 0:
        return
    window = int(time.time() // 60)
    prefix = runtime.settings.jobs.queue_name
    key = f"{prefix}:ratelimit:{principal.issuer}:{principal.subject}:{window}"
    try:
        async with runtime.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 120)
            count, _ = await pipe.execute()
    except Exception as exc:
        log.warning("rate limit not enforced: %s", type(exc).__name__)
        return
    if count > limit:
        retry_after = 60 - int(time.time()) % 60
        raise TooManyRequests(
            f"more than {limit} requests this minute from client {principal.subject};"
            f" retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
