"""Failed client authentications at /oauth/token, limited per client id and per address.

Each failure takes a token from two buckets (app/http/buckets.py): one for the client id
tried, so nobody guesses one client's secret from many addresses, and one for the source
address, so nobody sprays guesses over many client ids. An empty bucket answers 429 with
Retry-After to every attempt on it, right or wrong, until it refills; otherwise a correct
guess would stand out from the refusals. Redis down: not enforced (fail open), logged.
"""

from __future__ import annotations

import hashlib
import logging

from app.errors import TooManyRequests
from app.http.rate_limit import buckets
from app.runtime import Runtime

log = logging.getLogger("certbroker.auth")


def _keys(client_id: str | None, address: str | None) -> list[tuple[str, str]]:
    keys = []
    if client_id:
        # Hashed: a client id is whatever the caller typed, of any length.
        digest = hashlib.sha256(client_id.encode()).hexdigest()[:32]
        keys.append(("client", f"authfail:client:{digest}"))
    if address:
        keys.append(("address", f"authfail:address:{address}"))
    return keys


def _capacity(runtime: Runtime, kind: str) -> int:
    limits = runtime.settings.limits
    return (
        limits.token_failures_per_client if kind == "client" else limits.token_failures_per_address
    )


async def refuse_if_locked(runtime: Runtime, client_id: str | None, address: str | None) -> None:
    """A 429 while either bucket is empty."""
    for kind, key in _keys(client_id, address):
        try:
            decision = await buckets(runtime).take(key, _capacity(runtime, kind), 60, cost=0)
        except Exception as exc:
            log.warning("token failure limit not enforced: %s", type(exc).__name__)
            return
        if not decision.allowed:
            log.warning("token requests refused after failures", extra={"limited_by": kind})
            raise TooManyRequests(
                f"too many failed client authentications from this {kind}; retry in "
                f"{decision.retry_after} s",
                headers=decision.headers,
            )


async def count_failure(runtime: Runtime, client_id: str | None, address: str | None) -> None:
    for kind, key in _keys(client_id, address):
        try:
            await buckets(runtime).take(key, _capacity(runtime, kind), 60)
        except Exception as exc:
            log.warning("token failure not counted: %s", type(exc).__name__)
            return
