"""Keys of trusted external IdPs: their JWKS fetched over HTTP, cached, refetched on a new kid."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey, import_key

from app.errors import ServiceUnavailable
from app.runtime import Runtime
from app.settings import ExternalIdp

log = logging.getLogger("certbroker.auth")

# A kid the cached JWKS lacks triggers a refetch, but no more often than this per IdP.
REFETCH_INTERVAL = 10.0
# The only algorithms an IdP may be configured with, and the key type each one needs.
KEY_TYPES = {"RS256": RSAKey, "ES256": ECKey}


class IdpKeys:
    """One IdP's signing keys by kid."""

    def __init__(self, idp: ExternalIdp, runtime: Runtime) -> None:
        self.idp = idp
        self._runtime = runtime
        self._keys: dict[str, RSAKey | ECKey] = {}
        self._fetched_at = float("-inf")
        self._attempted_at = float("-inf")
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> RSAKey | ECKey | None:
        now = time.monotonic()
        stale = now - self._fetched_at > self._runtime.settings.auth.jwks_cache_seconds
        unknown = kid not in self._keys and now - self._attempted_at > REFETCH_INTERVAL
        if stale or unknown:
            await self._refetch(self._attempted_at)
        return self._keys.get(kid)

    async def _refetch(self, seen_attempt: float) -> None:
        async with self._lock:
            if self._attempted_at != seen_attempt:
                return
            self._attempted_at = time.monotonic()
            try:
                response = await self._runtime.http.get(self.idp.jwks_url)
                response.raise_for_status()
                document = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("cannot fetch the JWKS of %s: %s", self.idp.issuer, exc)
                if not self._keys:
                    raise ServiceUnavailable("the token issuer's keys are unavailable") from None
                return  # keep verifying with the keys we have
            keys = _signing_keys(document)
            if not keys and self._keys:
                log.warning("the JWKS of %s has no usable keys; keeping the last", self.idp.issuer)
                return
            self._keys = keys
            self._fetched_at = time.monotonic()


def _signing_keys(document: Any) -> dict[str, RSAKey | ECKey]:
    keys: dict[str, RSAKey | ECKey] = {}
    entries = document.get("keys", []) if isinstance(document, dict) else []
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("kid") or entry.get("use", "sig") != "sig":
            continue
        try:
            key = import_key(entry)
        except (JoseError, ValueError, TypeError):
            continue  # one odd key must not hide the others
        if isinstance(key, RSAKey | ECKey) and not key.is_private:
            keys[entry["kid"]] = key
    return keys


class ExternalIdps:
    """The configured IdPs, found by exact issuer."""

    def __init__(self, runtime: Runtime) -> None:
        self._by_issuer = {
            idp.issuer: IdpKeys(idp, runtime) for idp in runtime.settings.auth.external_idps
        }

    def get(self, issuer: str) -> IdpKeys | None:
        return self._by_issuer.get(issuer)
