"""The validation job: the broker checks the requester's HTTP-01 or DNS-01 answer itself."""

from __future__ import annotations

import logging

from sqlalchemy import select

from app.acme_server import validation
from app.acme_server.authorizations import VALIDATE_JOB
from app.acme_server.models import (
    AcmeAccount,
    AcmeAuthorization,
    AcmeChallenge,
    AcmeOrder,
    AuthzStatus,
    ChallengeStatus,
    OrderStatus,
)
from app.acme_server.problems import problem_document, subproblem
from app.db import utcnow
from app.jobs.handlers import JobContext, job_handler
from app.jobs.service import JobResult

log = logging.getLogger("certbroker.acme_server")


@job_handler(VALIDATE_JOB)
async def validate_challenge(ctx: JobContext) -> JobResult:
    session = ctx.session
    challenge = await session.get(AcmeChallenge, ctx.job.subject_id, populate_existing=True)
    if challenge is None or challenge.status is not ChallengeStatus.PROCESSING:
        return JobResult.done()
    authz = await session.get(AcmeAuthorization, challenge.authorization_id)
    assert authz is not None
    account = await session.get(AcmeAccount, authz.account_id)
    order = await session.get(AcmeOrder, authz.order_id)
    assert account is not None and order is not None
    key_authorization = f"{challenge.token}.{account.thumbprint}"
    settings = ctx.runtime.settings.acme_server
    if challenge.type == "http-01":
        failure = await validation.check_http01(
            settings, ctx.runtime.egress, authz.name, challenge.token, key_authorization
        )
    else:
        failure = await validation.check_dns01(settings, authz.name, key_authorization)
    now = utcnow()
    if failure is None:
        challenge.status, challenge.validated_at = ChallengeStatus.VALID, now
        authz.status = AuthzStatus.VALID
        await session.flush()
        statuses = await session.execute(
            select(AcmeAuthorization.status).where(AcmeAuthorization.order_id == order.id)
        )
        if order.status is OrderStatus.PENDING and all(s is AuthzStatus.VALID for (s,) in statuses):
            order.status = OrderStatus.READY
    else:
        kind, reason = failure
        log.info("ACME %s for %s failed: %s", challenge.type, authz.name, reason)
        challenge.status = ChallengeStatus.INVALID
        challenge.error = problem_document(kind, reason)
        authz.status = AuthzStatus.INVALID
        if order.status is OrderStatus.PENDING:
            order.status = OrderStatus.INVALID
            order.error = problem_document(
                kind,
                f"{challenge.type} for {authz.name} failed",
                subproblems=[subproblem(kind, authz.name, reason)],
            )
    order.updated_at = now
    session.add_all([challenge, authz, order])
    return JobResult.done()
