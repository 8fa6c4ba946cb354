"""Ordering: every check before anything is queued, then the first state and the first job.

The checks run in a fixed order and collect every problem, so one 422 names all the fields a
caller must fix. Pure policy lives in app/catalog; this module adds what needs the database
(the organization, domain validation, idempotency) and the CSR or the generated key.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from app import db_rows
from app.approvals.models import Approval
from app.auth.principal import Principal
from app.catalog import policy
from app.catalog.names import normalise
from app.catalog.products import RSA_ONLY, Backend, KeyType, Product, get_product
from app.certificates.delegation_check import (
    delegation_config,
    delegation_problems,
    dns01_problems,
    needs_delegation_check,
)
from app.certificates.idempotency import claim_key, replay_idempotent, request_hash
from app.certificates.models import (
    Certificate,
    CertificateEvent,
    CertificateStatus,
    labels_text,
    names_text,
)
from app.certificates.schemas import CertificateCreate
from app.certificates.service import transition
from app.crypto.csr import CsrError, ParsedCsr, build_csr, parse_csr
from app.crypto.keys import generate_key, private_key_pem
from app.crypto.secretbox import SecretBox
from app.db import new_id
from app.db_rows import insert_now, new_row
from app.dns.tenant_slots import tenant_slots
from app.domains.service import start_validation_for_order, unvalidated_names
from app.errors import Unprocessable
from app.jobs.models import Job
from app.jobs.service import enqueue_job
from app.organizations.cache import organization_for_order
from app.organizations.models import Organization
from app.organizations.service import org_policy
from app.outbox import OutboxMessage
from app.runtime import Runtime
from app.webhooks.events import settle_unsubscribed

ISSUE_JOB = "certificate.issue"
# The rows an order writes in one go (see request_certificate).
ORDER_ROWS = (Certificate, CertificateEvent, Job, OutboxMessage, Approval)


@dataclass
class OrderPlan:
    """What an order would do, or why it cannot be placed."""

    problems: list[policy.FieldProblem] = field(default_factory=list)
    org: Organization | None = None
    product: Product | None = None
    names: list[str] = field(default_factory=list)
    term_days: int | None = None
    backend: Backend | None = None
    approval_required: bool | None = None
    needs_validation: list[str] = field(default_factory=list)
    csr: ParsedCsr | None = None
    key_type: KeyType | None = None


def requested_names(body: CertificateCreate) -> list[str]:
    """Every name, normalised, the common name first; a repeat is kept for the policy to name."""
    return [normalise(raw) for raw in [body.common_name, *body.sans]]


async def plan_order(
    session: AsyncSession,
    tenant_id: str,
    body: CertificateCreate,
    runtime: Runtime | None = None,
) -> OrderPlan:
    """Run every check; `runtime` enables those that need the network (DNS delegation)."""
    plan = OrderPlan(names=requested_names(body))
    plan.org = await organization_for_order(session, body.organization_id, tenant_id)
    org_rules = org_policy(plan.org)
    plan.product = get_product(body.product)
    plan.problems += policy.check_product(plan.product, body.product, org_rules)
    if plan.product is None:
        return plan
    plan.problems += policy.check_names(plan.product, plan.names, org_rules)
    plan.term_days, term_problems = policy.choose_term(plan.product, body.term_days, org_rules)
    plan.problems += term_problems
    plan.backend = policy.route(plan.product, org_rules)
    plan.approval_required = policy.approval_required(plan.product, org_rules)
    backend_settings = plan.org.acme if plan.backend is Backend.ACME else plan.org.scm
    if not backend_settings:
        plan.problems.append(
            policy.FieldProblem(
                "body.organization_id",
                f"organization {plan.org.name!r} has no {plan.backend.value.upper()} settings,"
                f" needed for {plan.product.name}",
                "backend",
            )
        )
    if body.csr is not None and body.key is not None:
        plan.problems.append(policy.FieldProblem("body.key", "give a CSR or a key spec, not both"))
    elif body.csr is not None:
        _check_csr(plan, body.csr)
    else:
        plan.key_type = body.key.type if body.key else KeyType.EC_P256
        plan.problems += policy.check_key_type(plan.product, plan.key_type, "body.key.type")
    if plan.backend is Backend.ACME and runtime is not None and not plan.problems:
        plan.problems += await _delegation_problems(session, plan.org, plan.names, runtime)
    if plan.backend is Backend.SCM and not plan.problems:
        plan.needs_validation = await unvalidated_names(session, plan.org, plan.names)
        if plan.needs_validation and plan.org.unvalidated_domains == "fail":
            plan.problems.append(
                policy.FieldProblem(
                    "body.sans" if len(plan.names) > 1 else "body.common_name",
                    "not yet validated for this organization: "
                    + ", ".join(plan.needs_validation)
                    + " (validate them with POST /v1/domains/{id}/validations first)",
                    "domain_not_validated",
                )
            )
    return plan


async def _delegation_problems(
    session: AsyncSession, org: Organization, names: list[str], runtime: Runtime
) -> list[policy.FieldProblem]:
    """The CNAME check of a delegated organization: DNS the tenant points at, so no database
    connection is held meanwhile (nothing is written before it), it is bounded in time, and a
    tenant runs only a few at once."""
    if not needs_delegation_check(org, names):
        return dns01_problems(org, names)
    box = runtime.secretbox
    config = delegation_config(org, box)
    await session.commit()  # ends the read-only transaction: its connection goes back
    bound = runtime.settings.dns.check_timeout_seconds
    async with tenant_slots(runtime).slot(org.tenant_id):
        try:
            async with asyncio.timeout(bound):
                return await delegation_problems(org, names, runtime.dns_providers, config)
        except TimeoutError:
            return [
                policy.FieldProblem(
                    "body.organization_id",
                    f"the CNAME check did not finish within {bound:g}s (resolver slow or"
                    " unreachable)",
                    "dns",
                )
            ]


def _check_csr(plan: OrderPlan, pem: str) -> None:
    assert plan.product is not None
    try:
        plan.csr = parse_csr(pem)
    except CsrError as exc:
        plan.problems.append(policy.FieldProblem("body.csr", str(exc), "csr"))
        return
    plan.key_type = plan.csr.key_type
    plan.problems += policy.check_key_type(plan.product, plan.key_type, "body.csr")
    if plan.csr.all_names != set(plan.names):
        csr_names = ", ".join(sorted(plan.csr.all_names)) or "none"
        plan.problems.append(
            policy.FieldProblem(
                "body.csr",
                f"the CSR names {csr_names}, but the request names {', '.join(sorted(plan.names))}",
                "csr_names",
            )
        )


def raise_problems(problems: list[policy.FieldProblem]) -> None:
    if not problems:
        return
    raise Unprocessable(
        "; ".join(f"{p.field}: {p.message}" for p in problems),
        errors=[
            {"loc": p.field.split("."), "field": p.field, "msg": p.message, "type": p.kind}
            for p in problems
        ],
    )


async def request_certificate(
    session: AsyncSession,
    runtime: Runtime,
    principal: Principal,
    body: CertificateCreate,
    idempotency_key: str | None = None,
    *,
    insert_later: bool = False,
) -> tuple[Certificate, bool]:
    """Place an order. Returns the certificate and whether it was created now (False when an
    Idempotency-Key replayed an earlier order).

    `insert_later=True` leaves the order's rows to the session's next statement (see
    app.db_rows.insert_later), for a caller that writes one more row and touches the returned
    objects no more (the API, whose audit row shares the statement)."""
    cert_id = new_id()
    digest = request_hash(body) if idempotency_key else ""
    # A replay answers the first order without checking again; a new key is claimed only
    # after the checks, which may release the session's connection for DNS work.
    if idempotency_key:
        earlier = await replay_idempotent(session, principal.tenant_id, idempotency_key, digest)
        if earlier is not None:
            return earlier, False
    plan = await plan_order(session, principal.tenant_id, body, runtime)
    raise_problems(plan.problems)
    if idempotency_key:
        earlier = await claim_key(session, principal.tenant_id, idempotency_key, digest, cert_id)
        if earlier is not None:
            return earlier, False
    assert plan.org and plan.product and plan.backend and plan.term_days and plan.key_type
    # Read outside a transaction so far (db.reads_alone)? Only if the order's rows will be its
    # one write: no domain validation to start, no webhook deliveries to stage.
    if plan.needs_validation or not settle_unsubscribed(session, principal.tenant_id):
        await db_rows.need_transaction(session)
    cert = new_row(
        Certificate,
        id=cert_id,
        tenant_id=principal.tenant_id,
        organization_id=plan.org.id,
        product=plan.product.code,
        validation_level=plan.product.validation_level.value,
        backend=plan.backend.value,
        common_name=plan.names[0],
        names=plan.names,
        names_text=names_text(plan.names),
        term_days=plan.term_days,
        server_type=body.server_type,
        comments=body.comments,
        labels=body.labels,
        labels_text=labels_text(body.labels),
        auto_renew=body.auto_renew,
        renew_before_days=body.renew_before_days,
        key_type=plan.key_type.value,
        key_source="csr" if plan.csr else "generated",
        csr_pem="",
        public_key_sha256="",
        requested_by=principal.subject,
        status=CertificateStatus.SUBMITTED,
    )
    if plan.csr:
        cert.csr_pem, cert.public_key_sha256 = plan.csr.pem, plan.csr.public_key_sha256
    else:
        await _generate_key(cert, plan.key_type, runtime.secretbox)
    # The first event lands the certificate in its first real status, so the history never
    # shows a step it did not take.
    requested = (
        f"requested {plan.product.name} for {', '.join(plan.names)} via {plan.backend.value}"
    )
    if plan.approval_required:
        cert.status = CertificateStatus.PENDING_APPROVAL
        message = (
            f"{requested}; waiting for a {cert.validation_level} approver of {plan.org.name!r}"
        )
    elif plan.needs_validation:
        cert.status = CertificateStatus.PENDING_VALIDATION
        message = (
            f"{requested}; waiting for domain validation of {', '.join(plan.needs_validation)}"
        )
        # Inserted first and alone: the validation's lookups flush what is pending, and the
        # unit of work would not order the certificate before the rows that refer to it.
        await insert_now(session, [cert])
    else:
        cert.status = CertificateStatus.SUBMITTED
        message = f"{requested}; submitted to {cert.backend}"
    transition(session, cert, None, principal.subject, message).from_status = None
    # Opening the approval and queueing the issuance add rows without a query (so nothing is
    # flushed before insert_now below puts them in order).
    if plan.approval_required:
        from app.approvals.service import open_approval

        await open_approval(session, cert, plan.org, principal.subject)
    elif plan.needs_validation:
        await start_validation_for_order(session, cert, plan.org, plan.needs_validation)
    else:
        await _enqueue_issuance(session, cert, new=True)
    # The order's rows, the certificate with its final status and job, at once (on PostgreSQL in
    # one statement); what else the request adds (webhook events, the audit row) flushes later.
    rows = [row for row in session.new if isinstance(row, ORDER_ROWS)]
    if insert_later:
        db_rows.insert_later(session, rows)
    else:
        await insert_now(session, rows)
    return cert, True


async def _generate_key(cert: Certificate, key_type: KeyType, box: SecretBox) -> None:
    # RSA 4096 takes a second or more: keep it off the event loop. An EC key takes tens of
    # microseconds, less than the hand-off to a thread.
    if key_type in RSA_ONLY:
        key = await asyncio.to_thread(generate_key, key_type)
    else:
        key = generate_key(key_type)
    csr = parse_csr(build_csr(key, cert.names))
    cert.csr_pem, cert.public_key_sha256 = csr.pem, csr.public_key_sha256
    cert.private_key = box.encrypt(private_key_pem(key), context=f"certificate:{cert.id}")


async def submit_for_issuance(
    session: AsyncSession,
    cert: Certificate,
    org: Organization,
    actor: str,
    *,
    approved: bool = False,
) -> None:
    """Move an accepted (and approved, where needed) order on: to domain validation when SCM
    still needs it, else to the CA."""
    if approved and cert.backend == Backend.SCM.value:
        cert.backend_state = {**cert.backend_state, "broker_approved": True}
    if cert.backend == Backend.SCM.value:
        pending = await unvalidated_names(session, org, cert.names)
        if pending:
            transition(
                session,
                cert,
                CertificateStatus.PENDING_VALIDATION,
                "certbroker",
                "waiting for domain validation of " + ", ".join(pending),
            )
            await start_validation_for_order(session, cert, org, pending)
            return
    await queue_issuance(session, cert, actor)


async def queue_issuance(session: AsyncSession, cert: Certificate, actor: str) -> None:
    transition(session, cert, CertificateStatus.SUBMITTED, actor, f"submitted to {cert.backend}")
    await _enqueue_issuance(session, cert)


async def _enqueue_issuance(session: AsyncSession, cert: Certificate, new: bool = False) -> None:
    job = await enqueue_job(
        session,
        ISSUE_JOB,
        tenant_id=cert.tenant_id,
        subject=("certificate", cert.id),
        dedupe_key=f"{ISSUE_JOB}:{cert.id}",
        new_subject=new,
    )
    cert.job_id = job.id
