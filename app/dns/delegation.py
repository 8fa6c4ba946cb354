"""CNAME delegation: tenants point `_acme-challenge.<name>` into a validation zone the broker owns.

Tenants create one CNAME once and never hold DNS credentials; the broker writes the TXT records
in its own zone through an inner provider (usually "rfc2136").
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import dns.exception
import dns.name

from app.dns.base import DnsProvider, DnsProviderRegistry
from app.dns.errors import DelegationError, DnsConfigError
from app.dns.lexicon_http import EgressCheck
from app.dns.lookup import cname_target, resolve_server

CHALLENGE_LABEL = "_acme-challenge"


def _normalize(name: str) -> dns.name.Name:
    """Absolute, lower-case, wildcard stripped: `*.example.com` and `example.com` share a host."""
    try:
        parsed = dns.name.from_text(name.strip().lower())
    except dns.exception.DNSException as exc:
        raise DnsConfigError(f"not a valid DNS name: {name!r}: {exc}") from None
    if parsed.labels[:1] == (b"*",):
        parsed = parsed.parent()
    return parsed


def delegation_label(name: str) -> str:
    """The validation-zone label for `name`: 32 base32 characters of SHA-256 of the name.

    A hash rather than the name with dots replaced: it always fits the 63-octet label limit,
    cannot collide the way `a-b.c` and `a.b-c` would, and keeps tenant host names out of the
    broker's zone (transfers, logs). It is deterministic, so the expected CNAME can be shown
    to the tenant before anything is ordered.
    """
    digest = hashlib.sha256(_normalize(name).to_text(omit_final_dot=True).encode()).digest()
    return base64.b32encode(digest).decode().lower()[:32]


def expected_delegation(name: str, validation_zone: str) -> tuple[str, str]:
    """(CNAME owner, CNAME target) the tenant must create for `name`, both absolute."""
    zone = _normalize(validation_zone)
    host = dns.name.Name((CHALLENGE_LABEL.encode(), *_normalize(name).labels))
    target = dns.name.Name((delegation_label(name).encode(), *zone.labels))
    return host.to_text(), target.to_text()


class DelegationState(StrEnum):
    OK = "ok"
    MISSING = "missing"
    WRONG_TARGET = "wrong_target"


@dataclass(frozen=True)
class DelegationStatus:
    """The outcome of a delegation check; `message` is written for the tenant."""

    state: DelegationState
    host: str
    expected_target: str
    actual_target: str | None
    message: str

    @property
    def ok(self) -> bool:
        return self.state is DelegationState.OK


class CnameDelegationProvider:
    """Presents `_acme-challenge.<name>` TXT values at the name's CNAME target, via `inner`.

    The target must be exactly the expected one, not just any name in the validation zone:
    otherwise a tenant's CNAME could steer the broker into writing under another tenant's label.
    """

    name = "cname-delegation"

    def __init__(
        self,
        inner: DnsProvider,
        validation_zone: str,
        resolver: tuple[str, int],
        timeout: float = 5.0,
        check: EgressCheck | None = None,
    ) -> None:
        self._check = check
        self._inner = inner
        self._zone = _normalize(validation_zone).to_text()
        self._resolver = resolver
        self._timeout = timeout

    @classmethod
    def from_config(
        cls,
        config: dict[str, Any],
        registry: DnsProviderRegistry,
        check: EgressCheck | None = None,
    ) -> CnameDelegationProvider:
        """Keys: inner_provider, inner_config, validation_zone, resolver, resolver_port, timeout."""
        known = {"inner_provider", "inner_config", "validation_zone", "resolver"}
        known |= {"resolver_port", "timeout"}
        unknown = sorted(set(config) - known)
        if unknown:
            raise DnsConfigError(f"cname-delegation: unknown config keys {unknown}")
        for key in ("inner_provider", "validation_zone", "resolver"):
            if not config.get(key):
                raise DnsConfigError(f"cname-delegation: {key!r} is required")
        if config["inner_provider"] == cls.name:
            raise DnsConfigError(
                "cname-delegation: the inner provider cannot be another delegation"
            )
        try:
            inner = registry.create(config["inner_provider"], dict(config.get("inner_config", {})))
        except LookupError as exc:
            raise DnsConfigError(f"cname-delegation: {exc}") from None
        try:
            resolver = (str(config["resolver"]), int(config.get("resolver_port", 53)))
            timeout = float(config.get("timeout", 5.0))
        except (TypeError, ValueError) as exc:
            raise DnsConfigError(f"cname-delegation: invalid config: {exc}") from None
        return cls(inner, config["validation_zone"], resolver, timeout, check)

    @property
    def inner(self) -> DnsProvider:
        return self._inner

    @property
    def validation_zone(self) -> str:
        return self._zone

    def __repr__(self) -> str:
        return f"CnameDelegationProvider(zone={self._zone}, inner={self._inner!r})"

    def expected_delegation(self, name: str) -> tuple[str, str]:
        return expected_delegation(name, self._zone)

    async def check_delegation(self, name: str) -> DelegationStatus:
        """Read the tenant's CNAME through the resolver and say what, if anything, to fix."""
        host, expected = self.expected_delegation(name)
        resolver = await resolve_server(*self._resolver, self._check)
        actual = await cname_target(resolver, host, self._timeout)
        if actual is None:
            state = DelegationState.MISSING
            message = (
                f"create CNAME {host} → {expected} "
                f"(no CNAME at {host} yet; remove any TXT record there first)"
            )
        elif actual != expected:
            state = DelegationState.WRONG_TARGET
            message = f"{host} is a CNAME to {actual}; change it to CNAME {host} → {expected}"
        else:
            state = DelegationState.OK
            message = f"CNAME {host} → {expected} is in place"
        return DelegationStatus(state, host, expected, actual, message)

    async def present_txt(self, fqdn: str, value: str) -> None:
        status = await self.check_delegation(self._name_of(fqdn))
        if not status.ok:
            raise DelegationError(status)
        await self._inner.present_txt(status.expected_target, value)

    async def wait_for_txt(self, fqdn: str, value: str, timeout: float) -> None:  # noqa: ASYNC109
        # The tenant's CNAME is static; only the target in the broker's zone changes.
        _, target = self.expected_delegation(self._name_of(fqdn))
        await self._inner.wait_for_txt(target, value, timeout)

    async def cleanup_txt(self, fqdn: str, value: str) -> None:
        # No CNAME check: cleanup must work even if the tenant removed the CNAME meanwhile.
        _, target = self.expected_delegation(self._name_of(fqdn))
        await self._inner.cleanup_txt(target, value)

    @staticmethod
    def _name_of(fqdn: str) -> str:
        """`_acme-challenge.www.example.com.` -> `www.example.com.`"""
        parsed = _normalize(fqdn)
        if parsed.labels[:1] != (CHALLENGE_LABEL.encode(),):
            raise DnsConfigError(f"{fqdn} is not an {CHALLENGE_LABEL} name")
        return parsed.parent().to_text()
