"""The expiry check: when a certificate's next threshold is due, and firing each crossed
threshold once (an alert, a certificate event, a webhook), expiring what passed its end.

The check is a range scan on `certificate.next_alert_at <= now`, never an inventory scan. A
certificate's crossing is claimed with a conditional update of that column, and the alert table's
unique (certificate_id, kind, threshold) makes a second alert for one crossing impossible even
when two checks race.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import Counter
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.certificates.models import Certificate, CertificateEvent, CertificateStatus
from app.db import new_id
from app.db_rows import bind_converter, insert_batch
from app.lifecycle import windows
from app.lifecycle.models import Alert, AlertKind, AlertSeverity, AlertStatus
from app.metrics.registry import record_alert
from app.organizations.models import Organization
from app.webhooks.events import emit
from app.webhooks.lifecycle import certificate_data
from app.webhooks.models import EventType, WebhookSubscription

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
    is left before `now`). The caller commits.

    Set-based, a fixed handful of statements per batch whatever its size: the range scan (rows
    locked on PostgreSQL, `SKIP LOCKED` so racing checks split the work), the organizations'
    thresholds, one conditional UPDATE that claims every crossing at once (only rows whose
    `next_alert_at` is still the one read come back), one INSERT of the alerts (`ON CONFLICT DO
    NOTHING`: an alert that exists already is not fired twice), and for expired certificates
    one status UPDATE and one INSERT of their events. Webhook events go through `emit` for the
    alerts actually inserted, and only when one of the tenant's subscriptions wants them."""
    query = (
        select(*_DUE_COLUMNS)
        .where(Certificate.next_alert_at <= now)  # type: ignore[operator]
        .order_by(Certificate.next_alert_at)
        .limit(limit)
    )
    if tenant_id is not None:
        query = query.where(Certificate.tenant_id == tenant_id)
    postgres = session.bind.dialect.name == "postgresql"  # type: ignore[union-attr]
    if postgres:
        query = query.with_for_update(skip_locked=True)
    due = (await session.execute(query)).all()
    if not due:
        return 0
    thresholds: dict[str, list[int]] = {
        org_id: windows.positive_thresholds(org_thresholds)
        for org_id, org_thresholds in (
            await session.execute(
                select(Organization.id, Organization.alert_thresholds).where(
                    Organization.id.in_({c.organization_id for c in due})  # type: ignore[attr-defined]
                )
            )
        ).all()
    }
    plans: dict[str, tuple[Any, int | None]] = {}  # id -> (row, threshold crossed)
    claims: list[tuple[str, dt.datetime, dt.datetime | None, int | None, bool]] = []
    for cert in due:
        org_thresholds = thresholds[cert.organization_id]
        watched = cert.status in CHECKED_STATUSES and cert.not_after is not None
        threshold = (
            windows.crossed_threshold(cert.not_after, org_thresholds, cert.alerted_threshold, now)
            if watched
            else None
        )
        alerted = cert.alerted_threshold if threshold is None else threshold
        following = (
            windows.next_alert_at(cert.not_after, org_thresholds, alerted) if watched else None
        )
        expire = threshold == windows.EXPIRED
        claims.append((cert.id, cert.next_alert_at, following, alerted, expire))
        plans[cert.id] = (cert, threshold)
    # Claim every crossing: a racing check that moved a certificate on already leaves it out.
    claimed = await _claim(session, claims, now, postgres)
    fired = [plans[cert_id] for cert_id in claimed if plans[cert_id][1] is not None]
    if not fired:
        return len(due)
    alerts = [
        _alert_row(cert, threshold, thresholds[cert.organization_id], now)
        for cert, threshold in fired
        if threshold is not None
    ]
    inserted = await _insert_alerts(session, alerts)
    wanted = await _wanted_events(session, {cert.tenant_id for cert, _ in fired})
    # The webhook payload's columns, read only for the certificates an event goes out for (and
    # before `_expire`: the payload shows the certificate as the check found it).
    described = await _describe(
        session,
        [
            row["certificate_id"]
            for row in alerts
            if row["id"] in inserted
            and _event_type(row["kind"]).value in wanted.get(row["tenant_id"], ())
        ],
    )
    expired = [cert for cert, threshold in fired if threshold == windows.EXPIRED]
    if expired:  # the claim set their status; their events
        await _record_expiry(session, expired, now)
    fired_by_severity: Counter[str] = Counter()
    for row in alerts:
        if row["id"] not in inserted:
            log.info(
                "alert %s/%s for %s exists already",
                row["kind"],
                row["threshold"],
                row["certificate_id"],
            )
            continue
        fired_by_severity[str(row["severity"])] += 1
        cert = described.get(row["certificate_id"])
        if cert is None:
            continue  # `emit` would drop it at flush: no subscription wants it
        expired_now = row["kind"] is AlertKind.EXPIRED
        data: dict[str, Any] = {
            "certificate": certificate_data(cert),
            "alert_id": row["id"],
            "severity": str(row["severity"]),
        }
        if not expired_now:
            data |= {"threshold_days": row["threshold"], "days_left": row["detail"]["days_left"]}
        emit(session, cert.tenant_id, _event_type(row["kind"]), data)
    for severity, count in fired_by_severity.items():
        record_alert(severity, count)
    return len(due)


def _event_type(kind: AlertKind) -> EventType:
    return (
        EventType.CERTIFICATE_EXPIRED
        if kind is AlertKind.EXPIRED
        else EventType.CERTIFICATE_EXPIRING
    )


async def _describe(session: AsyncSession, ids: list[str]) -> dict[str, Any]:
    """The webhook payload's columns of these certificates, by id."""
    if not ids:
        return {}
    rows = await session.execute(select(*_EVENT_COLUMNS).where(Certificate.id.in_(ids)))  # type: ignore[attr-defined]
    return {row.id: row for row in rows.all()}


async def _claim(
    session: AsyncSession,
    claims: list[tuple[str, dt.datetime, dt.datetime | None, int | None, bool]],
    now: dt.datetime,
    postgres: bool,
) -> list[str]:
    """One UPDATE moving each (id, seen) certificate to (following, alerted) where its
    `next_alert_at` is still `seen`, and setting the status of those marked `expire` to expired
    (one new row version each, not two); the ids it moved. The batch travels as a few array (or
    one JSON) parameters, so the statement's text is the same for every batch: compiled once,
    and no thousands of placeholders to bind."""
    expired = CertificateStatus.EXPIRED.value
    if postgres:
        ids, seen, following, alerted, expire = (
            list(column) for column in zip(*claims, strict=True)
        )
        result = await session.execute(
            _CLAIM_PG,
            {
                "ids": ids,
                "seen": seen,
                "following": following,
                "alerted": alerted,
                "expire": expire,
                "expired": expired,
                "now": now,
            },
        )
    else:
        dialect = session.bind.dialect  # type: ignore[union-attr]
        stored = bind_converter(Certificate.__table__.c.next_alert_at, dialect)  # type: ignore[attr-defined]
        assert stored is not None
        moves = json.dumps(
            [
                [
                    cert_id,
                    stored(seen),
                    None if following is None else stored(following),
                    alerted,
                    expire,
                ]
                for cert_id, seen, following, alerted, expire in claims
            ]
        )
        result = await session.execute(
            _CLAIM_SQLITE, {"moves": moves, "expired": expired, "now": stored(now)}
        )
    return list(result.scalars())


_CLAIM_SET = (
    "UPDATE certificate SET next_alert_at = moves.following, alerted_threshold = moves.alerted,"
    " status = CASE WHEN moves.expire THEN :expired ELSE certificate.status END,"
    " updated_at = CASE WHEN moves.expire THEN :now ELSE certificate.updated_at END"
)
_CLAIM_PG = text(
    f"{_CLAIM_SET}"
    " FROM unnest(CAST(:ids AS varchar[]), CAST(:seen AS timestamptz[]),"
    " CAST(:following AS timestamptz[]), CAST(:alerted AS integer[]),"
    " CAST(:expire AS boolean[]))"
    " AS moves (id, seen, following, alerted, expire)"
    " WHERE certificate.id = moves.id AND certificate.next_alert_at = moves.seen"
    " RETURNING certificate.id"
)
# It must begin with UPDATE: Python's sqlite3 opens the transaction only before statements that
# do (a `WITH ... UPDATE` would run in autocommit, outside the batch's transaction).
_CLAIM_SQLITE = text(
    f"{_CLAIM_SET}"  # noqa: S608 (constant text)
    " FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS seen,"
    " json_extract(value, '$[2]') AS following, json_extract(value, '$[3]') AS alerted,"
    " json_extract(value, '$[4]') AS expire"
    " FROM json_each(:moves)) AS moves"
    " WHERE certificate.id = moves.id AND certificate.next_alert_at = moves.seen"
    " RETURNING certificate.id"
)


# What the check itself needs of a due certificate (JSON columns and the rest are read only for
# the webhook events that go out: see `_describe`).
_DUE_COLUMNS = (
    Certificate.id,
    Certificate.tenant_id,
    Certificate.organization_id,
    Certificate.common_name,
    Certificate.status,
    Certificate.not_after,
    Certificate.next_alert_at,
    Certificate.alerted_threshold,
)
_EVENT_COLUMNS = (
    Certificate.id,
    Certificate.tenant_id,
    Certificate.organization_id,
    Certificate.common_name,
    Certificate.names,
    Certificate.product,
    Certificate.validation_level,
    Certificate.backend,
    Certificate.status,
    Certificate.status_reason,
    Certificate.serial,
    Certificate.not_before,
    Certificate.not_after,
    Certificate.renewal_of,
    Certificate.labels,
)


def _alert_row(
    cert: Any, threshold: int, thresholds: list[int], now: dt.datetime
) -> dict[str, Any]:
    """The alert for `cert` crossing `threshold` (EXPIRED: it expired), as an INSERT row."""
    left = cert.not_after - now
    if threshold == windows.EXPIRED:
        kind, level = AlertKind.EXPIRED, AlertSeverity.CRITICAL
        message = f"{cert.common_name} expired at {cert.not_after:%Y-%m-%d %H:%M} UTC"
    else:
        kind, level = AlertKind.EXPIRING, AlertSeverity(windows.severity(threshold, thresholds))
        message = (
            f"{cert.common_name} expires in {max(left.days, 0)} days"
            f" ({cert.not_after:%Y-%m-%d %H:%M} UTC), past the {threshold}-day threshold"
        )
    return {
        "id": new_id(),
        "tenant_id": cert.tenant_id,
        "organization_id": cert.organization_id,
        "certificate_id": cert.id,
        "kind": kind,
        "threshold": threshold,
        "severity": level,
        "status": AlertStatus.OPEN,
        "message": message,
        "not_after": cert.not_after,
        "occurrences": 1,
        "detail": {"days_left": round(left.total_seconds() / 86400, 2)},
        "created_at": now,
        "updated_at": now,
    }


async def _insert_alerts(session: AsyncSession, rows: list[dict[str, Any]]) -> set[str]:
    """Insert `rows`, skipping any crossing alerted already (the unique constraint decides, so
    racing checks cannot both fire); the ids actually inserted."""
    result = await insert_batch(
        session,
        Alert.__table__,  # type: ignore[attr-defined]
        rows,
        " ON CONFLICT (certificate_id, kind, threshold) DO NOTHING RETURNING id",
    )
    return set(result.scalars())


async def _record_expiry(session: AsyncSession, certs: list[Any], now: dt.datetime) -> None:
    """What `transition(..., EXPIRED)` records besides the status (set by the claim): one event
    each (an expiry means no webhook event of its own; the alert's `certificate.expired` is
    it)."""
    await insert_batch(
        session,
        CertificateEvent.__table__,  # type: ignore[attr-defined]
        [
            {
                "tenant_id": cert.tenant_id,
                "certificate_id": cert.id,
                "at": now,
                "from_status": cert.status,
                "to_status": CertificateStatus.EXPIRED,
                "actor": "certbroker",
                "message": f"expired at {cert.not_after:%Y-%m-%d %H:%M:%S} UTC",
                "detail": {},
            }
            for cert in certs
        ],
    )


async def _wanted_events(session: AsyncSession, tenants: set[str]) -> dict[str, set[str]]:
    """The event types each tenant's enabled subscriptions want."""
    rows = await session.execute(
        select(WebhookSubscription.tenant_id, WebhookSubscription.event_types).where(
            WebhookSubscription.tenant_id.in_(tenants),  # type: ignore[attr-defined]
            WebhookSubscription.enabled.is_(True),  # type: ignore[attr-defined]
        )
    )
    wanted: dict[str, set[str]] = {}
    for tenant, types in rows.all():
        wanted.setdefault(tenant, set()).update(types)
    return wanted
