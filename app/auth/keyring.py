"""In-memory cache of the broker's signing keys, so verifying a token needs no database read.

Public keys are cached by kid and reloaded wholesale every `jwks_cache_seconds`; a token naming
an unknown kid (a key another process just created) triggers a reload, at most once per
RELOAD_INTERVAL so garbage kids cannot turn every request into a query.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass

from joserfc.jwk import ECKey
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import SigningKey
from app.auth.signing_keys import ensure_signing_key, private_key, verification_keys
from app.db import utcnow
from app.runtime import Runtime

RELOAD_INTERVAL = 5.0


@dataclass(frozen=True, slots=True)
class VerifyingKey:
    key: ECKey
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class SignerKey:
    kid: str
    key: ECKey


class KeyRing:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._verifying: dict[str, VerifyingKey] = {}
        self._private: dict[str, ECKey] = {}
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    async def signer(self, session: AsyncSession) -> SignerKey:
        """The current signing key (rotating it when due), its private half decrypted once."""
        row = await ensure_signing_key(session, self._runtime)
        key = self._private.get(row.kid)
        if key is None:
            key = private_key(self._runtime, row)
            self._private = {row.kid: key}  # only the current one is worth keeping
        self.remember(row)
        return SignerKey(row.kid, key)

    def remember(self, row: SigningKey) -> None:
        self._verifying[row.kid] = VerifyingKey(ECKey.import_key(row.public_jwk), row.expires_at)

    async def verifying_key(self, kid: str) -> ECKey | None:
        ttl = self._runtime.settings.auth.jwks_cache_seconds
        age = time.monotonic() - self._loaded_at
        if age > ttl or (kid not in self._verifying and age > RELOAD_INTERVAL):
            await self._reload(self._loaded_at)
        entry = self._verifying.get(kid)
        if entry is None or entry.expires_at <= utcnow():
            return None
        return entry.key

    def invalidate(self) -> None:
        """Forget everything; the next verification reloads (used after out-of-band changes)."""
        self._verifying.clear()
        self._private.clear()
        self._loaded_at = float("-inf")

    async def _reload(self, seen_loaded_at: float) -> None:
        async with self._lock:
            if self._loaded_at != seen_loaded_at:
                return  # another request reloaded while this one waited
            async with self._runtime.sessions() as session:
                rows = await verification_keys(session)
            self._verifying = {
                row.kid: VerifyingKey(ECKey.import_key(row.public_jwk), row.expires_at)
                for row in rows
            }
            self._loaded_at = time.monotonic()
