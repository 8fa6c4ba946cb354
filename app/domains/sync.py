"""The organization's domains as SCM knows them: which exist there and their DCV state.

Pre-validated domains (validated at SCM before, or outside, the broker) would otherwise stay
invisible to `GET /v1/domains` and to preflight until something was ordered. The sync reads
SCM's DCV list for the organization (`GET /dcv/v1/validation?org=`) and brings each domain
under the organization's allowed domains in line with it. It only writes what changed, so
running it again, concurrently with the API or from the inventory sync, is harmless.

It runs when an organization is created (or its SCM settings change), on
`POST /v1/organizations/{id}/domains/sync`, and in every inventory sync.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.names import covered_by, normalise
from app.db import utcnow
from app.domains.models import Domain, DomainStatus
from app.domains.service import ensure_domain, settle_waiting_certificates
from app.errors import Unprocessable
from app.issuers.scm.client import ScmClient
from app.issuers.scm.config import ScmBackendConfig
from app.jobs.handlers import JobContext, job_handler
from app.jobs.models import Job
from app.jobs.service import JobResult, PermanentJobError, enqueue_job
from app.organizations.models import Organization
from app.organizations.scm_access import scm_client_for

log = logging.getLogger("certbroker.domains")

SYNC_JOB = "domains.sync"
METHODS = {"CNAME": "cname", "HTTP": "http", "HTTPS": "https", "TXT": "txt", "EMAIL": "email"}


@dataclass
class DomainSyncReport:
    organization_id: str
    seen: int = 0  # SCM entries under the allowed domains
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    validated: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        # Prefixed: `created` and friends are LogRecord attributes a log's `extra` may not set.
        return {f"domains_{key}": value for key, value in asdict(self).items()}


def _day_end(day: dt.date | None) -> dt.datetime | None:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) if day else None


def _allowed(org: Organization, name: str) -> bool:
    return any(covered_by(name, allowed) for allowed in org.allowed_domains)


def _apply(domain: Domain, status: str | None, method: str | None, expires: dt.date | None) -> bool:
    """Bring one broker domain in line with SCM's DCV state; True when anything changed."""
    now = utcnow()
    expires_at = _day_end(expires)
    if status == "VALIDATED" and (expires_at is None or expires_at > now):
        target, new_method = DomainStatus.VALIDATED, METHODS.get((method or "").upper())
    elif status in ("VALIDATED", "EXPIRED"):
        target, new_method = DomainStatus.EXPIRED, domain.method
    elif domain.status in (DomainStatus.VALIDATED, DomainStatus.EXPIRED):
        target, new_method = DomainStatus.UNVALIDATED, domain.method  # SCM no longer has it
    else:
        return False  # unvalidated, being validated or failed here: the broker knows more
    before = (domain.status, domain.expires_at, domain.method)
    after = (target, expires_at, new_method or domain.method)
    if before == after:
        return False
    domain.status, domain.expires_at, domain.method = after
    if target is DomainStatus.VALIDATED:
        domain.validated_at = domain.validated_at or now
        domain.last_error = None
    domain.last_checked_at = now
    domain.updated_at = now
    return True


async def sync_domains(
    session: AsyncSession, org: Organization, config: ScmBackendConfig, client: ScmClient
) -> DomainSyncReport:
    """Read the organization's DCV state from SCM into its domains. Never commits."""
    report = DomainSyncReport(organization_id=org.id)
    seen: dict[str, tuple[str | None, str | None, dt.date | None]] = {}
    async for entry in client.list_validations(org_id=config.org_id):
        name = normalise(entry.domain)
        if name.startswith("*."):
            name = name[2:]  # SCM lists a wildcard apart; validating the base covers it
        if not _allowed(org, name) or (name in seen and seen[name][0] == "VALIDATED"):
            continue
        seen[name] = (entry.dcv_status, entry.dcv_method, entry.expiration_date)
    report.seen = len(seen)
    for name, (status, method, expires) in sorted(seen.items()):
        existing = await _existing(session, org, name)
        if existing is None and status not in ("VALIDATED", "EXPIRED"):
            continue  # nothing to show that a registration would not
        domain = existing or await ensure_domain(session, org, name)
        if existing is None:
            report.created.append(name)
        if _apply(domain, status, method, expires):
            session.add(domain)
            report.changed.append(name)
            if domain.status is DomainStatus.VALIDATED:
                report.validated.append(name)
                await settle_waiting_certificates(session, domain)
    await session.flush()
    return report


async def _existing(session: AsyncSession, org: Organization, name: str) -> Domain | None:
    row = await session.execute(
        select(Domain).where(
            Domain.tenant_id == org.tenant_id,
            Domain.organization_id == org.id,
            Domain.name == name,
        )
    )
    return row.scalar_one_or_none()


async def queue_domain_sync(session: AsyncSession, org: Organization) -> Job:
    """Stage a sync of one organization's domains; one active job per organization."""
    return await enqueue_job(
        session,
        SYNC_JOB,
        tenant_id=org.tenant_id,
        subject=("organization", org.id),
        payload={"organization_id": org.id},
        dedupe_key=f"{SYNC_JOB}:{org.id}",
        max_failures=5,
    )


async def request_domain_sync(session: AsyncSession, org: Organization) -> Job:
    if not org.scm:
        raise Unprocessable.field(
            "path.organization_id",
            "the organization has no SCM settings, where its domains are validated",
            "no_scm",
        )
    job = await queue_domain_sync(session, org)
    await session.flush()
    return job


@job_handler(SYNC_JOB)
async def run_domain_sync(ctx: JobContext) -> JobResult:
    org = await ctx.session.get(Organization, ctx.job.payload["organization_id"])
    if org is None or not org.scm:
        return JobResult(note="the organization is gone or has no SCM settings")
    try:
        config, client = scm_client_for(ctx.runtime, org)
    except ValueError as exc:
        raise PermanentJobError(f"SCM settings are invalid: {exc}") from None
    report = await sync_domains(ctx.session, org, config, client)
    log.info("domain sync of %s", org.name, extra=report.as_dict())
    return JobResult(
        note=f"{report.seen} domains at SCM, {len(report.changed)} changed, "
        f"{len(report.validated)} validated"
    )
