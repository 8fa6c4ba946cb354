"""The JWKS and RFC 8414 metadata documents, and the OpenAPI security declarations."""

from __future__ import annotations

import httpx

from app.auth.principal import SCOPE_DESCRIPTIONS
from app.runtime import Runtime
from tests.auth.factories import new_actor


async def test_jwks_lists_public_es256_keys_only(runtime: Runtime, api: httpx.AsyncClient):
    await new_actor(runtime, api)  # makes sure a key exists

    answer = await api.get("/.well-known/jwks.json")

    assert answer.status_code == 200
    keys = answer.json()["keys"]
    assert keys
    for key in keys:
        assert key["kty"] == "EC" and key["crv"] == "P-256"
        assert key["alg"] == "ES256" and key["use"] == "sig" and key["kid"]
        assert "d" not in key


async def test_authorization_server_metadata(runtime: Runtime, api: httpx.AsyncClient):
    answer = await api.get("/.well-known/oauth-authorization-server")

    assert answer.status_code == 200
    meta = answer.json()
    base = runtime.settings.public_base_url.rstrip("/")
    assert meta["issuer"] == runtime.settings.auth.issuer
    assert meta["token_endpoint"] == f"{base}/oauth/token"
    assert meta["jwks_uri"] == f"{base}/.well-known/jwks.json"
    assert meta["grant_types_supported"] == ["client_credentials"]
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
    }
    assert set(meta["scopes_supported"]) == set(SCOPE_DESCRIPTIONS)


async def test_protected_operations_declare_both_security_schemes(api: httpx.AsyncClient):
    schema = (await api.get("/openapi.json")).json()

    operations = {
        op["operationId"]: op for path in schema["paths"].values() for op in path.values()
    }
    for operation_id in (
        "tenants_create",
        "tenants_list",
        "tenants_get",
        "tenants_update",
        "clients_create",
        "clients_list",
        "clients_get",
        "clients_rotate_secret",
        "clients_revoke",
    ):
        schemes = {name for req in operations[operation_id]["security"] for name in req}
        assert schemes == {"oauth2", "bearer"}, operation_id
    assert {"oauth2": ["tenant:admin"]} in operations["clients_create"]["security"]
    token = operations["oauth_token"]
    assert token["security"] == []  # public: no token needed to get one
    assert "application/x-www-form-urlencoded" in token["requestBody"]["content"]
    assert set(schema["components"]["securitySchemes"]) >= {"oauth2", "bearer"}
