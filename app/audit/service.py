"""Recording audit events, in the caller's transaction so the record and the act commit together."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEvent
from app.auth.principal import Principal


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
