"""The seam between the broker and a certificate authority: one Issuer protocol, many backends.

An issuance is driven step by step. The job loads the request's persisted backend `state`,
calls `Issuer.advance` once, stores the returned state in the same transaction as the request's
new status, commits, and calls again (now, or after `retry_after`). Each `advance` makes at most
one side-effecting call to the CA, and the state it returns says what was done, so a crash
between two steps resumes where the last commit left off and never orders twice.

A job may instead hand a `checkpoint` with the request: a backend that supports it awaits it
with the complete state wherever the state must be durable before the next CA call, and carries
on in the same `advance` (no re-reading of what the last step already knew). If the checkpoint
raises, so does `advance`. Backends without such points ignore it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

# Persists the complete state of an order; awaited before the next CA call that depends on it.
Checkpoint = Callable[["IssueRequest", dict[str, Any]], Awaitable[None]]


class StepOutcome(StrEnum):
    PENDING = "pending"  # call advance again (after retry_after when set)
    ISSUED = "issued"  # certificate is in the result
    FAILED = "failed"  # terminal; reason says why in words a user can act on


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    leaf_pem: str
    chain_pems: list[str]  # ordered leaf-issuer first, up to (not always including) the root
    serial_hex: str  # lowercase hex, no colons
    not_before: dt.datetime
    not_after: dt.datetime
    backend_ref: str  # the CA's id for the certificate (SCM sslId, ACME certificate URL)


@dataclass(slots=True)
class IssueRequest:
    """Everything a backend needs for one certificate order. Plain data (and the job's
    checkpoint), no ORM objects."""

    request_id: str  # the broker's unique id; backends use it as an idempotency marker at the CA
    csr_pem: str
    common_name: str
    sans: list[str]  # all DNS names, common name included
    product: str  # the broker's product code, e.g. "positivessl", "instantssl", "ev-ssl"
    term_days: int
    backend_config: dict[str, Any]  # the organization's settings for this backend
    comments: str | None = None
    requester_email: str | None = None
    state: dict[str, Any] = field(default_factory=dict)  # what earlier steps persisted
    checkpoint: Checkpoint | None = None  # see the module docstring


@dataclass(slots=True)
class StepResult:
    outcome: StepOutcome
    state: dict[str, Any]  # the complete new state to persist (not a delta)
    retry_after: float | None = None  # seconds before the next advance, when PENDING
    certificate: IssuedCertificate | None = None
    reason: str | None = None  # human-readable, for FAILED and for the request's event log
    detail: dict[str, Any] = field(default_factory=dict)  # e.g. DCV instructions for the user


@runtime_checkable
class Issuer(Protocol):
    """One CA backend. Implementations are built once and shared (they hold httpx clients)."""

    name: str

    async def advance(self, request: IssueRequest) -> StepResult:
        """Perform the next step of the order described by `request.state`."""
        ...

    async def cancel(self, request: IssueRequest) -> None:
        """Abandon an unfinished order at the CA where the CA supports it (best effort)."""
        ...

    async def revoke(
        self, backend_config: dict[str, Any], certificate_pem: str, backend_ref: str, reason: int
    ) -> None:
        """Revoke an issued certificate. `reason` is an RFC 5280 CRLReason code."""
        ...


class IssuerRegistry:
    """Issuers by name ("scm", "acme"); filled at start-up, looked up by the jobs."""

    def __init__(self) -> None:
        self._issuers: dict[str, Issuer] = {}

    def register(self, issuer: Issuer) -> None:
        self._issuers[issuer.name] = issuer

    def get(self, name: str) -> Issuer:
        try:
            return self._issuers[name]
        except KeyError:
            raise LookupError(f"no issuer registered under {name!r}") from None

    def names(self) -> list[str]:
        return sorted(self._issuers)
