"""Choosing, publishing and removing challenge responses (HTTP-01 and DNS-01)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from app.dns.base import DnsProvider
from app.dns.errors import DnsPropagationTimeout, DnsProviderError, DnsQueryFailed
from app.issuers.acme.errors import ChallengeSetupFailed, NoSupportedChallenge
from app.issuers.acme.http01 import Http01Responder
from app.issuers.acme.jws import AccountKey, b64url
from app.issuers.acme.models import Authorization, Challenge


@dataclass(frozen=True, slots=True)
class PresentedChallenge:
    """What was published for one authorization; persisted so a later step can clean up."""

    authz_url: str
    challenge_url: str
    type: str
    identifier: str
    token: str
    value: str  # the key authorization (http-01) or the TXT value (dns-01)

    @property
    def fqdn(self) -> str:
        return f"_acme-challenge.{self.identifier.rstrip('.')}."

    def to_state(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> PresentedChallenge:
        return cls(**data)


@contextmanager
def _dns_errors(about: str) -> Iterator[None]:
    """DNS provider errors, whose messages tell the user what to fix, as ACME issuer errors."""
    try:
        yield
    except DnsProviderError as exc:
        transient = isinstance(exc, DnsQueryFailed | DnsPropagationTimeout)
        raise ChallengeSetupFailed(f"DNS-01 for {about}: {exc}", transient) from exc


def dns01_txt_value(key_authorization: str) -> str:
    return b64url(hashlib.sha256(key_authorization.encode()).digest())


def choose_challenge(authz: Authorization, preferences: list[str]) -> Challenge:
    """The first preferred type the authorization offers; wildcards can only use dns-01."""
    allowed = ["dns-01"] if authz.wildcard else preferences
    offered = {c.type: c for c in authz.challenges}
    for kind in allowed:
        if kind in offered and kind in preferences:
            return offered[kind]
    name = f"*.{authz.identifier}" if authz.wildcard else authz.identifier
    raise NoSupportedChallenge(
        f"{name}: the CA offers {sorted(offered)}, the organization allows {preferences}"
        + (" (wildcards need dns-01)" if authz.wildcard else "")
    )


class ChallengeSolver:
    """Publishes responses through the HTTP-01 responders and the DNS provider it is given."""

    def __init__(
        self,
        http01: list[Http01Responder],
        dns: DnsProvider | None,
        preferences: list[str],
        propagation_timeout: float = 120.0,
    ) -> None:
        self.http01 = http01
        self.dns = dns
        self.preferences = [
            kind
            for kind in preferences
            if (kind == "http-01" and http01) or (kind == "dns-01" and dns is not None)
        ]
        self.propagation_timeout = propagation_timeout

    async def present(self, key: AccountKey, authz: Authorization) -> PresentedChallenge:
        challenge = choose_challenge(authz, self.preferences)
        assert challenge.token is not None
        key_authorization = key.key_authorization(challenge.token)
        value = (
            dns01_txt_value(key_authorization) if challenge.type == "dns-01" else key_authorization
        )
        presented = PresentedChallenge(
            authz.url, challenge.url, challenge.type, authz.identifier, challenge.token, value
        )
        if challenge.type == "dns-01":
            assert self.dns is not None
            with _dns_errors(presented.identifier):
                await self.dns.present_txt(presented.fqdn, value)
        else:
            await asyncio.gather(*(r.present(challenge.token, value) for r in self.http01))
        return presented

    async def wait_until_visible(self, presented: list[PresentedChallenge]) -> None:
        """DNS records must be served before the CA is told to look; HTTP is instant."""
        if self.dns is None:
            return
        dns = self.dns
        await asyncio.gather(
            *(
                dns.wait_for_txt(p.fqdn, p.value, self.propagation_timeout)
                for p in presented
                if p.type == "dns-01"
            )
        )

    async def cleanup(self, presented: PresentedChallenge) -> None:
        if presented.type == "dns-01":
            if self.dns is not None:
                await self.dns.cleanup_txt(presented.fqdn, presented.value)
        else:
            await asyncio.gather(*(r.cleanup(presented.token) for r in self.http01))
