"""Token buckets in Redis, shared by every API process: one Lua script per decision.

A bucket holds up to `capacity` tokens and refills `capacity` per `period` seconds, so a
client may burst to the capacity and then goes at the refill rate: a sliding limit, not a
window that resets on the minute. The script reads Redis's own clock, so replicas with
skewed clocks still agree.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from app.redis_lane import RedisLane

# KEYS[1]: the bucket. ARGV: capacity, refill per second, cost (0 only looks).
# Returns {allowed (1/0), seconds until `cost` tokens are there, as a string}.
_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local need = math.max(cost, 1)
if tokens < need then
  return {0, tostring((need - tokens) / rate)}
end
if cost > 0 then
  tokens = tokens - cost
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
  redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
end
return {1, '0'}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int  # whole seconds, at least 1 when refused

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


_SHA = hashlib.sha1(_SCRIPT.encode()).hexdigest()  # noqa: S324 (Redis names scripts so)


class TokenBuckets:
    def __init__(self, redis: Redis, prefix: str, lane: RedisLane | None = None) -> None:
        self.redis = redis
        self.prefix = prefix
        # Every request takes a token: through the process's lean lane (app/redis_lane.py).
        self.lane = lane or RedisLane("", redis)

    async def take(self, key: str, capacity: int, period: float, cost: int = 1) -> Decision:
        """Take `cost` tokens from the bucket `key` if it has them; cost 0 only asks whether
        it has one."""
        args = (1, f"{self.prefix}:bucket:{key}", capacity, capacity / period, cost)
        try:
            allowed, wait = await self.lane.execute("EVALSHA", _SHA, *args)
        except NoScriptError:  # a Redis that restarted or flushed its scripts
            allowed, wait = await self.lane.execute("EVAL", _SCRIPT, *args)
        seconds = float(wait.decode() if isinstance(wait, bytes) else wait)
        return Decision(bool(allowed), 0 if allowed else max(1, math.ceil(seconds)))
