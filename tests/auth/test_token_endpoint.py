"""POST /oauth/token: client_credentials with Basic and post auth, scopes, RFC 6749 errors."""

from __future__ import annotations

import time

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from app.clients.models import ApiClient
from app.runtime import Runtime
from tests.auth.factories import (
    TENANT_SCOPES,
    decode_unverified,
    fetch_token,
    new_actor,
    new_client,
    new_tenant,
)


async def test_basic_auth_issues_a_signed_es256_token(runtime: Runtime, api: httpx.AsyncClient):
    tenant = await new_tenant(runtime)
    _, client_id, secret = await new_client(runtime, tenant.id, ["certificates:read"])

    answer = await fetch_token(api, client_id, secret)

    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == runtime.settings.auth.access_token_ttl
    assert body["scope"] == "certificates:read"
    header, claims = decode_unverified(body["access_token"])
    assert header["alg"] == "ES256" and header["kid"] and header["typ"] == "at+jwt"
    assert claims["iss"] == runtime.settings.auth.issuer
    assert claims["aud"] == runtime.settings.auth.audience
    assert claims["sub"] == claims["client_id"] == client_id
    assert claims["tenant"] == tenant.id
    assert claims["scope"] == "certificates:read"
    assert claims["exp"] - claims["iat"] == runtime.settings.auth.access_token_ttl
    assert claims["nbf"] == claims["iat"] <= time.time() + 1
    assert claims["jti"]

    # The published JWKS verifies it.
    jwks = (await api.get("/.well-known/jwks.json")).json()
    verified = jwt.decode(body["access_token"], KeySet.import_key_set(jwks), algorithms=["ES256"])
    assert verified.claims["client_id"] == client_id


async def test_post_auth_issues_a_token(runtime: Runtime, api: httpx.AsyncClient):
    tenant = await new_tenant(runtime)
    _, client_id, secret = await new_client(runtime, tenant.id, ["certificates:read"])

    answer = await api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )

    assert answer.status_code == 200, answer.text
    assert decode_unverified(answer.json()["access_token"])[1]["client_id"] == client_id


async def test_scope_defaults_to_all_granted_and_can_be_narrowed(
    runtime: Runtime, api: httpx.AsyncClient
):
    tenant = await new_tenant(runtime)
    _, client_id, secret = await new_client(
        runtime, tenant.id, ["certificates:read", "certificates:write", "tenant:admin"]
    )

    everything = (await fetch_token(api, client_id, secret)).json()
    narrowed = (await fetch_token(api, client_id, secret, scope="certificates:read")).json()

    assert everything["scope"].split() == [
        "certificates:read",
        "certificates:write",
        "tenant:admin",
    ]
    assert narrowed["scope"] == "certificates:read"
    assert decode_unverified(narrowed["access_token"])[1]["scope"] == "certificates:read"
    # A narrowed token cannot do what the client could.
    denied = await api.get(
        "/v1/clients", headers={"Authorization": f"Bearer {narrowed['access_token']}"}
    )
    assert denied.status_code == 403


async def test_asking_for_an_ungranted_scope_is_invalid_scope(
    runtime: Runtime, api: httpx.AsyncClient
):
    tenant = await new_tenant(runtime)
    _, client_id, secret = await new_client(runtime, tenant.id, ["certificates:read"])

    answer = await fetch_token(api, client_id, secret, scope="certificates:read keys:export")

    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["cache-control"] == "no-store"
    assert answer.json() == {
        "error": "invalid_scope",
        "error_description": "scope not granted: keys:export; this client holds "
        "certificates:read (ask for no scope to get all of them)",
    }


async def test_wrong_secret_with_basic_is_invalid_client_with_a_basic_challenge(
    runtime: Runtime, api: httpx.AsyncClient
):
    tenant = await new_tenant(runtime)
    _, client_id, secret = await new_client(runtime, tenant.id, ["certificates:read"])

    answer = await fetch_token(api, client_id, secret + "x")

    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert answer.headers["www-authenticate"].startswith("Basic ")
    assert secret not in answer.text


async def test_unknown_client_with_post_is_invalid_client(api: httpx.AsyncClient):
    answer = await api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "cb_nope", "client_secret": "s"},
    )

    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


async def test_no_client_authentication_is_invalid_client(api: httpx.AsyncClient):
    answer = await api.post("/oauth/token", data={"grant_type": "client_credentials"})

    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


async def test_malformed_basic_credentials_are_invalid_client(api: httpx.AsyncClient):
    answer = await api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic %%%not-base64"},
    )

    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


async def test_unsupported_grant_type(runtime: Runtime, api: httpx.AsyncClient):
    tenant = await new_tenant(runtime)
    _, client_id, secret = await new_client(runtime, tenant.id, ["certificates:read"])

    answer = await api.post(
        "/oauth/token",
        data={"grant_type": "password", "username": "u", "password": "p"},
        auth=(client_id, secret),
    )

    assert answer.status_code == 400
    assert answer.json()["error"] == "unsupported_grant_type"


async def test_missing_grant_type_is_invalid_request(runtime: Runtime, api: httpx.AsyncClient):
    tenant = await new_tenant(runtime)
    _, client_id, secret = await new_client(runtime, tenant.id, ["certificates:read"])

    answer = await api.post("/oauth/token", data={}, auth=(client_id, secret))
    as_json = await api.post(
        "/oauth/token", json={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )

    assert answer.status_code == as_json.status_code == 400
    assert answer.json()["error"] == as_json.json()["error"] == "invalid_request"


async def test_two_authentication_methods_are_invalid_request(
    runtime: Runtime, api: httpx.AsyncClient
):
    tenant = await new_tenant(runtime)
    _, client_id, secret = await new_client(runtime, tenant.id, ["certificates:read"])

    answer = await api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        auth=(client_id, secret),
    )

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


async def test_malformed_scope_is_invalid_request(runtime: Runtime, api: httpx.AsyncClient):
    tenant = await new_tenant(runtime)
    _, client_id, secret = await new_client(runtime, tenant.id, ["certificates:read"])

    answer = await fetch_token(api, client_id, secret, scope='certificates:read "quoted\\"')

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


async def test_disabled_tenant_gets_invalid_grant(runtime: Runtime, api: httpx.AsyncClient):
    admin = await new_actor(runtime, api, ["platform:admin"])
    tenant = await new_tenant(runtime)
    _, client_id, secret = await new_client(runtime, tenant.id, ["certificates:read"])
    disabled = await api.patch(
        f"/v1/tenants/{tenant.id}", json={"status": "disabled"}, headers=admin.headers
    )
    assert disabled.status_code == 200

    answer = await fetch_token(api, client_id, secret)

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


async def test_issuing_a_token_records_last_use(runtime: Runtime, api: httpx.AsyncClient):
    tenant = await new_tenant(runtime)
    row_id, client_id, secret = await new_client(runtime, tenant.id, TENANT_SCOPES)

    assert (await fetch_token(api, client_id, secret)).status_code == 200

    async with runtime.sessions() as session:
        row = await session.get(ApiClient, row_id)
    assert row is not None and row.last_used_at is not None


async def test_an_empty_request_is_an_oauth_error_not_a_problem(api: httpx.AsyncClient):
    answer = await api.post("/oauth/token")

    assert answer.status_code in (400, 401)
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["error"] in ("invalid_request", "invalid_client")
