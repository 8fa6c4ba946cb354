"""The lifecycle API: renew a certificate now, list and acknowledge alerts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from app.auth.dependencies import require_scopes
from app.auth.principal import Scope
from app.certificates.schemas import CertificatePublic
from app.db import utcnow
from app.deps import DbSession, RuntimeDep
from app.http.routing import GuardedRoute
from app.lifecycle import alerts, renewal
from app.lifecycle.models import AlertKind, AlertSeverity, AlertStatus
from app.lifecycle.schemas import AlertPage, AlertPublic, RenewRequest

renew_router = APIRouter(prefix="/v1/certificates", tags=["certificates"], route_class=GuardedRoute)
alerts_router = APIRouter(prefix="/v1/alerts", tags=["alerts"], route_class=GuardedRoute)

Reader = require_scopes(Scope.CERTIFICATES_READ)
Writer = require_scopes(Scope.CERTIFICATES_WRITE)


@renew_router.post(
    "/{certificate_id}/renew",
    operation_id="certificates_renew",
    status_code=202,
    response_model=CertificatePublic,
    responses={
        404: {"description": "No such certificate in your tenant"},
        409: {"description": "Not renewable: not issued or expired, imported, or renewing"},
        422: {"description": "The replacement cannot be ordered; `errors` says why"},
    },
)
async def renew_certificate(
    certificate_id: str,
    response: Response,
    session: DbSession,
    runtime: RuntimeDep,
    caller: Writer,
    body: Annotated[RenewRequest | None, Body()] = None,
) -> CertificatePublic:
    """Order the replacement now: same organization, product, names and settings, a new key
    unless `reuse_key` (CSR-ordered certificates reuse their CSR unless a new one is given).
    Answers 202 with the new certificate; the old one becomes `superseded` when it is issued."""
    body = body or RenewRequest()
    successor = await renewal.renew_now(
        session, runtime, caller, certificate_id, reuse_key=body.reuse_key, csr=body.csr
    )
    response.headers["Location"] = f"/v1/certificates/{successor.id}"
    return CertificatePublic.model_validate(successor)


@alerts_router.get("", operation_id="alerts_list", response_model=AlertPage)
async def list_alerts(
    session: DbSession,
    caller: Reader,
    severity: Annotated[list[AlertSeverity] | None, Query()] = None,
    status: Annotated[list[AlertStatus] | None, Query()] = None,
    kind: Annotated[list[AlertKind] | None, Query()] = None,
    organization_id: str | None = None,
    certificate_id: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AlertPage:
    """Expiry and renewal-failure alerts, newest first."""
    items, next_cursor = await alerts.list_alerts(
        session,
        caller.tenant_id,
        severity=severity,
        status=status,
        kind=kind,
        organization_id=organization_id,
        certificate_id=certificate_id,
        cursor=cursor,
        limit=limit,
    )
    return AlertPage(
        items=[AlertPublic.model_validate(a) for a in items], next_cursor=next_cursor, limit=limit
    )


@alerts_router.post(
    "/{alert_id}/acknowledge",
    operation_id="alerts_acknowledge",
    response_model=AlertPublic,
    responses={
        404: {"description": "No such alert in your tenant"},
        409: {"description": "Resolved already"},
    },
)
async def acknowledge_alert(alert_id: str, session: DbSession, caller: Writer) -> AlertPublic:
    """Mark an alert as seen. It stays listed until a renewal resolves it; acknowledging twice
    is harmless."""
    alert = await alerts.get_alert(session, alert_id, caller.tenant_id)
    alerts.acknowledge(alert, caller.subject, utcnow())
    session.add(alert)
    return AlertPublic.model_validate(alert)
