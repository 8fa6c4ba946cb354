"""Replay nonces in Redis: issued by any API process, consumed once by any other."""

from __future__ import annotations

import secrets

from redis.asyncio import Redis

PREFIX = "certbroker:acme:nonce:"


async def issue(redis: Redis, ttl_seconds: int) -> str:
    nonce = secrets.token_urlsafe(24)
    await redis.set(PREFIX + nonce, b"1", ex=ttl_seconds)
    return nonce


async def consume(redis: Redis, nonce: str) -> bool:
    """True once for a nonce this service issued and nobody used yet."""
    if not nonce or len(nonce) > 128:
        return False
    return bool(await redis.delete(PREFIX + nonce))
