"""Every router of the API, in the order they appear in the documentation."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from app.acme_server.credentials_router import router as acme_credentials_router
from app.acme_server.router import router as acme_server_router
from app.acme_state.router import router as acme_challenge_router
from app.approvals.router import router as approvals_router
from app.audit.capture import audit_request
from app.audit.router import router as audit_router
from app.auth.router import router as oauth_router
from app.catalog.router import router as products_router
from app.certificates.downloads import router as downloads_router
from app.certificates.router import router as certificates_router
from app.clients.router import router as clients_router
from app.dns.router import router as dns_router
from app.domains.router import router as domains_router
from app.http.health import router as health_router
from app.http.rate_limit import rate_limited
from app.inventory.router import router as inventory_router
from app.jobs.router import router as jobs_router
from app.lifecycle.router import alerts_router, renew_router
from app.metrics.router import router as metrics_router
from app.organizations.router import router as organizations_router
from app.tenants.router import router as tenants_router
from app.webhooks.router import router as webhooks_router

# The /v1 API, each router under the per-client request budget, every mutating call audited
# (a call the rate limit refuses never reaches the audit).
API_ROUTERS = (
    certificates_router,
    products_router,
    renew_router,
    downloads_router,
    approvals_router,
    alerts_router,
    domains_router,
    inventory_router,
    organizations_router,
    acme_credentials_router,
    dns_router,
    jobs_router,
    tenants_router,
    clients_router,
    webhooks_router,
    audit_router,
)


def include_routers(app: FastAPI) -> None:
    app.include_router(oauth_router)
    for router in API_ROUTERS:
        app.include_router(
            router,
            dependencies=[Depends(rate_limited), Depends(audit_request, scope="function")],
        )
    app.include_router(acme_challenge_router)
    app.include_router(acme_server_router)
    app.include_router(health_router)
    app.include_router(metrics_router)
