"""The inventory API: SCM sync, certificate upload, and the summary."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from app.auth.dependencies import TenantAdmin, require_scopes
from app.auth.principal import Scope
from app.certificates.schemas import CertificatePublic
from app.deps import DbSession
from app.http.pages import DEFAULT_LIMIT, MAX_LIMIT
from app.http.routing import GuardedRoute
from app.inventory.jobs import request_sync
from app.inventory.schemas import (
    CertificateUpload,
    ExpiryTimeline,
    InventorySummary,
    SyncRequest,
    SyncStatePage,
    SyncStatePublic,
)
from app.inventory.summary import inventory_summary
from app.inventory.sync import sync_states
from app.inventory.timeline import expiry_timeline
from app.inventory.upload import upload_certificate
from app.jobs.schemas import JobPublic

router = APIRouter(prefix="/v1/inventory", tags=["inventory"], route_class=GuardedRoute)

Reader = require_scopes(Scope.CERTIFICATES_READ)
Writer = require_scopes(Scope.CERTIFICATES_WRITE)


@router.post(
    "/sync",
    operation_id="inventory_sync",
    status_code=202,
    response_model=JobPublic,
    responses={
        404: {"description": "No such organization in your tenant"},
        422: {"description": "The organization (or every one) has no SCM settings"},
    },
)
async def sync(
    session: DbSession,
    caller: TenantAdmin,
    response: Response,
    body: Annotated[SyncRequest | None, Body()] = None,
) -> JobPublic:
    """Import every certificate of the SCM accounts of your organizations, including those
    ordered outside the broker (`source=scm_import`). Incremental and idempotent: a re-run only
    looks at what is new or was not final. Answers 202 with the job; a sync already queued or
    running is returned instead of a second one."""
    job = await request_sync(session, caller.tenant_id, body.organization_id if body else None)
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return JobPublic.model_validate(job)


@router.get("/sync", operation_id="inventory_sync_state", response_model=SyncStatePage)
async def sync_state(
    session: DbSession,
    caller: Reader,
    organization_id: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> SyncStatePage:
    """Per organization: when the SCM sync last ran, what it saw and imported, and which orders
    it will look at again."""
    states, next_cursor = await sync_states(
        session, caller.tenant_id, organization_id=organization_id, cursor=cursor, limit=limit
    )
    return SyncStatePage(
        items=[SyncStatePublic.model_validate(state) for state in states],
        next_cursor=next_cursor,
        limit=limit,
    )


@router.post(
    "/certificates",
    operation_id="inventory_upload",
    status_code=201,
    response_model=CertificatePublic,
    responses={
        404: {"description": "No such organization in your tenant"},
        409: {"description": "The certificate is already in the inventory"},
        422: {"description": "The PEM is not a usable certificate; `errors` says why"},
    },
)
async def upload(
    body: CertificateUpload, session: DbSession, caller: Writer, response: Response
) -> CertificatePublic:
    """Add any CA's certificate (leaf first, optionally followed by its chain) to the inventory
    for monitoring: `source=upload`, `backend=external`, status `issued` or `expired` by its
    dates, and expiry alerts like any other certificate."""
    cert = await upload_certificate(session, caller, body)
    response.headers["Location"] = f"/v1/certificates/{cert.id}"
    return CertificatePublic.model_validate(cert)


@router.get("/summary", operation_id="inventory_summary", response_model=InventorySummary)
async def summary(
    session: DbSession,
    caller: Reader,
    organization_id: Annotated[str | None, Query(description="only this organization")] = None,
) -> InventorySummary:
    """Counts of your tenant's certificates by status, product, backend, issuer, source and
    time to expiry (expired, under 7, 14, 30 or 90 days, later)."""
    return await inventory_summary(session, caller.tenant_id, organization_id)


@router.get(
    "/expiry-timeline",
    operation_id="inventory_expiry_timeline",
    response_model=ExpiryTimeline,
    responses={404: {"description": "No such organization in your tenant"}},
)
async def timeline(
    session: DbSession,
    caller: Reader,
    organization_id: Annotated[str | None, Query(description="only this organization")] = None,
    weeks: Annotated[int, Query(ge=1, le=52, description="how many weeks ahead")] = 13,
) -> ExpiryTimeline:
    """Issued certificates expiring in each of the next `weeks` weeks (a quarter by default),
    each week marked with the alert band it starts in (under 7, 14 or 30 days left), plus
    those already expired and those expiring later. Counted in the database."""
    return await expiry_timeline(session, caller.tenant_id, organization_id, weeks)
