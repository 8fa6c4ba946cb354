"""Asking the CA to revoke a certificate: the one path for the REST API and the ACME server."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.certificates.models import Certificate, CertificateStatus
from app.certificates.schemas import REASON_CODES
from app.certificates.service import transition
from app.db import utcnow
from app.errors import Conflict
from app.jobs.models import Job
from app.jobs.service import enqueue_job

REVOKE_JOB = "certificate.revoke"
REASON_NAMES = {code: name for name, code in REASON_CODES.items()}


class AlreadyRevoked(Conflict):
    """The CA has revoked it already."""


async def request_revocation(
    session: AsyncSession,
    cert: Certificate,
    reason: int,
    actor: str,
    comment: str | None = None,
) -> Job:
    """Queue the revocation at the backend that issued `cert` (RFC 5280 `reason`); the status
    becomes `revoked` when the CA confirmed."""
    if cert.status == CertificateStatus.REVOKED:
        raise AlreadyRevoked("the certificate is already revoked")
    if cert.status not in (CertificateStatus.ISSUED, CertificateStatus.SUPERSEDED):
        raise Conflict(f"only issued certificates can be revoked; this one is {cert.status}")
    job = await enqueue_job(
        session,
        REVOKE_JOB,
        tenant_id=cert.tenant_id,
        subject=("certificate", cert.id),
        payload={"reason": reason, "comment": comment, "actor": actor},
        dedupe_key=f"{REVOKE_JOB}:{cert.id}",
    )
    cert.revocation_requested_at = utcnow()
    cert.job_id = job.id
    transition(
        session, cert, None, actor, f"revocation requested ({REASON_NAMES.get(reason, reason)})"
    )
    return job
