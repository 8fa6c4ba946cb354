"""Inventory counts by status, product, level, backend, issuer, source and time to expiry.

Every count is one GROUP BY in the database; no certificate row is loaded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.certificates.models import Certificate, CertificateStatus
from app.db import utcnow
from app.inventory.schemas import EXPIRY_BUCKETS, InventorySummary
from app.organizations.service import get_organization

_MONITORED = (CertificateStatus.ISSUED, CertificateStatus.EXPIRED)


def _expiry_bucket(now: dt.datetime) -> Any:
    not_after = Certificate.not_after
    days = [(7, "lt_7d"), (14, "lt_14d"), (30, "lt_30d"), (90, "lt_90d")]
    return case(
        (not_after <= now, "expired"),  # type: ignore[operator]
        *[(not_after < now + dt.timedelta(days=d), name) for d, name in days],  # type: ignore[operator]
        else_="later",
    )


async def _grouped(session: AsyncSession, column: Any, scope: list[Any]) -> dict[str, int]:
    # Grouped over a labelled subquery: PostgreSQL refuses GROUP BY on an expression whose bound
    # parameters render differently from the SELECT's.
    inner = select(column.label("key")).where(*scope).subquery()
    rows = await session.execute(
        select(inner.c.key, func.count()).group_by(inner.c.key).order_by(inner.c.key)
    )
    return {str(key) if key not in (None, "") else "unknown": count for key, count in rows.all()}


async def inventory_summary(
    session: AsyncSession, tenant_id: str, organization_id: str | None = None
) -> InventorySummary:
    now = utcnow()
    scope: list[Any] = [Certificate.tenant_id == tenant_id]
    if organization_id:
        await get_organization(session, organization_id, tenant_id)  # 404 unless the tenant's
        scope.append(Certificate.organization_id == organization_id)
    by_status = await _grouped(session, Certificate.status, scope)
    monitored = [
        *scope,
        Certificate.status.in_(_MONITORED),  # type: ignore[attr-defined]
        Certificate.not_after.is_not(None),  # type: ignore[union-attr]
    ]
    issued = [*scope, Certificate.status == CertificateStatus.ISSUED]
    buckets = await _grouped(session, _expiry_bucket(now), monitored)
    return InventorySummary(
        total=sum(by_status.values()),
        by_status=by_status,
        by_product=await _grouped(session, Certificate.product, scope),
        by_validation_level=await _grouped(session, Certificate.validation_level, scope),
        by_backend=await _grouped(session, Certificate.backend, scope),
        by_issuer=await _grouped(session, Certificate.issuer_dn, issued),
        by_source=await _grouped(session, Certificate.source, scope),
        by_expiry={name: buckets.get(name, 0) for name in EXPIRY_BUCKETS},
        as_of=now,
    )
