"""Certificate jobs: drive an issuance through its backend step by step, and revoke."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from cryptography import x509
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.acme_state.store import (
    TokenChanges,
    token_delete,
    token_upsert,
    tokens_with_checkpoint,
)
from app.catalog.products import Backend
from app.certificates.models import Certificate, CertificateStatus
from app.certificates.service import transition
from app.db import AUTOCOMMIT, autocommit, utcnow
from app.db_rows import execute_with
from app.issuers.base import Checkpoint, IssuedCertificate, Issuer, IssueRequest, StepOutcome
from app.jobs.handlers import JobContext, job_handler
from app.jobs.service import JobResult, PermanentJobError, with_outcome
from app.lifecycle.renewal import on_certificate_issued
from app.organizations.models import Organization
from app.organizations.scm_access import scm_client_for
from app.organizations.service import acme_backend_config, scm_backend_config
from app.runtime import Runtime

log = logging.getLogger("certbroker.issuance")

CERTIFICATES = Certificate.__table__  # type: ignore[attr-defined]
ISSUE_JOB = "certificate.issue"
REVOKE_JOB = "certificate.revoke"
# Steps a single job execution may chain when the backend asks to continue at once; each
# step's state is committed before the next, so a crash anywhere resumes from the last one.
STEP_BUDGET_SECONDS = 20.0
INLINE_WAIT_LIMIT = 1.0


def backend_config(org: Organization, cert: Certificate, runtime: Runtime) -> dict:
    if cert.backend == Backend.ACME.value:
        config = acme_backend_config(org, runtime.secretbox)
        if runtime.settings.acme_http01_webroot:
            config["webroot"] = runtime.settings.acme_http01_webroot
        return config
    config = scm_backend_config(org, runtime.secretbox)
    if cert.backend_state.get("broker_approved"):
        config["approve_at_ca"] = True
    return config


async def ensure_eab(ctx: JobContext, org: Organization) -> None:
    """For organizations set to "fetch EAB from SCM": obtain the kid and HMAC key of the
    organization's ACME account in SCM once, and keep them (the key encrypted) on the org."""
    acme = org.acme or {}
    if not acme.get("eab_from_scm") or (acme.get("eab_kid") and org.acme_eab_secret):
        return
    config, client = scm_client_for(ctx.runtime, org)
    server = acme.get("scm_acme_server") or acme["directory_url"]
    credentials = await client.eab_credentials(config.org_id, server)
    org.acme = {**acme, "eab_kid": credentials.kid}
    org.acme_eab_secret = ctx.runtime.secretbox.encrypt(
        credentials.hmac_key.get_secret_value(), context=f"org:{org.id}:acme"
    )
    ctx.session.add(org)
    await ctx.session.commit()


@job_handler(ISSUE_JOB)
async def issue_certificate(ctx: JobContext) -> JobResult:
    session, runtime = ctx.session, ctx.runtime
    await autocommit(session)  # one read; the checkpoints and the outcome open their own
    row = (
        await session.execute(
            select(Certificate, Organization)
            .join(Organization, Organization.id == Certificate.organization_id)  # type: ignore[arg-type]
            .where(Certificate.id == ctx.job.subject_id)
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    await session.commit()
    if row is None or row[0].status != CertificateStatus.SUBMITTED:
        return JobResult.done()  # already finished, or moved on by someone else
    cert, org = row
    if cert.backend == Backend.ACME.value:
        await ensure_eab(ctx, org)
    issuer = runtime.issuers.get(cert.backend)
    config = backend_config(org, cert, runtime)  # decrypted once per execution, not per step

    async def checkpoint(_request: IssueRequest, state: dict[str, Any]) -> None:
        # The backend's state must be durable before its next CA call: one UPDATE of the
        # certificate, committed on its own (a Core statement: no unit of work to flush), and
        # with it the HTTP-01 responses published since the last one (on PostgreSQL in the
        # same statement).
        connection = await session.connection(execution_options=AUTOCOMMIT)
        stmt = update(CERTIFICATES).where(CERTIFICATES.c.id == cert.id).values(backend_state=state)
        published = (
            [token_upsert(connection.dialect.name, tokens.published)] if tokens.published else []
        )
        await execute_with(connection, stmt, published)
        tokens.published.clear()
        set_committed_value(cert, "backend_state", state)
        await session.commit()  # anything else pending (nothing, today), and the connection back

    with tokens_with_checkpoint() as tokens:
        return await _issue_steps(ctx, cert, issuer, config, checkpoint, tokens)


async def _issue_steps(
    ctx: JobContext,
    cert: Certificate,
    issuer: Issuer,
    config: dict[str, Any],
    checkpoint: Checkpoint,
    tokens: TokenChanges,
) -> JobResult:
    session = ctx.session
    started = time.monotonic()
    while True:
        request = IssueRequest(
            request_id=cert.id,
            csr_pem=cert.csr_pem,
            common_name=cert.common_name,
            sans=list(cert.names),
            product=cert.product,
            term_days=cert.term_days,
            backend_config=config,
            comments=cert.comments,
            state=dict(cert.backend_state),
            checkpoint=checkpoint,
        )
        result = await issuer.advance(request)
        if tokens.published or (tokens.removed and result.outcome is StepOutcome.PENDING):
            # Published without a checkpoint after it (never so today, but still served), or
            # removed by a step that goes on: done now.
            connection = await session.connection(execution_options=AUTOCOMMIT)
            if tokens.published:
                await connection.execute(token_upsert(connection.dialect.name, tokens.published))
            if tokens.removed:
                await connection.execute(token_delete(tokens.removed))
            tokens.published.clear()
            tokens.removed.clear()
            await session.commit()
        if tokens.removed:  # the order is over: the responses go with its outcome
            with_outcome(session, token_delete(list(tokens.removed)))
            tokens.removed.clear()
        cert.backend_state = result.state
        if result.detail and result.detail != cert.detail.get("backend"):
            cert.detail = {**cert.detail, "backend": result.detail}
        session.add(cert)
        if result.outcome is StepOutcome.ISSUED:
            assert result.certificate is not None
            await mark_issued(ctx, cert, result.certificate)
            return JobResult.done()
        if result.outcome is StepOutcome.FAILED:
            transition(
                session, cert, CertificateStatus.FAILED, cert.backend, result.reason or "failed"
            )
            return JobResult.done()
        wait = result.retry_after or 0.0
        if wait > INLINE_WAIT_LIMIT or time.monotonic() - started > STEP_BUDGET_SECONDS:
            return JobResult.later(max(wait, 0.2), result.reason)
        # Commit this step's state before taking the next one.
        await session.commit()
        if wait:
            await asyncio.sleep(wait)


async def mark_issued(ctx: JobContext, cert: Certificate, issued: IssuedCertificate) -> None:
    leaf = x509.load_pem_x509_certificate(issued.leaf_pem.encode())
    cert.leaf_pem = issued.leaf_pem
    cert.chain_pem = "".join(p if p.endswith("\n") else p + "\n" for p in issued.chain_pems)
    cert.serial = issued.serial_hex
    cert.not_before = issued.not_before
    cert.not_after = issued.not_after
    cert.issuer_dn = leaf.issuer.rfc4514_string()
    cert.backend_ref = issued.backend_ref
    cert.issued_at = utcnow()
    transition(
        ctx.session,
        cert,
        CertificateStatus.ISSUED,
        cert.backend,
        f"issued: serial {issued.serial_hex}, valid until {issued.not_after:%Y-%m-%d}",
        {"serial": issued.serial_hex},
    )
    if cert.renewal_of:
        previous = await ctx.session.get(Certificate, cert.renewal_of)
        if previous is not None and previous.status == CertificateStatus.ISSUED:
            previous.superseded_by = cert.id
            transition(
                ctx.session,
                previous,
                CertificateStatus.SUPERSEDED,
                "certbroker",
                f"superseded by renewal {cert.id}",
            )
    await on_certificate_issued(ctx.session, cert, ctx.runtime.settings.lifecycle)


@job_handler(REVOKE_JOB)
async def revoke_certificate(ctx: JobContext) -> JobResult:
    session, runtime = ctx.session, ctx.runtime
    cert = await session.get(Certificate, ctx.job.subject_id, populate_existing=True)
    if cert is None or cert.status == CertificateStatus.REVOKED:
        return JobResult.done()
    if cert.leaf_pem is None or cert.backend_ref is None:
        raise PermanentJobError("only issued certificates can be revoked")
    org = await session.get(Organization, cert.organization_id)
    assert org is not None
    reason = int(ctx.job.payload.get("reason", 0))
    issuer = runtime.issuers.get(cert.backend)
    await issuer.revoke(backend_config(org, cert, runtime), cert.leaf_pem, cert.backend_ref, reason)
    cert.revoked_at = utcnow()
    cert.revocation_reason = reason
    transition(
        session,
        cert,
        CertificateStatus.REVOKED,
        ctx.job.payload.get("actor", "certbroker"),
        f"revoked at the CA (reason {reason})"
        + (f": {ctx.job.payload['comment']}" if ctx.job.payload.get("comment") else ""),
    )
    return JobResult.done()
