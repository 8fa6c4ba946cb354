"""An Issuer wrapper that times every CA operation into the CA-call histogram.

Wrapped where the backends are registered (app/wiring.py), so no backend knows about metrics.
"""

from __future__ import annotations

import inspect
import time
from typing import Any

from app.issuers.base import Issuer, IssueRequest, StepResult
from app.metrics.registry import record_ca_call, timed_ca_call

UNTIMED = {"aclose"}


class ObservedIssuer:
    """Behaves as the wrapped issuer; `advance` outcomes are the step's (pending/issued/failed)."""

    def __init__(self, inner: Issuer) -> None:
        self.inner = inner
        self.name = inner.name

    async def advance(self, request: IssueRequest) -> StepResult:
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await self.inner.advance(request)
            outcome = result.outcome.value
            return result
        finally:
            record_ca_call(self.name, "advance", outcome, time.perf_counter() - started)

    async def cancel(self, request: IssueRequest) -> None:
        with timed_ca_call(self.name, "cancel"):
            await self.inner.cancel(request)

    async def revoke(
        self, backend_config: dict[str, Any], certificate_pem: str, backend_ref: str, reason: int
    ) -> None:
        with timed_ca_call(self.name, "revoke"):
            await self.inner.revoke(backend_config, certificate_pem, backend_ref, reason)

    def __getattr__(self, name: str) -> Any:
        # Backend-specific attributes stay reachable through the wrapper; their CA calls (e.g.
        # ACME renewal_info) are timed under their own name.
        value = getattr(self.inner, name)
        if name.startswith("_") or name in UNTIMED or not inspect.iscoroutinefunction(value):
            return value

        async def timed(*args: Any, **kwargs: Any) -> Any:
            with timed_ca_call(self.name, name):
                return await value(*args, **kwargs)

        return timed


def observed(issuer: Issuer) -> Issuer:
    return ObservedIssuer(issuer)  # type: ignore[return-value]
