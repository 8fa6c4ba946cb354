"""Per-client request budget on the /v1 API: a token bucket in Redis shared by every replica.

A runaway script in one tenant must not starve everyone else. The bucket holds a minute's
worth of requests (`rate_limit_per_minute`) and refills continuously, so the limit holds
across API processes and does not reset on the minute. When Redis is unavailable the limit is
not enforced (fail open): the API stays usable, and readiness reports Redis as down.
"""

from __future__ import annotations

import logging

from app.auth.dependencies import CurrentPrincipal
from app.deps import RuntimeDep
from app.errors import TooManyRequests
from app.http.buckets import TokenBuckets
from app.redis_lane import lane_for
from app.runtime import Runtime

log = logging.getLogger("certbroker.ratelimit")


def buckets(runtime: Runtime) -> TokenBuckets:
    """The process's bucket client (its script registered once)."""
    found = runtime.extras.get("token_buckets")
    if found is None:
        found = runtime.extras["token_buckets"] = TokenBuckets(
            runtime.redis, runtime.settings.jobs.queue_name, lane_for(runtime)
        )
    return found


async def rate_limited(principal: CurrentPrincipal, runtime: RuntimeDep) -> None:
    limit = runtime.settings.rate_limit_per_minute
    if limit <= 0:
        return
    key = f"ratelimit:{principal.issuer}:{principal.subject}"
    try:
        decision = await buckets(runtime).take(key, capacity=limit, period=60)
    except Exception as exc:
        log.warning("rate limit not enforced: %s", type(exc).__name__)
        return
    if not decision.allowed:
        raise TooManyRequests(
            f"more than {limit} requests a minute from client {principal.subject};"
            f" retry in {decision.retry_after} s",
            headers=decision.headers,
        )
