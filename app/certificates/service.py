"""Certificate state: lookups, listing with filters and cursors, and recorded transitions."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.certificates.models import (
    Certificate,
    CertificateEvent,
    CertificateStatus,
    labels_text,
)
from app.db import utcnow
from app.db_rows import new_row
from app.errors import NotFound
from app.http.cursors import decode_cursor, encode_cursor
from app.http.pages import keyset_page
from app.webhooks.lifecycle import certificate_changed

SORTS = {
    "created_at": (Certificate.created_at, False),
    "-created_at": (Certificate.created_at, True),
    "not_after": (Certificate.not_after, False),
    "-not_after": (Certificate.not_after, True),
}


async def get_certificate(session: AsyncSession, cert_id: str, tenant_id: str) -> Certificate:
    cert = await session.get(Certificate, cert_id)
    if cert is None or cert.tenant_id != tenant_id:
        raise NotFound(f"certificate {cert_id} not found")
    return cert


def transition(
    session: AsyncSession,
    cert: Certificate,
    to_status: CertificateStatus | None,
    actor: str,
    message: str,
    detail: dict[str, Any] | None = None,
) -> CertificateEvent:
    """Change the status (or just note something, with `to_status=None`) and record it."""
    event = new_row(
        CertificateEvent,
        tenant_id=cert.tenant_id,
        certificate_id=cert.id,
        from_status=cert.status,
        to_status=to_status or cert.status,
        actor=actor,
        message=message[:2000],
        detail=detail or {},
    )
    if to_status is not None:
        cert.status = to_status
        cert.status_reason = (
            message
            if to_status in (CertificateStatus.FAILED, CertificateStatus.REJECTED)
            else cert.status_reason
        )
    cert.updated_at = utcnow()
    session.add(cert)
    session.add(event)
    certificate_changed(session, cert, event)
    return event


def update_certificate(cert: Certificate, changes: dict[str, Any]) -> None:
    """Apply the editable fields (labels, comments, renewal settings)."""
    for key, value in changes.items():
        setattr(cert, key, value)
    if "labels" in changes:
        cert.labels_text = labels_text(cert.labels)
    cert.updated_at = utcnow()


async def list_events(
    session: AsyncSession, cert: Certificate, *, cursor: str | None = None, limit: int = 100
) -> tuple[list[CertificateEvent], str | None]:
    """A certificate's history, oldest first."""
    query = select(CertificateEvent).where(CertificateEvent.certificate_id == cert.id)
    return await keyset_page(
        session, query, key=None, id_column=CertificateEvent.id, cursor=cursor, limit=limit
    )


def _encode_cursor(sort: str, cert: Certificate) -> str:
    return encode_cursor(getattr(cert, SORTS[sort][0].key), cert.id)


async def list_certificates(
    session: AsyncSession,
    tenant_id: str,
    *,
    status: list[CertificateStatus] | None = None,
    product: str | None = None,
    validation_level: str | None = None,
    organization_id: str | None = None,
    name: str | None = None,
    expires_before: dt.datetime | None = None,
    expires_after: dt.datetime | None = None,
    label: dict[str, str] | None = None,
    source: str | None = None,
    sort: str = "-created_at",
    cursor: str | None = None,
    limit: int = 50,
    columns: Sequence[Any] | None = None,
) -> tuple[list[Any], str | None]:
    """A page of the tenant's certificates and the cursor of the next page: ORM objects, or
    rows of just `columns` (which must include the sort column and `id`) when a caller needs
    only those, which spares loading the PEMs, keys and detail of every row."""
    column, descending = SORTS[sort]
    entity: Any = select(*columns) if columns else select(Certificate)
    query = entity.where(Certificate.tenant_id == tenant_id)
    if status:
        query = query.where(Certificate.status.in_(status))  # type: ignore[attr-defined]
    if product:
        query = query.where(Certificate.product == product)
    if validation_level:
        query = query.where(Certificate.validation_level == validation_level)
    if organization_id:
        query = query.where(Certificate.organization_id == organization_id)
    if source:
        query = query.where(Certificate.source == source)
    if name:
        needle = name.strip().lower().replace("%", "").replace("_", r"\_")
        query = query.where(Certificate.names_text.like(f"%{needle}%", escape="\\"))  # type: ignore[attr-defined]
    if expires_before:
        query = query.where(Certificate.not_after < expires_before)  # type: ignore[operator]
    if expires_after:
        query = query.where(Certificate.not_after > expires_after)  # type: ignore[operator]
    if sort.lstrip("-") == "not_after":
        query = query.where(Certificate.not_after.is_not(None))  # type: ignore[union-attr]
    if cursor:
        value, last_id = decode_cursor(cursor)
        # The redundant bound lets the planner start the index scan at the cursor instead of
        # filtering every row before it (PostgreSQL ignores the OR for the index range).
        if descending:
            query = query.where(
                column <= value,
                or_(column < value, and_(column == value, Certificate.id < last_id)),
            )
        else:
            query = query.where(
                column >= value,
                or_(column > value, and_(column == value, Certificate.id > last_id)),
            )
    order = (column.desc(), Certificate.id.desc()) if descending else (column, Certificate.id)  # type: ignore[union-attr,attr-defined]
    # Labels match in SQL against their canonical JSON text, so paging stays exact.
    for key, value in (label or {}).items():
        fragment = json.dumps({key: value}, separators=(",", ":"))[1:-1]
        query = query.where(Certificate.labels_text.like(f"%{fragment}%"))  # type: ignore[attr-defined]
    result = await session.execute(query.order_by(*order).limit(limit + 1))
    rows = list(result.all() if columns else result.scalars())
    next_cursor = _encode_cursor(sort, rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor
