"""Expiry alerts: when the next threshold is due, firing each crossed threshold once, renewal
failure alerts, resolving them when a successor is issued, and the alerts API's queries.

The check is a range scan on `certificate.next_alert_at <= now`, never an inventory scan. A
certificate's crossing is claimed with a conditional update of that column, and the alert table's
unique (certificate_id, kind, threshold) makes a second alert for one crossing impossible even
when two checks race.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.certificates.models import Certificate, CertificateStatus
from app.certificates.service import transition
from app.errors import Conflict, NotFound
from app.http.cursors import decode_cursor, encode_cursor
from app.lifecycle import windows
from app.lifecycle.models import Alert, AlertKind, AlertSeverity, AlertStatus
from app.metrics.registry import record_alert
from app.organizations.models import Organization
from app.webhooks.events import emit
from app.webhooks.lifecycle import certificate_data
from app.webhooks.models import EventType

log = logging.getLogger("certbroker.lifecycle")

CHECKED_STATUSES = (CertificateStatus.ISSUED,)


def schedule_expiry(cert: Certificate, org: Organization) -> None:
    """Set when `cert`'s next expiry threshold is crossed: at issuance, and by whatever imports
    or uploads a certificate once it knows `not_after`. No I/O; the caller's session saves it.
    A certificate without `not_after` is not checked."""
    if cert.not_after is None:
        cert.next_alert_at = None
        return
    cert.next_alert_at = windows.next_alert_at(
        cert.not_after, org.alert_thresholds, cert.alerted_threshold
    )


async def check_expiry(
    session: AsyncSession, now: dt.datetime, limit: int = 200, tenant_id: str | None = None
) -> int:
    """One batch of due certificates (of one tenant, or all): fire what they crossed, move each
    to its next threshold. Returns how many certificates were due (fewer than `limit`: nothing
    is left before `now`). The caller commits."""
    query = (
        select(Certificate)
        .where(Certificate.next_alert_at <= now)  # type: ignore[operator]
        .order_by(Certificate.next_alert_at)
        .limit(limit)
    )
    if tenant_id is not None:
        query = query.where(Certificate.tenant_id == tenant_id)
    if session.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
        query = query.with_for_update(skip_locked=True)
    due = list((await session.execute(query)).scalars())
    orgs: dict[str, Organization] = {}
    for cert in due:
        org = orgs.get(cert.organization_id) or await session.get(
            Organization, cert.organization_id
        )
        assert org is not None
        orgs[org.id] = org
        await _check_one(session, cert, org, now)
    return len(due)


async def _check_one(
    session: AsyncSession, cert: Certificate, org: Organization, now: dt.datetime
) -> None:
    seen = cert.next_alert_at
    threshold: int | None = None
    if cert.status in CHECKED_STATUSES and cert.not_after is not None:
        threshold = windows.crossed_threshold(
            cert.not_after, org.alert_thresholds, cert.alerted_threshold, now
        )
    alerted = cert.alerted_threshold if threshold is None else threshold
    following = None
    if cert.status in CHECKED_STATUSES and cert.not_after is not None:
        following = windows.next_alert_at(cert.not_after, org.alert_thresholds, alerted)
    # Claim this crossing: a racing check that already moved the certificate on gets 0 rows.
    claimed = await session.execute(
        update(Certificate)
        .where(Certificate.id == cert.id, Certificate.next_alert_at == seen)
        .values(next_alert_at=following, alerted_threshold=alerted)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return
    cert.next_alert_at, cert.alerted_threshold = following, alerted
    if threshold is None:
        return  # no longer watched (revoked, superseded), or the thresholds changed
    assert cert.not_after is not None
    if threshold == windows.EXPIRED:
        await _fire(session, cert, AlertKind.EXPIRED, 0, AlertSeverity.CRITICAL, now)
        transition(
            session,
            cert,
            CertificateStatus.EXPIRED,
            "certbroker",
            f"expired at {cert.not_after:%Y-%m-%d %H:%M:%S} UTC",
        )
        return
    level = AlertSeverity(windows.severity(threshold, org.alert_thresholds))
    await _fire(session, cert, AlertKind.EXPIRING, threshold, level, now)


async def _fire(
    session: AsyncSession,
    cert: Certificate,
    kind: AlertKind,
    threshold: int,
    level: AlertSeverity,
    now: dt.datetime,
) -> Alert | None:
    assert cert.not_after is not None
    left = cert.not_after - now
    if kind is AlertKind.EXPIRED:
        message = f"{cert.common_name} expired at {cert.not_after:%Y-%m-%d %H:%M} UTC"
    else:
        message = (
            f"{cert.common_name} expires in {max(left.days, 0)} days"
            f" ({cert.not_after:%Y-%m-%d %H:%M} UTC), past the {threshold}-day threshold"
        )
    alert = Alert(
        tenant_id=cert.tenant_id,
        organization_id=cert.organization_id,
        certificate_id=cert.id,
        kind=kind,
        threshold=threshold,
        severity=level,
        message=message,
        not_after=cert.not_after,
        created_at=now,
        updated_at=now,
        detail={"days_left": round(left.total_seconds() / 86400, 2)},
    )
    try:
        async with session.begin_nested():
            session.add(alert)
    except IntegrityError:
        log.info("alert %s/%s for %s exists already", kind, threshold, cert.id)
        return None
    record_alert(str(level))
    data: dict[str, Any] = {
        "certificate": certificate_data(cert),
        "alert_id": alert.id,
        "severity": str(level),
    }
    if kind is AlertKind.EXPIRED:
        emit(session, cert.tenant_id, EventType.CERTIFICATE_EXPIRED, data)
    else:
        data |= {"threshold_days": threshold, "days_left": alert.detail["days_left"]}
        emit(session, cert.tenant_id, EventType.CERTIFICATE_EXPIRING, data)
    return alert


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
