"""Domain validation job: submit the DCV to SCM and follow it to validated, failed or expired."""

from __future__ import annotations

import datetime as dt

from app.db import utcnow
from app.domains.models import Domain, DomainValidation, ValidationStatus
from app.domains.service import (
    VALIDATE_JOB,
    mark_failed,
    mark_validated,
    settle_waiting_certificates,
)
from app.issuers.scm.dcv import DcvInstructions, DcvMethod
from app.issuers.scm.errors import ScmError, ScmValidationError
from app.jobs.handlers import JobContext, job_handler
from app.jobs.service import JobResult
from app.organizations.models import Organization
from app.organizations.scm_access import scm_client_for

FIRST_POLL = 0.5
MAX_POLL = 300.0
DOMAIN_EXISTS = -700


def instructions_json(instructions: DcvInstructions) -> dict:
    fields = {
        "host": instructions.host,
        "point": instructions.point,
        "url": instructions.url,
        "first_line": instructions.first_line,
        "second_line": instructions.second_line,
        "emails": instructions.emails or None,
    }
    return {"method": instructions.method.value, **{k: v for k, v in fields.items() if v}}


async def register_at_scm(client, domain: Domain, org_id: int) -> None:
    """DCV at SCM needs the domain to exist there, delegated to the organization."""
    if domain.scm_domain_id is not None:
        return
    try:
        domain.scm_domain_id = await client.create_domain(domain.name, org_id=org_id)
    except ScmValidationError as exc:
        if exc.code != DOMAIN_EXISTS:
            raise
        async for existing in client.list_domains(name=domain.name):
            if existing.name == domain.name:
                domain.scm_domain_id = existing.id
                break


@job_handler(VALIDATE_JOB)
async def follow_validation(ctx: JobContext) -> JobResult:
    session = ctx.session
    validation = await session.get(DomainValidation, ctx.job.payload["validation_id"])
    if validation is None or validation.status != ValidationStatus.SUBMITTED:
        return JobResult.done()
    domain = await session.get(Domain, validation.domain_id)
    org = await session.get(Organization, domain.organization_id) if domain else None
    assert domain is not None and org is not None
    config, client = scm_client_for(ctx.runtime, org)
    domain.last_checked_at = utcnow()
    session.add_all([domain, validation])
    try:
        await register_at_scm(client, domain, config.org_id)
        status = await client.dcv_status(domain.name)
        if status.validated and (
            status.expiration_date is None or status.expiration_date > dt.date.today()
        ):
            mark_validated(domain, validation, status.validation_date, status.expiration_date)
            await settle_waiting_certificates(session, domain)
            return JobResult.done()
        if not validation.submitted_at_ca:
            method = DcvMethod(validation.method)
            if method is not DcvMethod.TXT and not validation.instructions:
                started = await client.dcv_start(domain.name, method)
                validation.instructions = instructions_json(started)
            submitted = await client.dcv_submit(domain.name, method, email=validation.email)
            if submitted.instructions is not None:
                validation.instructions = instructions_json(submitted.instructions)
            validation.submitted_at_ca = True
            return JobResult.later(FIRST_POLL, "submitted to SCM")
    except ScmValidationError as exc:
        mark_failed(domain, validation, f"SCM refused the validation: {exc}")
        await settle_waiting_certificates(session, domain)
        return JobResult.done()
    except ScmError as exc:
        # Transient (timeouts, 5xx, rate limits): keep following, a little later.
        domain.last_error = str(exc)
        return JobResult.later(min(MAX_POLL, 5.0 * ctx.job.attempts))
    if utcnow() >= validation.give_up_at:
        mark_failed(domain, validation, "SCM did not validate the domain in time", expired=True)
        await settle_waiting_certificates(session, domain)
        return JobResult.done()
    return JobResult.later(min(MAX_POLL, FIRST_POLL * 1.5 ** min(ctx.job.attempts, 20)))
