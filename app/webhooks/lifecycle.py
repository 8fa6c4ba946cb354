"""Which broker changes become which webhook events, and what each event carries.

The certificate, domain and approval services call these (one line each) where their state
changes; everything here only reads the rows it is given and calls `emit`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, object_session

from app.certificates.models import CertificateStatus
from app.domains.models import DomainStatus
from app.webhooks.events import emit, on_flush, settled_unsubscribed
from app.webhooks.models import EventType

if TYPE_CHECKING:
    from app.approvals.models import Approval
    from app.certificates.models import Certificate, CertificateEvent
    from app.domains.models import Domain, DomainValidation

_STATUS_EVENTS = {
    CertificateStatus.ISSUED: EventType.CERTIFICATE_ISSUED,
    CertificateStatus.FAILED: EventType.CERTIFICATE_FAILED,
    CertificateStatus.REJECTED: EventType.CERTIFICATE_REJECTED,
    CertificateStatus.REVOKED: EventType.CERTIFICATE_REVOKED,
}


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def certificate_data(cert: Certificate) -> dict[str, Any]:
    return {
        "id": cert.id,
        "organization_id": cert.organization_id,
        "common_name": cert.common_name,
        "names": list(cert.names),
        "product": cert.product,
        "validation_level": cert.validation_level,
        "backend": cert.backend,
        "status": str(cert.status),
        "status_reason": cert.status_reason,
        "serial": cert.serial,
        "not_before": _iso(cert.not_before),
        "not_after": _iso(cert.not_after),
        "renewal_of": cert.renewal_of,
        "labels": dict(cert.labels),
    }


def certificate_event_types(change: CertificateEvent, renewal: bool) -> list[EventType]:
    """The events one recorded certificate change means (most mean none)."""
    if change.from_status is None:  # the certificate module marks the request itself so
        return [EventType.CERTIFICATE_REQUESTED]
    if change.from_status == change.to_status:
        approved = "approval_id" in (change.detail or {})
        return [EventType.CERTIFICATE_APPROVED] if approved else []
    event_type = _STATUS_EVENTS.get(CertificateStatus(change.to_status))
    if event_type is None:
        return []
    if event_type is EventType.CERTIFICATE_ISSUED and renewal:
        return [EventType.CERTIFICATE_ISSUED, EventType.CERTIFICATE_RENEWED]
    return [event_type]


def certificate_changed(session: AsyncSession, cert: Certificate, change: CertificateEvent) -> None:
    """Called by `transition()` for every recorded change. The certificate is captured now;
    which events it means is decided at flush, because the request's first change is marked
    (`from_status = None`) by its caller after `transition()` returns."""
    if settled_unsubscribed(session, cert.tenant_id):
        return  # whatever the events, emit would drop them (no subscription): nothing to prepare
    data = {
        "certificate": certificate_data(cert),
        "from_status": change.from_status,
        "to_status": change.to_status,
        "actor": change.actor,
        "message": change.message,
    }
    renewal = cert.renewal_of is not None

    def decide() -> None:
        for event_type in certificate_event_types(change, renewal):
            emit(session, cert.tenant_id, event_type, {**data, "from_status": change.from_status})

    on_flush(session, decide)


def domain_validation_ended(domain: Domain, validation: DomainValidation) -> None:
    """Called by `mark_validated` and `mark_failed` (sync, sessionless: the domain's own
    session carries the event)."""
    session = object_session(domain)
    assert isinstance(session, Session), "the domain must belong to a session"
    validated = domain.status == DomainStatus.VALIDATED
    emit(
        session,
        domain.tenant_id,
        EventType.DOMAIN_VALIDATED if validated else EventType.DOMAIN_VALIDATION_FAILED,
        {
            "domain": {
                "id": domain.id,
                "organization_id": domain.organization_id,
                "name": domain.name,
                "status": str(domain.status),
                "validated_at": _iso(domain.validated_at),
                "expires_at": _iso(domain.expires_at),
                "last_error": domain.last_error,
            },
            "validation": {
                "id": validation.id,
                "method": validation.method,
                "status": str(validation.status),
                "error": validation.error,
            },
        },
    )


def approval_data(approval: Approval) -> dict[str, Any]:
    return {
        "approval": {
            "id": approval.id,
            "certificate_id": approval.certificate_id,
            "organization_id": approval.organization_id,
            "validation_level": approval.validation_level,
            "status": str(approval.status),
            "requested_by": approval.requested_by,
            "expires_at": _iso(approval.expires_at),
            "decided_at": _iso(approval.decided_at),
        }
    }
