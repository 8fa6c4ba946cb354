"""Broker tokens this process has verified, so a repeat skips the signature and claims checks."""

from __future__ import annotations

import time
from typing import Any

from app.auth.principal import Principal

# A broker token whose signature and claims verified is remembered (by its SHA-256) for at most
# this long and never past its `exp`, so a repeat skips the ES256 verification and the claims
# checks. Each repeat still asks the signing key ring (a key expired or gone refuses the token)
# and the client's and tenant's status cache, exactly as a first use does.
VERIFIED_TTL = 10.0
MAX_VERIFIED = 10_000
_clock = time.time  # wall clock, as `exp` is


class VerifiedTokens:
    """Per process: SHA-256 of a verified broker token → (kid, principal, good until)."""

    def __init__(self) -> None:
        self._entries: dict[bytes, tuple[str, Principal, float]] = {}

    def get(self, digest: bytes) -> tuple[str, Principal] | None:
        hit = self._entries.get(digest)
        if hit is None:
            return None
        if _clock() >= hit[2]:
            del self._entries[digest]
            return None
        return hit[0], hit[1]

    def put(self, digest: bytes, kid: str, principal: Principal, expires: Any) -> None:
        now = _clock()
        if not isinstance(expires, int | float) or expires <= now:
            return
        if len(self._entries) >= MAX_VERIFIED:
            self._entries.clear()  # crude bound, as the status cache: a miss only re-verifies
        self._entries[digest] = (kid, principal, min(expires, now + VERIFIED_TTL))

    def clear(self) -> None:
        self._entries.clear()
