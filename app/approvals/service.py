"""Approval rules: who may decide, what a decision does, and expiry. Never commits."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals.models import Approval, ApprovalStatus
from app.auth.principal import Principal
from app.certificates.models import Certificate, CertificateStatus
from app.certificates.service import transition
from app.db import utcnow
from app.db_rows import new_row
from app.errors import Conflict, Forbidden, NotFound
from app.http.pages import DEFAULT_LIMIT, keyset_page
from app.jobs.service import enqueue_job
from app.organizations.models import Organization
from app.webhooks.events import emit
from app.webhooks.lifecycle import approval_data
from app.webhooks.models import EventType

EXPIRE_JOB = "approval.expire"


async def open_approval(
    session: AsyncSession, cert: Certificate, org: Organization, requested_by: str
) -> Approval:
    approval = new_row(
        Approval,
        tenant_id=cert.tenant_id,
        organization_id=org.id,
        certificate_id=cert.id,
        validation_level=cert.validation_level,
        requested_by=requested_by,
        expires_at=utcnow() + dt.timedelta(hours=org.approval_timeout_hours),
    )
    session.add(approval)  # inserted with the rest at the request's flush
    deadline = await enqueue_job(
        session,
        EXPIRE_JOB,
        tenant_id=cert.tenant_id,
        subject=("approval", approval.id),
        dedupe_key=f"{EXPIRE_JOB}:{approval.id}",
        run_at=approval.expires_at,
        new_subject=True,  # the approval is new: no job can exist under its key
    )
    # Until a decision, the job that will act on the order is the approval's deadline.
    cert.job_id = deadline.id
    emit(session, approval.tenant_id, EventType.APPROVAL_PENDING, approval_data(approval))
    return approval


async def get_approval(session: AsyncSession, approval_id: str, tenant_id: str) -> Approval:
    approval = await session.get(Approval, approval_id)
    if approval is None or approval.tenant_id != tenant_id:
        raise NotFound(f"approval {approval_id} not found")
    return approval


async def list_approvals(
    session: AsyncSession,
    tenant_id: str,
    *,
    status: ApprovalStatus | None = ApprovalStatus.PENDING,
    organization_id: str | None = None,
    certificate_id: str | None = None,
    decidable_by: Principal | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> tuple[list[Approval], str | None]:
    """The tenant's approvals, oldest first; with `decidable_by`, only those that principal may
    decide (a listed approver for the organization and level, and not the requester)."""
    query = select(Approval).where(Approval.tenant_id == tenant_id)
    if status:
        query = query.where(Approval.status == status)
    if organization_id:
        query = query.where(Approval.organization_id == organization_id)
    if certificate_id:
        query = query.where(Approval.certificate_id == certificate_id)
    if decidable_by is not None:
        pairs = await _approver_of(session, tenant_id, decidable_by.subject)
        if not pairs:
            return [], None
        query = query.where(
            tuple_(Approval.organization_id, Approval.validation_level).in_(pairs),
            Approval.requested_by != decidable_by.subject,
        )
    return await keyset_page(
        session, query, key=Approval.created_at, id_column=Approval.id, cursor=cursor, limit=limit
    )


async def _approver_of(
    session: AsyncSession, tenant_id: str, subject: str
) -> list[tuple[str, str]]:
    """(organization id, validation level) pairs whose approvers list the subject."""
    rows = await session.execute(
        select(Organization.id, Organization.approvers).where(Organization.tenant_id == tenant_id)
    )
    return [
        (org_id, level)
        for org_id, approvers in rows
        for level, subjects in (approvers or {}).items()
        if subject in subjects
    ]


def check_approver(approval: Approval, org: Organization, principal: Principal) -> None:
    """Only a listed approver for the organization and level decides, never the requester."""
    if principal.subject == approval.requested_by:
        raise Forbidden("the requester of a certificate cannot approve or reject it")
    listed = org.approvers.get(approval.validation_level, [])
    if principal.subject not in listed:
        raise Forbidden(
            f"{principal.subject} is not an approver for {approval.validation_level} "
            f"certificates of organization {org.name!r}"
        )


def _require_pending(approval: Approval) -> None:
    if approval.status != ApprovalStatus.PENDING:
        raise Conflict(f"the approval is already {approval.status}")
    if approval.expires_at <= utcnow():
        raise Conflict("the approval has expired")


async def decide(
    session: AsyncSession,
    approval: Approval,
    principal: Principal,
    approve: bool,
    comment: str | None,
) -> Certificate:
    """Record the decision; approving hands the certificate to issuance (via the caller's
    `submit`), rejecting ends it."""
    from app.certificates.ordering import submit_for_issuance

    org = await session.get(Organization, approval.organization_id)
    cert = await session.get(Certificate, approval.certificate_id)
    assert org is not None and cert is not None
    check_approver(approval, org, principal)
    _require_pending(approval)
    approval.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
    approval.decided_by = principal.subject
    approval.decided_at = utcnow()
    approval.comment = comment
    session.add(approval)
    verb = "approved" if approve else "rejected"
    message = f"{verb} by {principal.subject}" + (f": {comment}" if comment else "")
    if approve:
        transition(session, cert, None, principal.subject, message, {"approval_id": approval.id})
        await submit_for_issuance(session, cert, org, principal.subject, approved=True)
    else:
        transition(session, cert, CertificateStatus.REJECTED, principal.subject, message)
    return cert


async def expire(session: AsyncSession, approval_id: str) -> bool:
    """Expire a still-pending approval whose time is up. True when it expired now."""
    approval = await session.get(Approval, approval_id)
    if approval is None or approval.status != ApprovalStatus.PENDING:
        return False
    if approval.expires_at > utcnow():
        return False
    approval.status = ApprovalStatus.EXPIRED
    approval.decided_at = utcnow()
    session.add(approval)
    emit(session, approval.tenant_id, EventType.APPROVAL_EXPIRED, approval_data(approval))
    cert = await session.get(Certificate, approval.certificate_id)
    if cert is not None and cert.status == CertificateStatus.PENDING_APPROVAL:
        hours = round((approval.expires_at - approval.created_at).total_seconds() / 3600)
        transition(
            session,
            cert,
            CertificateStatus.REJECTED,
            "certbroker",
            f"approval expired: nobody approved within {hours} hours",
        )
    return True
