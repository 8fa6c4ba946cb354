"""The egress policy (`app.egress`) as DNS work sees it: one `check(ip, port)` callable.

Tenant settings name DNS servers, resolvers and provider API endpoints; every address the
broker would send to (after resolution) is first passed to `check`, which raises
`EgressRefused` (an OSError, so the HTTP stack under lexicon treats it as a failed connect).
"""

from __future__ import annotations

from typing import Any

from app.dns.lexicon_http import EgressCheck, EgressRefused
from app.egress.policy import EgressPolicy
from app.errors import AppError
from app.settings import EgressSettings


class PolicyCheck:
    """`check(ip, port)` for the DnsProvider code, and `resolve(host)` through the policy's
    resolver (every address checked), so a name is judged where it is used."""

    def __init__(self, policy: EgressPolicy, field: str = "dns") -> None:
        self.policy = policy
        self.field = field

    def __call__(self, ip: str, port: int) -> None:
        try:
            self.policy.check_ip(ip, field=self.field)
        except AppError as exc:  # the policy's 422, which logged the refusal
            raise EgressRefused(f"{_reason(exc)} (port {port})") from None

    async def resolve(self, host: str) -> list[str]:
        try:
            return [str(a) for a in await self.policy.resolve(host, field=self.field)]
        except AppError as exc:
            raise EgressRefused(_reason(exc)) from None


def _reason(exc: AppError) -> str:
    return str(getattr(exc, "reason", None) or exc.detail)


def policy_check(policy: EgressPolicy, field: str = "dns") -> EgressCheck:
    return PolicyCheck(policy, field)


def dns_egress_check(runtime: Any) -> EgressCheck:
    """The deployment's policy (`CERTBROKER_EGRESS__*`)."""
    return policy_check(runtime.egress)


def loopback_check() -> EgressCheck:
    """For tools and tests outside the service: the default policy plus 127.0.0.1."""
    return policy_check(EgressPolicy(EgressSettings(allowed_networks=["127.0.0.1/32"])))  # type: ignore[list-item]
