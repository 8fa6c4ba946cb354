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


def policy_check(policy: EgressPolicy, field: str = "dns") -> EgressCheck:
    def check(ip: str, port: int) -> None:
        try:
            policy.check_ip(ip, field=field)
        except AppError as exc:  # the policy's 422, which logged the refusal
            reason = getattr(exc, "reason", None) or exc.detail
            raise EgressRefused(f"{reason} (port {port})") from None

    return check


def dns_egress_check(runtime: Any) -> EgressCheck:
    """The deployment's policy (`CERTBROKER_EGRESS__*`)."""
    return policy_check(runtime.egress)


def loopback_check() -> EgressCheck:
    """For tools and tests outside the service: the default policy plus 127.0.0.1."""
    return policy_check(EgressPolicy(EgressSettings(allowed_networks=["127.0.0.1/32"])))  # type: ignore[list-item]
