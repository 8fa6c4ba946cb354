"""Renewal: when a certificate is due, starting a renewal, ordering the successor, the job
that watches it, and what happens when the successor is issued (the scheduler that finds due
certificates is in scheduler.py).

A renewal orders a replacement with the same organization, product, names, term and labels,
linked by `renewal_of`, through the ordinary ordering checks (a policy that changed since the
first order applies). Keys: a broker-generated key is replaced by a new one unless the caller
asks to reuse it. A CSR-ordered certificate is renewed with the same CSR (the broker never held
its key, and the holder's installed key then matches the new certificate); a manual renew can
hand in a new CSR to rotate that key.

Exactly one renewal per certificate: the `certificate_renewal` row is unique per certificate,
the scheduler claims a certificate with a conditional update of `renew_after`, and the job has a
dedupe key. The job orders the successor and watches it; a refused order or a failed successor
raises an alert and is retried with backoff, up to `renewal_max_attempts`.
"""

from __future__ import annotations

import datetime as dt
import logging

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.catalog.products import Backend, KeyType
from app.certificates.models import (
    OPEN_STATUSES,
    Certificate,
    CertificateSource,
    CertificateStatus,
)
from app.certificates.ordering import request_certificate
from app.certificates.schemas import CertificateCreate, KeySpec
from app.certificates.service import get_certificate, transition
from app.db import utcnow
from app.errors import AppError, Conflict, Unprocessable
from app.jobs.models import TERMINAL_STATES, Job
from app.jobs.service import JobResult, enqueue_job
from app.lifecycle import windows
from app.lifecycle.alerts import alert_renewal_failure, resolve_alerts
from app.lifecycle.expiry import schedule_expiry
from app.lifecycle.models import Renewal, RenewalState
from app.metrics.registry import record_renewal
from app.organizations.models import Organization
from app.runtime import Runtime
from app.settings import LifecycleSettings

log = logging.getLogger("certbroker.lifecycle")

RENEW_JOB = "certificate.renew"
RENEWABLE = (CertificateStatus.ISSUED, CertificateStatus.EXPIRED)


# When ---------------------------------------------------------------------------------------


def own_window_opens(cert: Certificate, settings: LifecycleSettings) -> dt.datetime:
    assert cert.not_before is not None and cert.not_after is not None
    window = windows.renewal_window(
        cert.not_before,
        cert.not_after,
        cert.renew_before_days,
        settings.renew_before_days,
        settings.renew_share,
    )
    return cert.not_after - window


def schedule_renewal(cert: Certificate, settings: LifecycleSettings, now: dt.datetime) -> None:
    """Set `renew_after`: the own window's start; ACME certificates are looked at sooner, to ask
    the CA's ARI (which may want them renewed earlier or later)."""
    if not cert.auto_renew or cert.source != CertificateSource.BROKER or cert.not_after is None:
        cert.renew_after = None
        return
    opens = own_window_opens(cert, settings)
    if cert.backend == Backend.ACME.value:
        opens = min(opens, now + dt.timedelta(hours=settings.ari_recheck_hours))
    cert.renew_after = opens


async def on_certificate_issued(
    session: AsyncSession,
    cert: Certificate,
    settings: LifecycleSettings,
    now: dt.datetime | None = None,
) -> None:
    """Called by mark_issued: schedule renewal and expiry checks of the new certificate; for a
    renewal, retire the predecessor's schedules, resolve its alerts and close the renewal."""
    now = now or utcnow()
    org = await session.get(Organization, cert.organization_id)
    assert org is not None
    cert.alerted_threshold = None
    schedule_renewal(cert, settings, now)
    schedule_expiry(cert, org)
    if not cert.renewal_of:
        return
    previous = await session.get(Certificate, cert.renewal_of)
    if previous is not None:
        previous.superseded_by = previous.superseded_by or cert.id
        previous.renew_after = previous.next_alert_at = None
        session.add(previous)
        await resolve_alerts(session, previous.id, now)
    renewal = await _renewal_of(session, cert.renewal_of)
    if renewal is not None and renewal.state == RenewalState.ORDERING:
        renewal.state, renewal.successor_id, renewal.updated_at = RenewalState.DONE, cert.id, now
        session.add(renewal)


# Starting and ordering ----------------------------------------------------------------------


async def _renewal_of(session: AsyncSession, certificate_id: str) -> Renewal | None:
    return (
        await session.execute(select(Renewal).where(Renewal.certificate_id == certificate_id))
    ).scalar_one_or_none()


def check_renewable(cert: Certificate) -> None:
    if cert.source != CertificateSource.BROKER:
        raise Conflict(f"certificate {cert.id} was not ordered through the broker ({cert.source})")
    if cert.status not in RENEWABLE or cert.superseded_by:
        raise Conflict(f"certificate {cert.id} is {cert.status}; only issued or expired renew")


async def start_renewal(
    session: AsyncSession,
    cert: Certificate,
    *,
    trigger: str,
    actor: str,
    reuse_key: bool = False,
    now: dt.datetime | None = None,
) -> Renewal:
    """Open the certificate's renewal and stage its job; Conflict when one is under way or done.
    A failed or cancelled earlier renewal starts over, and so does one whose job died (failed
    past its retries on errors the renewal could not classify)."""
    now = now or utcnow()
    check_renewable(cert)
    renewal = await _renewal_of(session, cert.id)
    if renewal is not None and renewal.state == RenewalState.ORDERING:
        job = await session.get(Job, renewal.job_id) if renewal.job_id else None
        if job is None or job.state in TERMINAL_STATES:
            renewal.state = RenewalState.FAILED
    if renewal is not None and renewal.state in (RenewalState.ORDERING, RenewalState.DONE):
        successor = f" (successor {renewal.successor_id})" if renewal.successor_id else ""
        raise Conflict(f"certificate {cert.id} is being renewed already{successor}")
    if renewal is None:
        renewal = Renewal(tenant_id=cert.tenant_id, certificate_id=cert.id, trigger=trigger,
                          requested_by=actor, created_at=now)  # fmt: skip
        try:
            async with session.begin_nested():
                session.add(renewal)
        except IntegrityError:
            raise Conflict(f"certificate {cert.id} is being renewed already") from None
    renewal.state, renewal.trigger, renewal.requested_by = RenewalState.ORDERING, trigger, actor
    renewal.reuse_key, renewal.failures, renewal.last_error = reuse_key, 0, None
    renewal.updated_at = now
    if renewal.successor_id:  # a successor still on its way is watched, not ordered twice
        successor = await session.get(Certificate, renewal.successor_id)
        if successor is None or successor.status not in OPEN_STATUSES:
            renewal.successor_id = None
    cert.renew_after = None
    job = await enqueue_job(
        session,
        RENEW_JOB,
        tenant_id=cert.tenant_id,
        subject=("certificate", cert.id),
        dedupe_key=f"{RENEW_JOB}:{cert.id}",
    )
    renewal.job_id = job.id
    session.add_all([renewal, cert])
    return renewal


async def order_successor(
    session: AsyncSession,
    runtime: Runtime,
    renewal: Renewal,
    cert: Certificate,
    csr: str | None = None,
) -> Certificate:
    """Order the replacement through the ordinary ordering path; Unprocessable when the order
    is refused now (policy changed, product retired, backend settings gone)."""
    reuse_key = renewal.reuse_key and cert.key_source == "generated" and cert.private_key
    if csr is None and (cert.key_source == "csr" or reuse_key):
        csr = cert.csr_pem
    try:
        body = CertificateCreate(
            organization_id=cert.organization_id,
            product=cert.product,  # type: ignore[arg-type]
            common_name=cert.common_name,
            sans=list(cert.names[1:]),
            term_days=cert.term_days,
            server_type=cert.server_type,  # type: ignore[arg-type]
            comments=cert.comments,
            labels=dict(cert.labels),
            auto_renew=cert.auto_renew,
            renew_before_days=cert.renew_before_days,
            csr=csr,
            key=None if csr else KeySpec(type=KeyType(cert.key_type)),
        )
    except (ValidationError, ValueError) as exc:
        raise Unprocessable(f"the certificate can no longer be ordered as it was: {exc}") from None
    principal = Principal(
        tenant_id=cert.tenant_id, subject=renewal.requested_by, scopes=frozenset()
    )
    successor, _ = await request_certificate(session, runtime, principal, body)
    successor.renewal_of = cert.id
    if reuse_key and csr == cert.csr_pem:
        box = runtime.secretbox
        key = box.decrypt(cert.private_key or "", context=f"certificate:{cert.id}")
        successor.private_key = box.encrypt(key, context=f"certificate:{successor.id}")
        successor.key_source = "generated"
    renewal.attempts += 1
    renewal.successor_id, renewal.updated_at = successor.id, utcnow()
    session.add_all([successor, renewal])
    transition(
        session,
        cert,
        None,
        renewal.requested_by,
        f"renewal ordered: {successor.id}",
        {"successor_id": successor.id},
    )
    return successor


async def renew_now(
    session: AsyncSession,
    runtime: Runtime,
    principal: Principal,
    cert_id: str,
    *,
    reuse_key: bool = False,
    csr: str | None = None,
) -> Certificate:
    """POST /v1/certificates/{id}/renew: order the successor in this request (422 with the
    reasons when it cannot be ordered), then let the renewal job watch it."""
    cert = await get_certificate(session, cert_id, principal.tenant_id)
    renewal = await start_renewal(
        session, cert, trigger="manual", actor=principal.subject, reuse_key=reuse_key
    )
    if renewal.successor_id:
        successor = await session.get(Certificate, renewal.successor_id)
        assert successor is not None
        return successor
    return await order_successor(session, runtime, renewal, cert, csr)


# The job ------------------------------------------------------------------------------------


def _watch_delay(executions: int) -> float:
    return float(min(900, 2 ** min(max(executions, 1), 10)))


async def advance_renewal(
    session: AsyncSession, runtime: Runtime, certificate_id: str, executions: int
) -> JobResult:
    """Order a successor when there is none (or the last one failed), else watch it."""
    settings = runtime.settings.lifecycle
    renewal = await _renewal_of(session, certificate_id)
    if renewal is None or renewal.state != RenewalState.ORDERING:
        return JobResult.done()
    cert = await session.get(Certificate, certificate_id, populate_existing=True)
    assert cert is not None
    if cert.status in (CertificateStatus.REVOKED, CertificateStatus.SUPERSEDED) and (
        cert.superseded_by is None or cert.superseded_by != renewal.successor_id
    ):
        renewal.state, renewal.updated_at = RenewalState.CANCELLED, utcnow()
        session.add(renewal)
        return JobResult.done()
    successor = None
    if renewal.successor_id:
        successor = await session.get(Certificate, renewal.successor_id, populate_existing=True)
    if successor is not None:
        if successor.status == CertificateStatus.ISSUED:
            renewal.state, renewal.updated_at = RenewalState.DONE, utcnow()
            session.add(renewal)
            record_renewal("succeeded")
            return JobResult.done()
        if successor.status in OPEN_STATUSES:
            return JobResult.later(_watch_delay(executions), f"waiting for {successor.id}")
        reason = successor.status_reason or str(successor.status)
        return await _failed(
            session, renewal, cert, f"successor {successor.id}: {reason}", settings
        )
    try:
        successor = await order_successor(session, runtime, renewal, cert)
    except AppError as exc:
        return await _failed(session, renewal, cert, exc.detail, settings)
    return JobResult.later(_watch_delay(1), f"ordered {successor.id}")


async def _failed(
    session: AsyncSession,
    renewal: Renewal,
    cert: Certificate,
    reason: str,
    settings: LifecycleSettings,
) -> JobResult:
    now = utcnow()
    renewal.failures += 1
    renewal.last_error, renewal.successor_id, renewal.updated_at = reason[:2000], None, now
    final = renewal.failures >= settings.renewal_max_attempts
    message = f"renewal of {cert.common_name} failed (attempt {renewal.failures}): {reason}"
    await alert_renewal_failure(session, cert, message, final=final, now=now)
    transition(session, cert, None, "certbroker", message, {"renewal_id": renewal.id})
    session.add(renewal)
    record_renewal("failed" if final else "retrying")
    if final:
        renewal.state = RenewalState.FAILED
        return JobResult.done()
    delay = min(
        settings.renewal_retry_cap_seconds,
        settings.renewal_retry_seconds * 2 ** (renewal.failures - 1),
    )
    return JobResult.later(delay, f"renewal failed, retrying in {delay:.0f}s: {reason}")
