"""Who is calling: the authenticated principal and the scopes the API knows."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    CERTIFICATES_READ = "certificates:read"
    CERTIFICATES_WRITE = "certificates:write"
    KEYS_EXPORT = "keys:export"
    DOMAINS_WRITE = "domains:write"
    APPROVALS_WRITE = "approvals:write"
    TENANT_ADMIN = "tenant:admin"
    PLATFORM_ADMIN = "platform:admin"


SCOPE_DESCRIPTIONS: dict[str, str] = {
    Scope.CERTIFICATES_READ: "Read certificates, jobs, products and events",
    Scope.CERTIFICATES_WRITE: "Order, renew and revoke certificates",
    Scope.KEYS_EXPORT: "Export private keys the broker generated (audited)",
    Scope.DOMAINS_WRITE: "Register domains and start domain validation",
    Scope.APPROVALS_WRITE: "Approve or reject pending certificate requests",
    Scope.TENANT_ADMIN: "Manage the tenant's organizations, API clients and webhooks",
    Scope.PLATFORM_ADMIN: "Manage tenants (platform operators only)",
}


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request, from a broker-issued or an external IdP's access token."""

    tenant_id: str
    subject: str  # the API client id, or the external IdP's `sub`
    scopes: frozenset[str]
    client_id: str | None = None  # set for the broker's own API clients
    issuer: str = "certbroker"
    token_id: str | None = None

    def has(self, scope: str) -> bool:
        return scope in self.scopes
