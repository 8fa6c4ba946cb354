"""Before an ACME order that validates over delegated DNS, check each tenant CNAME is in place.

With CNAME delegation the tenant never holds DNS credentials: `_acme-challenge.<name>` must
point into the broker's validation zone. A missing or wrong CNAME would only surface minutes
later as a failed challenge, so the order is refused at once with the record to create.
"""

from __future__ import annotations

from typing import Any

from app.catalog.names import is_wildcard
from app.catalog.policy import FieldProblem
from app.crypto.secretbox import SecretBox
from app.dns.base import DnsProviderRegistry
from app.dns.delegation import CnameDelegationProvider
from app.dns.errors import DnsProviderError
from app.organizations.models import Organization
from app.organizations.service import dns_config

DELEGATION = CnameDelegationProvider.name


def names_using_dns01(org: Organization, names: list[str]) -> list[str]:
    preferred = (org.acme or {}).get("challenge_types") or ["http-01", "dns-01"]
    if preferred[0] == "dns-01" or "http-01" not in preferred:
        return list(names)
    return [name for name in names if is_wildcard(name)]


def dns01_problems(org: Organization, names: list[str]) -> list[FieldProblem]:
    """Wildcards can only be validated over DNS-01: the organization must allow and equip it."""
    wildcards = [name for name in names if is_wildcard(name)]
    if not wildcards:
        return []
    allowed = (org.acme or {}).get("challenge_types") or ["http-01", "dns-01"]
    where = "body.common_name" if is_wildcard(names[0]) else "body.sans"
    if "dns-01" not in allowed:
        return [
            FieldProblem(
                where,
                f"{wildcards[0]} needs dns-01, which organization {org.name!r} does not allow"
                f" (challenge_types: {', '.join(allowed)})",
                "challenge",
            )
        ]
    if not org.dns_provider:
        return [
            FieldProblem(
                where,
                f"{wildcards[0]} needs dns-01, and organization {org.name!r} has no DNS provider",
                "challenge",
            )
        ]
    return []


def needs_delegation_check(org: Organization, names: list[str]) -> bool:
    return (
        not dns01_problems(org, names)
        and org.dns_provider == DELEGATION
        and bool(names_using_dns01(org, names))
    )


def delegation_config(org: Organization, box: SecretBox) -> dict[str, Any]:
    """Read (and decrypted) while the session is still open; the check itself needs none."""
    return dns_config(org, box)


async def delegation_problems(
    org: Organization, names: list[str], registry: DnsProviderRegistry, config: dict[str, Any]
) -> list[FieldProblem]:
    problems = dns01_problems(org, names)
    if problems or org.dns_provider != DELEGATION:
        return problems
    checked = names_using_dns01(org, names)
    if not checked:
        return []
    try:
        provider = registry.create(DELEGATION, config)
    except (LookupError, DnsProviderError) as exc:
        return [FieldProblem("body.organization_id", f"DNS settings are unusable: {exc}", "dns")]
    assert isinstance(provider, CnameDelegationProvider)
    problems = []
    for name in dict.fromkeys(n[2:] if is_wildcard(n) else n for n in checked):
        where = "body.common_name" if names and names[0] in (name, f"*.{name}") else "body.sans"
        try:
            status = await provider.check_delegation(name)
        except DnsProviderError as exc:
            problems.append(
                FieldProblem(where, f"could not check the CNAME for {name}: {exc}", "dns")
            )
            continue
        if not status.ok:
            problems.append(FieldProblem(where, status.message, "delegation_missing"))
    return problems
