"""Authorizations and challenges: read them, deactivate an authorization, answer a challenge.

Answering a challenge queues the broker's own check as a job; the client polls the
authorization (with `Retry-After`) until the job has set the outcome.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.acme_server.envelope import AcmeAnswer, AcmeRequest
from app.acme_server.models import (
    AcmeAuthorization,
    AcmeChallenge,
    AuthzStatus,
    ChallengeStatus,
)
from app.acme_server.orders import _rfc3339
from app.acme_server.problems import AcmeProblem
from app.jobs.service import enqueue_job

VALIDATE_JOB = "acme_server.validate"


def challenge_json(ctx: AcmeRequest, challenge: AcmeChallenge) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": challenge.type,
        "url": ctx.directory.url("chall", challenge.id),
        "status": challenge.status.value,
        "token": challenge.token,
    }
    if challenge.validated_at:
        body["validated"] = _rfc3339(challenge.validated_at)
    if challenge.error:
        body["error"] = challenge.error
    return body


async def _authz(ctx: AcmeRequest, authz_id: str) -> AcmeAuthorization:
    account = ctx.require_account()
    authz = await ctx.session.get(AcmeAuthorization, authz_id[:32])
    if authz is None or authz.account_id != account.id:
        raise AcmeProblem("malformed", "no such authorization for this account", status=404)
    return authz


async def _challenges(ctx: AcmeRequest, authz: AcmeAuthorization) -> list[AcmeChallenge]:
    rows = await ctx.session.execute(
        select(AcmeChallenge)
        .where(AcmeChallenge.authorization_id == authz.id)
        .order_by(AcmeChallenge.type.desc())  # type: ignore[attr-defined]
    )
    return list(rows.scalars())


def _polling(ctx: AcmeRequest, busy: bool) -> dict[str, str]:
    return (
        {"Retry-After": str(ctx.runtime.settings.acme_server.retry_after_seconds)} if busy else {}
    )


async def authorization_resource(ctx: AcmeRequest, authz_id: str) -> AcmeAnswer:
    authz = await _authz(ctx, authz_id)
    payload = ctx.jws.payload
    if isinstance(payload, dict) and payload.get("status") == "deactivated":
        if authz.status in (AuthzStatus.PENDING, AuthzStatus.VALID):
            authz.status = AuthzStatus.DEACTIVATED
            ctx.session.add(authz)
    elif payload is not None:
        raise AcmeProblem("malformed", "an authorization may only be deactivated")
    challenges = await _challenges(ctx, authz)
    body: dict[str, Any] = {
        "status": authz.status.value,
        "expires": _rfc3339(authz.expires),
        "identifier": {"type": "dns", "value": authz.name},
        "challenges": [challenge_json(ctx, c) for c in challenges],
    }
    if authz.wildcard:
        body["wildcard"] = True
    # Read in two statements, the authorization may predate the validation job's commit that
    # the challenges already show: a pending authorization with any challenge answered is
    # still being decided, and the client is told when to ask again.
    busy = authz.status is AuthzStatus.PENDING and any(
        c.status is not ChallengeStatus.PENDING for c in challenges
    )
    return AcmeAnswer(200, body, _polling(ctx, busy))


async def challenge_resource(ctx: AcmeRequest, challenge_id: str) -> AcmeAnswer:
    challenge = await ctx.session.get(AcmeChallenge, challenge_id[:32])
    if challenge is None:
        raise AcmeProblem("malformed", "no such challenge", status=404)
    authz = await _authz(ctx, challenge.authorization_id)
    # A payload of {} asks for validation; POST-as-GET only reads.
    if ctx.jws.payload is not None and challenge.status is ChallengeStatus.PENDING:
        if authz.status is not AuthzStatus.PENDING:
            raise AcmeProblem("malformed", f"the authorization is {authz.status.value}")
        challenge.status = ChallengeStatus.PROCESSING
        ctx.session.add(challenge)
        await enqueue_job(
            ctx.session,
            VALIDATE_JOB,
            tenant_id=ctx.org.tenant_id,
            subject=("acme_challenge", challenge.id),
            dedupe_key=f"{VALIDATE_JOB}:{challenge.id}",
            max_failures=3,
        )
    up = f'<{ctx.directory.url("authz", authz.id)}>;rel="up"'
    busy = challenge.status is ChallengeStatus.PROCESSING
    return AcmeAnswer(200, challenge_json(ctx, challenge), _polling(ctx, busy), links=[up])
