"""Domain validation rules: which names still need DCV, starting it, and what a result does.

Validation at SCM covers the domain and everything under it, so the broker tracks the
organization's allowed (base) domains, not each certificate name. Never commits.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.names import covered_by, normalise
from app.certificates.models import Certificate, CertificateStatus
from app.certificates.service import transition
from app.db import utcnow
from app.domains.models import Domain, DomainStatus, DomainValidation, ValidationStatus
from app.errors import Conflict, NotFound, Unprocessable
from app.http.pages import DEFAULT_LIMIT, keyset_page
from app.jobs.service import enqueue_job
from app.organizations.models import Organization
from app.webhooks.lifecycle import domain_validation_ended

VALIDATE_JOB = "domain.validate"
METHODS = ("cname", "http", "https", "txt", "email")


def base_domain(org: Organization, name: str) -> str:
    """The longest allowed domain of `org` covering `name` (names were checked against them)."""
    covering = [d for d in org.allowed_domains if covered_by(name, d)]
    if not covering:
        raise Unprocessable.field("body.name", f"{name!r} is not under the organization's domains")
    return max(covering, key=len)


# Built once (every SCM order runs it): building the statement cost as much as running it.
_DOMAINS_NAMED = select(Domain).where(
    Domain.tenant_id == bindparam("tenant_id"),
    Domain.organization_id == bindparam("organization_id"),
    Domain.name.in_(bindparam("names", expanding=True)),  # type: ignore[attr-defined]
)


async def _domains_named(
    session: AsyncSession, org: Organization, names: set[str]
) -> dict[str, Domain]:
    rows = await session.execute(
        _DOMAINS_NAMED,
        {"tenant_id": org.tenant_id, "organization_id": org.id, "names": sorted(names)},
    )
    return {d.name: d for d in rows.scalars()}


async def unvalidated_names(
    session: AsyncSession, org: Organization, names: list[str]
) -> list[str]:
    """The base domains of `names` that are not validated (or whose validation expired)."""
    bases = {base_domain(org, name) for name in names}
    known = await _domains_named(session, org, bases)
    now = utcnow()
    return sorted(b for b in bases if b not in known or not known[b].is_valid(now))


async def ensure_domain(session: AsyncSession, org: Organization, name: str) -> Domain:
    name = normalise(name)
    existing = (await _domains_named(session, org, {name})).get(name)
    if existing is not None:
        return existing
    domain = Domain(tenant_id=org.tenant_id, organization_id=org.id, name=name)
    try:
        async with session.begin_nested():
            session.add(domain)
            await session.flush()
    except IntegrityError:
        # Registered meanwhile (the API, an order or the SCM domain sync): use that one.
        existing = (await _domains_named(session, org, {name})).get(name)
        if existing is None:
            raise
        return existing
    return domain


async def get_domain(session: AsyncSession, domain_id: str, tenant_id: str) -> Domain:
    domain = await session.get(Domain, domain_id)
    if domain is None or domain.tenant_id != tenant_id:
        raise NotFound(f"domain {domain_id} not found")
    return domain


async def list_domains(
    session: AsyncSession,
    tenant_id: str,
    *,
    organization_id: str | None = None,
    status: DomainStatus | None = None,
    name: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> tuple[list[Domain], str | None]:
    query = select(Domain).where(Domain.tenant_id == tenant_id)
    if organization_id:
        query = query.where(Domain.organization_id == organization_id)
    if status is not None:
        query = query.where(Domain.status == status)
    if name:
        needle = normalise(name)
        query = query.where(
            or_(Domain.name == needle, Domain.name.endswith("." + needle, autoescape=True))  # type: ignore[attr-defined]
        )
    return await keyset_page(
        session, query, key=Domain.name, id_column=Domain.id, cursor=cursor, limit=limit
    )


async def latest_validation(session: AsyncSession, domain: Domain) -> DomainValidation | None:
    rows = await session.execute(
        select(DomainValidation)
        .where(DomainValidation.domain_id == domain.id)
        .order_by(DomainValidation.started_at.desc())  # type: ignore[attr-defined]
        .limit(1)
    )
    return rows.scalar_one_or_none()


async def begin_validation(
    session: AsyncSession,
    domain: Domain,
    method: str,
    *,
    email: str | None = None,
    instructions: dict | None = None,
) -> DomainValidation:
    """Record a validation and have the worker submit it to SCM and follow it."""
    validation = DomainValidation(
        tenant_id=domain.tenant_id,
        domain_id=domain.id,
        method=method,
        email=email,
        instructions=instructions or {},
        status=ValidationStatus.AWAITING_EMAIL
        if method == "email" and not email
        else ValidationStatus.SUBMITTED,
    )
    session.add(validation)
    await session.flush()
    domain.status = DomainStatus.VALIDATING
    domain.method = method
    domain.last_error = None
    domain.updated_at = utcnow()
    session.add(domain)
    if validation.status == ValidationStatus.SUBMITTED:
        job = await enqueue_job(
            session,
            VALIDATE_JOB,
            tenant_id=domain.tenant_id,
            subject=("domain", domain.id),
            payload={"validation_id": validation.id},
            dedupe_key=f"{VALIDATE_JOB}:{validation.id}",
        )
        validation.job_id = job.id
    return validation


async def start_validation_for_order(
    session: AsyncSession, cert: Certificate, org: Organization, bases: list[str]
) -> None:
    """Validate each base domain the order waits for; the certificate's `job_id` becomes the
    first validation's job (the one its answer can be followed by)."""
    method = ((org.scm or {}).get("dcv_mode") or "CNAME").lower()
    email = (org.scm or {}).get("dcv_email")
    jobs: list[str | None] = []
    for base in bases:
        domain = await ensure_domain(session, org, base)
        current = await latest_validation(session, domain)
        if domain.status == DomainStatus.VALIDATING and current is not None:
            jobs.append(current.job_id)  # already being validated; the order waits for it
            continue
        jobs.append((await begin_validation(session, domain, method, email=email)).job_id)
    cert.job_id = next((job for job in jobs if job), cert.job_id)


def mark_validated(
    domain: Domain, validation: DomainValidation, validated: dt.date | None, expires: dt.date | None
) -> None:
    now = utcnow()
    domain.status = DomainStatus.VALIDATED
    domain.validated_at = _at(validated) or now
    domain.expires_at = _at(expires)
    domain.last_error = None
    domain.updated_at = now
    validation.status = ValidationStatus.VALIDATED
    validation.completed_at = now
    domain_validation_ended(domain, validation)


def mark_failed(
    domain: Domain, validation: DomainValidation, reason: str, *, expired: bool = False
) -> None:
    now = utcnow()
    domain.status = DomainStatus.EXPIRED if expired else DomainStatus.FAILED
    domain.last_error = reason
    domain.updated_at = now
    validation.status = ValidationStatus.EXPIRED if expired else ValidationStatus.FAILED
    validation.error = reason
    validation.completed_at = now
    domain_validation_ended(domain, validation)


def _at(day: dt.date | None) -> dt.datetime | None:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) if day else None


async def waiting_certificates(session: AsyncSession, domain: Domain) -> list[Certificate]:
    rows = await session.execute(
        select(Certificate).where(
            Certificate.tenant_id == domain.tenant_id,
            Certificate.organization_id == domain.organization_id,
            Certificate.status == CertificateStatus.PENDING_VALIDATION,
        )
    )
    return [c for c in rows.scalars() if any(covered_by(n, domain.name) for n in c.names)]


async def settle_waiting_certificates(session: AsyncSession, domain: Domain) -> None:
    """After a domain's validation ended: submit orders now fully validated, fail the others
    that depended on a failed domain."""
    from app.certificates.ordering import queue_issuance

    org = await session.get(Organization, domain.organization_id)
    assert org is not None
    for cert in await waiting_certificates(session, domain):
        if domain.status != DomainStatus.VALIDATED:
            transition(
                session,
                cert,
                CertificateStatus.FAILED,
                "certbroker",
                f"domain validation of {domain.name} {domain.status}: {domain.last_error}",
            )
            continue
        if not await unvalidated_names(session, org, cert.names):
            await queue_issuance(session, cert, "certbroker")


async def release_stranded_orders(
    session: AsyncSession, now: dt.datetime | None = None, settle_seconds: float = 5.0
) -> int:
    """Move on orders a race left in pending_validation. Caller commits; returns how many.

    An order whose transaction commits just after its domain's validation ended (and released
    the orders it could see) would otherwise wait forever. Every few seconds the reconciler
    looks at orders that have waited `settle_seconds` (the normal path has had its turn) but
    not more than an hour (older ones were looked at long ago): fully validated now → submitted;
    a domain they need has failed or expired and none is running → failed, as
    `settle_waiting_certificates` would have done.
    """
    from app.certificates.ordering import queue_issuance

    now = now or utcnow()
    query = (
        select(Certificate)
        .where(
            Certificate.status == CertificateStatus.PENDING_VALIDATION,
            Certificate.updated_at < now - dt.timedelta(seconds=settle_seconds),
            Certificate.updated_at > now - dt.timedelta(hours=1),
        )
        .order_by(Certificate.updated_at)
        .limit(200)
    )
    if session.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
        query = query.with_for_update(skip_locked=True)  # several workers sweep side by side
    released = 0
    for cert in (await session.execute(query)).scalars().all():
        org = await session.get(Organization, cert.organization_id)
        if org is None:
            continue
        pending = await unvalidated_names(session, org, cert.names)
        if not pending:
            await queue_issuance(session, cert, "certbroker")
            released += 1
            continue
        known = await _domains_named(session, org, set(pending))
        ended = [
            d for d in known.values() if d.status in (DomainStatus.FAILED, DomainStatus.EXPIRED)
        ]
        if ended:
            domain = ended[0]
            transition(
                session,
                cert,
                CertificateStatus.FAILED,
                "certbroker",
                f"domain validation of {domain.name} {domain.status}: {domain.last_error}",
            )
            released += 1
    return released


async def remove_organization_domains(session: AsyncSession, org_id: str) -> None:
    """Delete an organization's domains and their validation history, as part of deleting the
    organization. A validation still running at the CA blocks it (409): its job would lose the
    row it reports to."""
    domain_ids = select(Domain.id).where(Domain.organization_id == org_id)
    running = await session.execute(
        select(func.count())
        .select_from(DomainValidation)
        .where(
            DomainValidation.domain_id.in_(domain_ids),
            DomainValidation.status.in_(
                [ValidationStatus.SUBMITTED, ValidationStatus.AWAITING_EMAIL]
            ),
        )
    )
    if count := running.scalar_one():
        raise Conflict(
            f"{count} domain validation(s) of this organization are still running; delete it "
            "once they have ended"
        )
    await session.execute(
        delete(DomainValidation).where(DomainValidation.domain_id.in_(domain_ids))
    )
    await session.execute(delete(Domain).where(Domain.organization_id == org_id))
