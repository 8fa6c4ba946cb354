"""Which API operations the audit log records, and which object each one acts on."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.routing import APIRoute

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class AuditTarget:
    object_type: str
    # The path parameter naming the object; for creations, the table whose new row it is.
    id_param: str | None = None
    created_table: str | None = None
    action: str | None = None  # default: the operation id


# Every mutating operation of the /v1 API, and the reads that hand out secrets.
# tests/audit/test_coverage.py fails when a mutating route is missing here.
TARGETS: dict[str, AuditTarget] = {
    "certificates_create": AuditTarget("certificate", created_table="certificate"),
    "certificates_update": AuditTarget("certificate", "certificate_id"),
    "certificates_revoke": AuditTarget("certificate", "certificate_id"),
    "certificates_renew": AuditTarget("certificate", "certificate_id"),
    "certificates_download_pkcs12": AuditTarget(
        "certificate", "certificate_id", action="certificate.pkcs12.export"
    ),
    "certificates_download_private_key": AuditTarget(
        "certificate", "certificate_id", action="certificate.private_key.export"
    ),
    "inventory_sync": AuditTarget("job", created_table="job"),
    "inventory_upload": AuditTarget("certificate", created_table="certificate"),
    "approvals_approve": AuditTarget("approval", "approval_id"),
    "approvals_reject": AuditTarget("approval", "approval_id"),
    "alerts_acknowledge": AuditTarget("alert", "alert_id"),
    "domains_create": AuditTarget("domain", created_table="domain"),
    "domains_validate": AuditTarget("domain", "domain_id"),
    "organizations_create": AuditTarget("organization", created_table="organization"),
    "organizations_update": AuditTarget("organization", "organization_id"),
    "organizations_delete": AuditTarget("organization", "organization_id"),
    "organizations_sync_domains": AuditTarget("organization", "organization_id"),
    "acme_credentials_create": AuditTarget("acme_credential", created_table="acme_credential"),
    "acme_credentials_revoke": AuditTarget("acme_credential", "credential_id"),
    "organizations_dns_check": AuditTarget("organization", "organization_id"),
    "tenants_create": AuditTarget("tenant", created_table="tenant"),
    "tenants_update": AuditTarget("tenant", "tenant_id"),
    "clients_create": AuditTarget("client", created_table="api_client"),
    "clients_rotate_secret": AuditTarget("client", "id"),
    "clients_revoke": AuditTarget("client", "id"),
    "webhooks_create": AuditTarget("webhook", created_table="webhook_subscription"),
    "webhooks_update": AuditTarget("webhook", "id"),
    "webhooks_delete": AuditTarget("webhook", "id"),
    "webhooks_test": AuditTarget("webhook", "id"),
    "webhooks_redeliver": AuditTarget("webhook_delivery", "delivery_id"),
}

# POSTs that change nothing.
NOT_MUTATIONS: dict[str, str] = {
    "certificates_preflight": "runs the ordering checks without ordering",
}


def operation_id(route: APIRoute) -> str:
    return route.operation_id or route.unique_id


def target_for(route: APIRoute, method: str) -> tuple[str, AuditTarget] | None:
    """The action and target of a call to `route`, or None when it is not audited. A mutating
    route missing from TARGETS is still recorded, with its tag as the object type and its last
    path parameter as the object."""
    op = operation_id(route)
    if op in TARGETS:
        target = TARGETS[op]
        return target.action or op, target
    if method not in MUTATING_METHODS or op in NOT_MUTATIONS:
        return None
    params = route.param_convertors
    fallback = AuditTarget(
        str(route.tags[0]) if route.tags else "unknown",
        id_param=list(params)[-1] if params else None,
    )
    return op, fallback
