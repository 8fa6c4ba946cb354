"""Per-certificate expiry series, read from the database at scrape time.

prometheus-client calls collectors synchronously while our database is async, so the route
reads a snapshot first and hands it to `ExpiryCollector`, which a per-scrape registry renders.
Bounded: only issued certificates, soonest expiry first, at most `limit` of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.certificates.models import Certificate, CertificateStatus
from app.organizations.models import Organization
from app.tenants.models import Tenant

LABELS = ["tenant", "organization", "product", "common_name", "certificate_id"]


@dataclass(frozen=True, slots=True)
class ExpirySnapshot:
    rows: list[tuple[str, str, str, str, str, dt.datetime]]  # LABELS..., not_after
    truncated: bool


async def read_expiry_snapshot(session: AsyncSession, limit: int) -> ExpirySnapshot:
    query = (
        select(
            Tenant.name,
            Organization.name,
            Certificate.product,
            Certificate.common_name,
            Certificate.id,
            Certificate.not_after,
        )
        .join(Organization, Organization.id == Certificate.organization_id)
        .join(Tenant, Tenant.id == Certificate.tenant_id)
        .where(Certificate.status == CertificateStatus.ISSUED)
        .where(Certificate.not_after.is_not(None))  # type: ignore[union-attr]
        .order_by(Certificate.not_after, Certificate.id)
        .limit(limit + 1)
    )
    rows = [tuple(row) for row in (await session.execute(query)).all()]
    return ExpirySnapshot(rows=rows[:limit], truncated=len(rows) > limit)  # type: ignore[arg-type]


class ExpiryCollector(Collector):
    def __init__(self, snapshot: ExpirySnapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[GaugeMetricFamily]:
        expiry = GaugeMetricFamily(
            "certbroker_certificate_expiry_timestamp_seconds",
            "When each issued certificate expires (Unix time); soonest first, capped.",
            labels=LABELS,
        )
        for *labels, not_after in self.snapshot.rows:
            expiry.add_metric(labels, not_after.timestamp())
        yield expiry
        truncated = GaugeMetricFamily(
            "certbroker_certificate_expiry_truncated",
            "1 when more issued certificates exist than the expiry series limit allows.",
        )
        truncated.add_metric([], 1.0 if self.snapshot.truncated else 0.0)
        yield truncated
