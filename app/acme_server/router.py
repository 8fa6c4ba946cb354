"""/acme/{organization_id}/…: the broker's RFC 8555 directory per organization.

Not part of the /v1 JSON API (bodies are application/jose+json, answers ACME problem
documents), so kept out of the OpenAPI document; each route is classified in
tests/security/world.py.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response

from app.acme_server import accounts, ari, authorizations, orders, revocations
from app.acme_server.envelope import (
    AcmeAnswer,
    Directory,
    finish,
    handle,
    load_org,
    problem_answer,
)
from app.acme_server.problems import AcmeProblem
from app.certificates.models import Certificate
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


@router.post("/revoke-cert")
async def revoke_cert(organization_id: str, request: Request) -> Response:
    return await handle(request, organization_id, revocations.revoke_certificate, signer="either")


@router.post("/account/{account_id}/orders")
async def account_orders(organization_id: str, account_id: str, request: Request) -> Response:
    return await handle(request, organization_id, lambda ctx: orders.list_orders(ctx, account_id))


@router.post("/new-order")
async def new_order(organization_id: str, request: Request) -> Response:
    return await handle(request, organization_id, orders.new_order)


@router.post("/order/{order_id}")
async def order(organization_id: str, order_id: str, request: Request) -> Response:
    return await handle(request, organization_id, lambda ctx: orders.order_resource(ctx, order_id))


@router.post("/order/{order_id}/finalize")
async def finalize(organization_id: str, order_id: str, request: Request) -> Response:
    return await handle(request, organization_id, lambda ctx: orders.finalize(ctx, order_id))


@router.post("/authz/{authz_id}")
async def authorization(organization_id: str, authz_id: str, request: Request) -> Response:
    return await handle(
        request,
        organization_id,
        lambda ctx: authorizations.authorization_resource(ctx, authz_id),
    )


@router.post("/chall/{challenge_id}")
async def challenge(organization_id: str, challenge_id: str, request: Request) -> Response:
    return await handle(
        request,
        organization_id,
        lambda ctx: authorizations.challenge_resource(ctx, challenge_id),
    )


@router.post("/cert/{certificate_id}")
async def certificate(organization_id: str, certificate_id: str, request: Request) -> Response:
    return await handle(
        request, organization_id, lambda ctx: orders.certificate(ctx, certificate_id)
    )


@router.get("/renewal-info/{cert_id}")
async def renewal_info(organization_id: str, cert_id: str, request: Request) -> Response:
    """RFC 9773: unauthenticated GET, answered from the broker's own renewal schedule."""
    runtime, settings = request.app.state.runtime, request.app.state.settings
    urls = Directory.of(settings, organization_id)
    try:
        async with session_scope(runtime.sessions) as session:
            org = await load_org(session, organization_id)
            cert: Certificate | None = await ari.find_certificate(session, org, cert_id)
            if cert is None:
                raise AcmeProblem(
                    "malformed", "no certificate of this directory has that id", status=404
                )
            body = ari.renewal_info(cert, settings.lifecycle)
    except AcmeProblem as problem:
        return await finish(runtime, urls, problem_answer(problem))
    retry = str(settings.acme_server.ari_retry_after_seconds)
    return Response(json.dumps(body), media_type="application/json", headers={"Retry-After": retry})
