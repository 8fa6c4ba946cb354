"""GET /v1/audit: the tenant's audit log (tenant administrators). Nothing changes its rows."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from app.audit import service
from app.audit.schemas import AuditEventPublic, AuditPage
from app.auth.dependencies import TenantAdmin
from app.deps import DbSession
from app.http.routing import GuardedRoute

router = APIRouter(prefix="/v1/audit", tags=["audit"], route_class=GuardedRoute)


@router.get("", operation_id="audit_list", summary="Read the audit log", response_model=AuditPage)
async def list_audit_events(
    session: DbSession,
    caller: TenantAdmin,
    actor: Annotated[str | None, Query(description="client id or external subject")] = None,
    action: Annotated[str | None, Query(examples=["organizations_update"])] = None,
    object_type: Annotated[str | None, Query(examples=["certificate"])] = None,
    object_id: str | None = None,
    since: Annotated[dt.datetime | None, Query(description="at or after")] = None,
    until: Annotated[dt.datetime | None, Query(description="before")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AuditPage:
    """Every mutating call and every key export in your tenant, newest first: who (client or
    subject), what, when, on which object, the change (secrets redacted) and the outcome,
    including denied and failed attempts."""
    items, next_cursor = await service.list_events(
        session,
        caller.tenant_id,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
    )
    return AuditPage(
        items=[AuditEventPublic.of(e) for e in items], next_cursor=next_cursor, limit=limit
    )
