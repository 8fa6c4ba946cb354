"""/acme/{organization_id}/…: the broker's RFC 8555 directory per organization.

Not part of the /v1 JSON API (bodies are application/jose+json, answers ACME problem
documents), so kept out of the OpenAPI document; each route is classified in
tests/security/world.py.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response

from app.acme_server import accounts
from app.acme_server.envelope import (
    AcmeAnswer,
    Directory,
    finish,
    handle,
    load_org,
    problem_answer,
)
from app.acme_server.problems import AcmeProblem
from app.db import session_scope
from app.http.routing import GuardedRoute

router = APIRouter(
    prefix="/acme/{organization_id}", include_in_schema=False, route_class=GuardedRoute
)


@router.get("/directory")
async def directory(organization_id: str, request: Request) -> Response:
    runtime, settings = request.app.state.runtime, request.app.state.settings
    urls = Directory.of(settings, organization_id)
    try:
        async with session_scope(runtime.sessions) as session:
            await load_org(session, organization_id)
    except AcmeProblem as problem:
        return await finish(runtime, None, problem_answer(problem))
    meta: dict[str, object] = {"externalAccountRequired": True}
    if settings.acme_server.terms_of_service_url:
        meta["termsOfService"] = settings.acme_server.terms_of_service_url
    body = {
        "newNonce": urls.url("new-nonce"),
        "newAccount": urls.url("new-account"),
        "newOrder": urls.url("new-order"),
        "revokeCert": urls.url("revoke-cert"),
        "keyChange": urls.url("key-change"),
        "renewalInfo": urls.url("renewal-info"),
        "meta": meta,
    }
    return Response(
        json.dumps(body), media_type="application/json", headers={"Cache-Control": "max-age=60"}
    )


@router.api_route("/new-nonce", methods=["HEAD", "GET"])
async def new_nonce(organization_id: str, request: Request) -> Response:
    runtime = request.app.state.runtime
    urls = Directory.of(request.app.state.settings, organization_id)
    status = 200 if request.method == "HEAD" else 204
    return await finish(runtime, urls, AcmeAnswer(status))


@router.post("/new-account")
async def new_account(organization_id: str, request: Request) -> Response:
    return await handle(request, organization_id, accounts.new_account, signer="jwk")


@router.post("/account/{account_id}")
async def account(organization_id: str, account_id: str, request: Request) -> Response:
    return await handle(
        request, organization_id, lambda ctx: accounts.account_resource(ctx, account_id)
    )


@router.post("/key-change")
async def key_change(organization_id: str, request: Request) -> Response:
    return await handle(request, organization_id, accounts.key_change)
