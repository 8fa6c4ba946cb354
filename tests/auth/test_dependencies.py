"""CurrentPrincipal and require_scopes as routes see them."""

from __future__ import annotations

import httpx

from app.runtime import Runtime
from tests.auth.factories import new_actor


async def test_current_principal_of_a_broker_token(
    runtime: Runtime, api: httpx.AsyncClient, whoami: httpx.AsyncClient
):
    actor = await new_actor(runtime, api, ["certificates:read", "domains:write"])

    me = (await whoami.get("/me", headers=actor.headers)).json()

    assert me["tenant_id"] == actor.tenant.id
    assert me["subject"] == me["client_id"] == actor.client_id
    assert me["scopes"] == ["certificates:read", "domains:write"]
    assert me["issuer"] == runtime.settings.auth.issuer
    assert me["token_id"]


async def test_scoped_and_plain_principal_are_one_verification(
    runtime: Runtime, api: httpx.AsyncClient, whoami: httpx.AsyncClient
):
    actor = await new_actor(runtime, api, ["certificates:read"])
    denied = await new_actor(runtime, api, ["domains:write"])

    assert (await whoami.get("/reader", headers=actor.headers)).json() == {"same": True}
    answer = await whoami.get("/reader", headers=denied.headers)
    assert answer.status_code == 403
    assert answer.json()["missing_scopes"] == ["certificates:read"]
    assert (await whoami.get("/me")).status_code == 401
