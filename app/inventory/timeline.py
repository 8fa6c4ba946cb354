"""Certificates expiring per week over the coming weeks: one indexed range scan, counted in SQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.certificates.models import Certificate, CertificateStatus
from app.db import utcnow
from app.inventory.schemas import ExpiryTimeline, ExpiryWeek
from app.organizations.service import get_organization

WEEK = dt.timedelta(days=7)
_SEVERITY_DAYS = ((7, "critical"), (14, "high"), (30, "warning"))


def severity_at(days_left: float) -> str:
    """The alert band a certificate with this many days left is in (30/14/7 days)."""
    for limit, name in _SEVERITY_DAYS:
        if days_left < limit:
            return name
    return "ok"


async def expiry_timeline(
    session: AsyncSession, tenant_id: str, organization_id: str | None, weeks: int
) -> ExpiryTimeline:
    now = utcnow()
    scope: list[Any] = [Certificate.tenant_id == tenant_id]
    if organization_id:
        await get_organization(session, organization_id, tenant_id)  # 404 unless the tenant's
        scope.append(Certificate.organization_id == organization_id)
    not_after: Any = Certificate.not_after
    starts = [now + WEEK * index for index in range(weeks)]
    horizon = now + WEEK * weeks
    issued = Certificate.status == CertificateStatus.ISSUED
    # Expired ones are those past their date whether or not the expiry check has run yet.
    expired_status = Certificate.status.in_(  # type: ignore[attr-defined]
        (CertificateStatus.ISSUED, CertificateStatus.EXPIRED)
    )
    columns = [
        func.count().filter(issued, not_after >= start, not_after < start + WEEK)
        for start in starts
    ]
    columns.append(func.count().filter(expired_status, not_after < now))
    columns.append(func.count().filter(issued, not_after >= horizon))
    row = (await session.execute(select(*columns).where(*scope, not_after.is_not(None)))).one()
    return ExpiryTimeline(
        weeks=[
            ExpiryWeek(
                start=start,
                end=start + WEEK,
                count=row[index] or 0,
                severity=severity_at((start - now) / dt.timedelta(days=1)),  # type: ignore[arg-type]
            )
            for index, start in enumerate(starts)
        ],
        expired=row[weeks] or 0,
        later=row[weeks + 1] or 0,
        as_of=now,
    )
