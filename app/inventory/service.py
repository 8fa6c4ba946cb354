"""Adding certificates the broker did not order (SCM imports, uploads) to the inventory.

Never commits. Such rows are recorded with an event but raise no webhook: nothing happened to
the certificate, the broker only learnt of it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.certificates.models import (
    Certificate,
    CertificateEvent,
    CertificateStatus,
    labels_text,
    names_text,
)
from app.db import utcnow
from app.lifecycle.expiry import schedule_expiry
from app.organizations.models import Organization

EXTERNAL_PRODUCT = "external"  # catch-all product for certificates outside the catalog
EXTERNAL_BACKEND = "external"  # uploaded: no CA the broker talks to


def status_by_dates(not_after: dt.datetime, now: dt.datetime | None = None) -> CertificateStatus:
    return CertificateStatus.ISSUED if (now or utcnow()) < not_after else CertificateStatus.EXPIRED


def add_external(
    session: AsyncSession, cert: Certificate, org: Organization, actor: str, message: str
) -> Certificate:
    cert.names_text = names_text(cert.names)
    cert.labels_text = labels_text(cert.labels)
    cert.alerted_threshold = None
    if cert.status == CertificateStatus.ISSUED:
        schedule_expiry(cert, org)  # expiry alerts like any other certificate
    session.add(cert)
    session.add(
        CertificateEvent(
            tenant_id=cert.tenant_id,
            certificate_id=cert.id,
            from_status=None,
            to_status=cert.status,
            actor=actor[:200],
            message=message[:2000],
            detail={"source": str(cert.source)},
        )
    )
    return cert


async def find_external(
    session: AsyncSession, organization_id: str, backend_ref: str
) -> Certificate | None:
    found = await session.execute(
        select(Certificate).where(
            Certificate.organization_id == organization_id,
            Certificate.backend_ref == backend_ref,
            Certificate.source != "broker",
        )
    )
    return found.scalars().first()


async def forget_organization(session: AsyncSession, org_id: str) -> None:
    """Drop the SCM sync watermark of an organization being deleted."""
    from app.inventory.models import InventorySyncState

    await session.execute(
        delete(InventorySyncState).where(InventorySyncState.organization_id == org_id)
    )
