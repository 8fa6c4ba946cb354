"""The renewal scheduler (an arq cron): a range scan on `renew_after <= now` over issued,
auto-renewing, broker-ordered certificates; for ACME ones the CA's ARI window is asked first
and wins. Each certificate is claimed with a conditional update of `renew_after`, so racing or
repeated runs start one renewal."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.products import Backend
from app.certificates.models import Certificate, CertificateSource, CertificateStatus
from app.certificates.service import transition
from app.db import utcnow
from app.errors import Conflict
from app.lifecycle import windows
from app.lifecycle.renewal import own_window_opens, start_renewal
from app.organizations.models import Organization
from app.organizations.service import acme_backend_config
from app.outbox import nudge
from app.runtime import Runtime

log = logging.getLogger("certbroker.lifecycle")

SCHEDULER = "certbroker:renewal"


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
