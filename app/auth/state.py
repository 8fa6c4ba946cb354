"""The per-process authentication caches, kept on the runtime so tests and the app share them."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.auth.external import ExternalIdps
from app.auth.keyring import KeyRing
from app.auth.status_cache import StatusCache
from app.auth.verified import VerifiedTokens
from app.runtime import Runtime

_EXTRAS_KEY = "auth"


@dataclass
class AuthState:
    keyring: KeyRing
    idps: ExternalIdps
    status: StatusCache
    verified: VerifiedTokens = field(default_factory=VerifiedTokens)


def auth_state(runtime: Runtime) -> AuthState:
    state = runtime.extras.get(_EXTRAS_KEY)
    if state is None:
        state = AuthState(KeyRing(runtime), ExternalIdps(runtime), StatusCache(runtime))
        runtime.extras[_EXTRAS_KEY] = state
    return state
