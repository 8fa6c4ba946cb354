"""Recording audit events, in the caller's transaction so the record and the act commit
together, and reading them back a page at a time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEvent
from app.auth.principal import Principal
from app.http.cursors import decode_cursor, encode_cursor


def record(
    session: AsyncSession,
    principal: Principal,
    action: str,
    object_type: str,
    object_id: str | None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        tenant_id=principal.tenant_id,
        actor=principal.subject,
        actor_issuer=principal.issuer,
        action=action,
        object_type=object_type,
        object_id=object_id,
        detail=detail or {},
    )
    session.add(event)
    return event


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


async def list_events(
    session: AsyncSession,
    tenant_id: str,
    *,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[AuditEvent], str | None]:
    """One tenant's events, newest first, and the cursor of the next page (None at the end)."""
    query = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
    for column, value in (
        (AuditEvent.actor, actor),
        (AuditEvent.action, action),
        (AuditEvent.object_type, object_type),
        (AuditEvent.object_id, object_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(AuditEvent.at >= _utc(since))  # type: ignore[operator]
    if until is not None:
        query = query.where(AuditEvent.at < _utc(until))  # type: ignore[operator]
    if cursor:
        at, last_id = decode_cursor(cursor)
        query = query.where(
            or_(AuditEvent.at < at, and_(AuditEvent.at == at, AuditEvent.id < last_id))  # type: ignore[arg-type,operator]
        )
    query = query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit + 1)  # type: ignore[attr-defined,union-attr]
    rows = list((await session.execute(query)).scalars())
    last = rows[limit - 1] if len(rows) > limit else None
    next_cursor = encode_cursor(last.at, last.id) if last else None  # type: ignore[arg-type]
    return rows[:limit], next_cursor
