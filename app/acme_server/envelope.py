"""One ACME request from body to answer: JWS, nonce, signer, then the action, then the headers.

Every POST goes through `handle`: content type, the organization's directory, the flattened
JWS and its header (url, nonce, kid xor jwk, algorithm), the signer (the account by `kid`, or
the key in `jwk`), then the action in one transaction. Every answer, problem or not, carries a
fresh `Replay-Nonce` and `Link: <directory>;rel="index"`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.acme_server import jws as jose
from app.acme_server import nonces
from app.acme_server.models import AccountStatus, AcmeAccount, AcmeCredential
from app.acme_server.problems import AcmeProblem
from app.db import session_scope
from app.http.rate_limit import buckets
from app.organizations.models import Organization
from app.outbox import STAGED_FLAG, nudge
from app.runtime import Runtime
from app.settings import Settings

log = logging.getLogger("certbroker.acme_server")

JOSE_JSON = "application/jose+json"
Signer = Literal["kid", "jwk", "either"]


@dataclass
class Directory:
    """URLs of one organization's directory, absolute from the public base URL."""

    base: str  # .../acme/{organization_id}

    @classmethod
    def of(cls, settings: Settings, org_id: str) -> Directory:
        return cls(f"{settings.public_base_url.rstrip('/')}/acme/{org_id}")

    def url(self, *parts: str) -> str:
        return "/".join((self.base, *parts))

    @property
    def index(self) -> str:
        return self.url("directory")


@dataclass
class AcmeRequest:
    session: AsyncSession
    runtime: Runtime
    org: Organization
    directory: Directory
    jws: jose.Jws
    url: str
    account: AcmeAccount | None = None  # the signer, when signed by `kid`
    credential: AcmeCredential | None = None  # the account's EAB credential

    @property
    def jwk(self) -> dict[str, Any] | None:
        return self.jws.protected.get("jwk")

    def require_account(self) -> AcmeAccount:
        if self.account is None:
            raise AcmeProblem("malformed", "this request must be signed by an account (kid)")
        return self.account


@dataclass
class AcmeAnswer:
    status: int = 200
    body: Any = None  # dict → JSON; str/bytes as is; None → empty
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str = "application/json"
    links: list[str] = field(default_factory=list)  # extra Link header values


Action = Callable[[AcmeRequest], Awaitable[AcmeAnswer]]


def request_url(request: Request, settings: Settings) -> str:
    return settings.public_base_url.rstrip("/") + request.url.path


async def fresh_nonce(runtime: Runtime) -> str:
    return await nonces.issue(runtime.redis, runtime.settings.acme_server.nonce_ttl_seconds)


async def finish(runtime: Runtime, directory: Directory | None, answer: AcmeAnswer) -> Response:
    headers = {**answer.headers, "Cache-Control": "no-store"}
    headers["Replay-Nonce"] = await fresh_nonce(runtime)
    links = list(answer.links)
    if directory is not None:
        links.append(f'<{directory.index}>;rel="index"')
    if links:
        headers["Link"] = ", ".join(links)
    if isinstance(answer.body, dict | list):
        content: bytes | str = json.dumps(answer.body)
    else:
        content = answer.body or b""
    return Response(content, answer.status, headers=headers, media_type=answer.media_type)


def problem_answer(problem: AcmeProblem) -> AcmeAnswer:
    headers = dict(problem.headers)
    return AcmeAnswer(
        problem.status, problem.document(), headers, media_type="application/problem+json"
    )


async def load_org(session: AsyncSession, org_id: str) -> Organization:
    org = await session.get(Organization, org_id) if len(org_id) <= 32 else None
    if org is None:
        raise AcmeProblem("malformed", f"no ACME directory for {org_id}", status=404)
    return org


async def handle(request: Request, org_id: str, action: Action, signer: Signer = "kid") -> Response:
    runtime: Runtime = request.app.state.runtime
    settings: Settings = request.app.state.settings
    directory = Directory.of(settings, org_id)
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != JOSE_JSON:
        problem = AcmeProblem("malformed", f"the body must be {JOSE_JSON}", status=415)
        return await finish(runtime, directory, problem_answer(problem))
    staged = False
    try:
        async with session_scope(runtime.sessions) as session:
            org = await load_org(session, org_id)
            ctx = await _authenticate(request, session, runtime, settings, org, directory, signer)
            await _within_budget(ctx)
            answer = await action(ctx)
            staged = bool(session.info.get(STAGED_FLAG))
    except AcmeProblem as problem:
        answer = problem_answer(problem)
    except Exception:
        log.exception("ACME request failed: %s %s", request.method, request.url.path)
        answer = problem_answer(AcmeProblem("serverInternal", "the server failed; try again"))
    if staged:
        await nudge(runtime.redis, runtime.settings.jobs.queue_name)
    return await finish(runtime, directory, answer)


async def _within_budget(ctx: AcmeRequest) -> None:
    """One bucket per EAB key (its accounts share it); requests signed by a bare key (newAccount,
    revocation by certificate key) share the organization's."""
    limit = ctx.runtime.settings.acme_server.requests_per_minute
    if limit <= 0:
        return
    owner = f"credential:{ctx.credential.id}" if ctx.credential else f"org:{ctx.org.id}"
    try:
        decision = await buckets(ctx.runtime).take(f"acme:{owner}", capacity=limit, period=60)
    except Exception as exc:  # Redis trouble: serve rather than refuse (as the /v1 limit does)
        log.warning("ACME rate limit not enforced: %s", type(exc).__name__)
        return
    if not decision.allowed:
        raise AcmeProblem(
            "rateLimited",
            f"more than {limit} requests a minute; retry in {decision.retry_after} s",
            headers=decision.headers,
        )


async def _authenticate(
    request: Request,
    session: AsyncSession,
    runtime: Runtime,
    settings: Settings,
    org: Organization,
    directory: Directory,
    signer: Signer,
) -> AcmeRequest:
    url = request_url(request, settings)
    parsed = jose.parse_jws(await request.body())
    jose.check_header(parsed, url=url)
    if not await nonces.consume(runtime.redis, parsed.protected["nonce"]):
        raise AcmeProblem("badNonce", "the nonce is unknown, expired or already used")
    ctx = AcmeRequest(session, runtime, org, directory, parsed, url)
    if "jwk" in parsed.protected:
        if signer == "kid":
            raise AcmeProblem("malformed", "this request must be signed by an account (kid)")
        jose.verify(parsed, jose.public_key(parsed.protected["jwk"]))
        return ctx
    if signer == "jwk":
        raise AcmeProblem("malformed", "this request must carry the key itself (jwk)")
    ctx.account, ctx.credential = await account_for_kid(session, org, directory, parsed)
    jose.verify(parsed, jose.public_key(ctx.account.jwk))
    return ctx


async def account_for_kid(
    session: AsyncSession, org: Organization, directory: Directory, parsed: jose.Jws
) -> tuple[AcmeAccount, AcmeCredential]:
    kid = parsed.protected.get("kid")
    prefix = directory.url("account", "")
    if not isinstance(kid, str) or not kid.startswith(prefix):
        raise AcmeProblem("accountDoesNotExist", "kid is not an account of this directory")
    account = await session.get(AcmeAccount, kid[len(prefix) :][:32])
    if account is None or account.organization_id != org.id:
        raise AcmeProblem("accountDoesNotExist", "kid is not an account of this directory")
    if account.status is not AccountStatus.VALID:
        raise AcmeProblem("unauthorized", f"the account is {account.status.value}")
    credential = await session.get(AcmeCredential, account.credential_id)
    if credential is None or credential.revoked_at is not None:
        raise AcmeProblem("unauthorized", "the account's external account binding was revoked")
    return account, credential
