"""Renewal: when a certificate is due, the scheduler that finds due ones, ordering successors,
and what happens when a successor is issued.

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
from sqlalchemy import select, update
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
from app.jobs.service import JobResult, enqueue_job
from app.lifecycle import windows
from app.lifecycle.alerts import alert_renewal_failure, resolve_alerts, schedule_expiry
from app.lifecycle.models import Renewal, RenewalState
from app.organizations.models import Organization
from app.organizations.service import acme_backend_config
from app.outbox import nudge
from app.runtime import Runtime
from app.settings import LifecycleSettings

log = logging.getLogger("certbroker.lifecycle")

RENEW_JOB = "certificate.renew"
SCHEDULER = "certbroker:renewal"
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


# The scheduler ------------------------------------------------------------------------------


async def schedule_renewals(
    runtime: Runtime, now: dt.datetime | None = None, tenant_id: str | None = None
) -> int:
    """Start a renewal for every auto-renewing certificate (of one tenant, or all) whose
    `renew_after` has passed and, for ACME, whose CA's ARI window agrees. Returns how many
    renewals were started."""
    now = now or utcnow()
    settings = runtime.settings.lifecycle
    started, seen = 0, set[str]()
    while True:
        query = (
            select(Certificate)
            .where(
                Certificate.renew_after <= now,  # type: ignore[operator]
                Certificate.status == CertificateStatus.ISSUED,
                Certificate.auto_renew.is_(True),  # type: ignore[attr-defined]
                Certificate.source == CertificateSource.BROKER,
            )
            .order_by(Certificate.renew_after)
            .limit(settings.batch_size)
        )
        if tenant_id is not None:
            query = query.where(Certificate.tenant_id == tenant_id)
        async with runtime.sessions() as session:
            due = list((await session.execute(query)).scalars())
            orgs = {
                org.id: org
                for org in (
                    await session.execute(
                        select(Organization).where(
                            Organization.id.in_({c.organization_id for c in due})  # type: ignore[attr-defined]
                        )
                    )
                ).scalars()
            }
        fresh = [cert for cert in due if cert.id not in seen]
        for cert in fresh:
            seen.add(cert.id)
            try:
                started += await _consider(runtime, cert, orgs[cert.organization_id], now)
            except Exception:
                log.exception("renewal scheduling of %s failed", cert.id)
        if not fresh or len(due) < settings.batch_size:
            break
    if started:
        await nudge(runtime.redis, runtime.settings.jobs.queue_name)
    return started


async def _consider(
    runtime: Runtime, cert: Certificate, org: Organization, now: dt.datetime
) -> int:
    settings = runtime.settings.lifecycle
    ari, unavailable = await _ask_ari(runtime, cert, org)
    decision = windows.decide_renewal(
        now,
        own_window_opens(cert, settings),
        ari,
        cert.id,
        dt.timedelta(hours=settings.ari_recheck_hours),
        ari_unavailable=unavailable,
    )
    async with runtime.sessions() as session:
        # The claim: only the run that still sees the `renew_after` it read acts on it.
        claimed = await session.execute(
            update(Certificate)
            .where(
                Certificate.id == cert.id,
                Certificate.renew_after == cert.renew_after,
                Certificate.status == CertificateStatus.ISSUED,
            )
            .values(renew_after=decision.next_check)
            .execution_options(synchronize_session=False)
        )
        started = 0
        if claimed.rowcount == 1 and decision.renew_now:  # type: ignore[attr-defined]
            started = await _start_due(session, cert.id, decision, ari is not None, now)
        await session.commit()
    return started


async def _start_due(
    session: AsyncSession,
    cert_id: str,
    decision: windows.RenewalDecision,
    by_ari: bool,
    now: dt.datetime,
) -> int:
    cert = await session.get(Certificate, cert_id, populate_existing=True)
    assert cert is not None
    try:
        await start_renewal(
            session, cert, trigger="ari" if by_ari else "schedule", actor=SCHEDULER, now=now
        )
    except Conflict:
        return 0  # renewing already (a manual renew got there first)
    transition(session, cert, None, SCHEDULER, f"renewal due: {decision.reason}")
    return 1


async def _ask_ari(
    runtime: Runtime, cert: Certificate, org: Organization
) -> tuple[windows.AriWindow | None, bool]:
    """The CA's suggested window for an ACME certificate, or None; and whether asking failed."""
    if cert.backend != Backend.ACME.value or not cert.leaf_pem or not org.acme:
        return None, False
    try:
        issuer = runtime.issuers.get(Backend.ACME.value)
        renewal_info = getattr(issuer, "renewal_info", None)
        if renewal_info is None:
            return None, False
        info = await renewal_info(acme_backend_config(org, runtime.secretbox), cert.leaf_pem)
        if info is None:
            return None, False
        return windows.AriWindow.parse(info.window_start, info.window_end, info.retry_after), False
    except Exception as exc:  # the CA is away: fall back to the own window, ask again later
        log.warning("ARI for %s unavailable: %s: %s", cert.id, type(exc).__name__, exc)
        return None, True


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
    A failed or cancelled earlier renewal starts over."""
    now = now or utcnow()
    check_renewable(cert)
    renewal = await _renewal_of(session, cert.id)
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
    renewal.successor_id, renewal.updated_at = None, now
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
    if final:
        renewal.state = RenewalState.FAILED
        return JobResult.done()
    delay = min(
        settings.renewal_retry_cap_seconds,
        settings.renewal_retry_seconds * 2 ** (renewal.failures - 1),
    )
    return JobResult.later(delay, f"renewal failed, retrying in {delay:.0f}s: {reason}")
