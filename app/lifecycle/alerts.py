"""Alerts: renewal failure alerts, resolving them when a successor is issued, and the alerts
API's queries. The expiry thresholds' alerts are fired by app.lifecycle.expiry.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.certificates.models import Certificate
from app.errors import Conflict, NotFound
from app.http.cursors import decode_cursor, encode_cursor
from app.lifecycle.models import Alert, AlertKind, AlertSeverity, AlertStatus
from app.metrics.registry import record_alert


async def alert_renewal_failure(
    session: AsyncSession, cert: Certificate, message: str, *, final: bool, now: dt.datetime
) -> Alert:
    """One renewal-failure alert per certificate, counting repeats; reopened if it had been
    resolved. Warning while retries remain, critical once they are exhausted."""
    level = AlertSeverity.CRITICAL if final else AlertSeverity.WARNING
    alert = (
        await session.execute(
            select(Alert).where(
                Alert.certificate_id == cert.id, Alert.kind == AlertKind.RENEWAL_FAILED
            )
        )
    ).scalar_one_or_none()
    if alert is None:
        alert = Alert(
            tenant_id=cert.tenant_id,
            organization_id=cert.organization_id,
            certificate_id=cert.id,
            kind=AlertKind.RENEWAL_FAILED,
            severity=level,
            message=message[:2000],
            not_after=cert.not_after,
            occurrences=0,
            created_at=now,
        )
    alert.occurrences += 1
    record_alert(str(level))
    alert.severity, alert.message, alert.updated_at = level, message[:2000], now
    alert.detail = {"final": final}
    if alert.status == AlertStatus.RESOLVED:
        alert.status, alert.resolved_at = AlertStatus.OPEN, None
    session.add(alert)
    return alert


async def resolve_alerts(session: AsyncSession, certificate_id: str, now: dt.datetime) -> None:
    """Close every alert of a certificate (its successor was issued)."""
    await session.execute(
        update(Alert)
        .where(Alert.certificate_id == certificate_id, Alert.status != AlertStatus.RESOLVED)
        .values(status=AlertStatus.RESOLVED, resolved_at=now, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )


# The alerts API ----------------------------------------------------------------------------


async def get_alert(session: AsyncSession, alert_id: str, tenant_id: str) -> Alert:
    alert = await session.get(Alert, alert_id)
    if alert is None or alert.tenant_id != tenant_id:
        raise NotFound(f"alert {alert_id} not found")
    return alert


def acknowledge(alert: Alert, subject: str, now: dt.datetime) -> Alert:
    if alert.status == AlertStatus.RESOLVED:
        raise Conflict(f"alert {alert.id} is resolved already")
    if alert.status == AlertStatus.OPEN:
        alert.status = AlertStatus.ACKNOWLEDGED
        alert.acknowledged_at, alert.acknowledged_by, alert.updated_at = now, subject, now
    return alert


async def list_alerts(
    session: AsyncSession,
    tenant_id: str,
    *,
    severity: list[AlertSeverity] | None = None,
    status: list[AlertStatus] | None = None,
    kind: list[AlertKind] | None = None,
    organization_id: str | None = None,
    certificate_id: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Alert], str | None]:
    """Newest first."""
    query = select(Alert).where(Alert.tenant_id == tenant_id)
    if severity:
        query = query.where(Alert.severity.in_(severity))  # type: ignore[attr-defined]
    if status:
        query = query.where(Alert.status.in_(status))  # type: ignore[attr-defined]
    if kind:
        query = query.where(Alert.kind.in_(kind))  # type: ignore[attr-defined]
    if organization_id:
        query = query.where(Alert.organization_id == organization_id)
    if certificate_id:
        query = query.where(Alert.certificate_id == certificate_id)
    if cursor:
        created, last_id = decode_cursor(cursor)
        query = query.where(
            or_(
                Alert.created_at < created,  # type: ignore[operator]
                and_(Alert.created_at == created, Alert.id < last_id),  # type: ignore[operator]
            )
        )
    query = query.order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit + 1)  # type: ignore[attr-defined]
    rows = list((await session.execute(query)).scalars())
    last = rows[limit - 1] if len(rows) > limit else None
    next_cursor = encode_cursor(last.created_at, last.id) if last else None
    return rows[:limit], next_cursor
