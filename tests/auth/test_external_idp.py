"""Tokens from trusted external IdPs: found by issuer, verified with their JWKS over HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from app.auth.external import REFETCH_INTERVAL, ExternalIdps
from app.auth.state import auth_state
from app.runtime import Runtime
from app.settings import ExternalIdp
from tests.auth.factories import b64url, new_actor, new_client, new_tenant, unsigned
from tests.auth.jwks_server import JwksServer

RSA_IDP = "https://login.rsa-idp.test/"
EC_IDP = "https://ec-idp.test"
DOWN_IDP = "https://down-idp.test"


@dataclass
class Idps:
    server: JwksServer
    rsa: RSAKey
    ec: ECKey
    ec_in_rsa_idp: ECKey


def _public(key: Any, kid: str, **extra: Any) -> dict[str, Any]:
    return {**key.as_dict(private=False), "kid": kid, "use": "sig", **extra}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def jwks_server() -> Iterator[JwksServer]:
    with JwksServer() as server:
        yield server


@pytest.fixture(scope="module")
def idps(runtime: Runtime, jwks_server: JwksServer) -> Iterator[Idps]:
    rsa = RSAKey.generate_key(2048, private=True)
    ec = ECKey.generate_key("P-256", private=True)
    ec_in_rsa_idp = ECKey.generate_key("P-256", private=True)
    jwks_server.documents["/rsa/jwks"] = {
        "keys": [_public(rsa, "rsa-1", alg="RS256"), _public(ec_in_rsa_idp, "ec-1")]
    }
    jwks_server.documents["/ec/jwks"] = {"keys": [_public(ec, "ec-1")]}
    auth = runtime.settings.auth
    saved = auth.external_idps
    auth.external_idps = [
        ExternalIdp(
            issuer=RSA_IDP,
            jwks_url=jwks_server.url("/rsa/jwks"),
            audience="certbroker-api",
            tenant_claim="org",
            scope_claim="scp",
            algorithms=["RS256"],
        ),
        ExternalIdp(
            issuer=EC_IDP, jwks_url=jwks_server.url("/ec/jwks"), audience="cb", algorithms=["ES256"]
        ),
        ExternalIdp(
            issuer=DOWN_IDP, jwks_url=f"http://127.0.0.1:{_closed_port()}/jwks", audience="cb"
        ),
    ]
    auth_state(runtime).idps = ExternalIdps(runtime)
    yield Idps(jwks_server, rsa, ec, ec_in_rsa_idp)
    auth.external_idps = saved
    auth_state(runtime).idps = ExternalIdps(runtime)


def rsa_claims(tenant_ref: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": RSA_IDP,
        "aud": "certbroker-api",
        "sub": "alice@example.test",
        "org": tenant_ref,
        "scp": "tenant:admin certificates:read",
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def signed(key: Any, kid: str, alg: str, claims: dict[str, Any]) -> str:
    return jwt.encode({"alg": alg, "kid": kid, "typ": "JWT"}, claims, key)


async def call(api: httpx.AsyncClient, token: str) -> httpx.Response:
    return await api.get("/v1/clients", headers={"Authorization": f"Bearer {token}"})


def assert_invalid_token(answer: httpx.Response) -> None:
    assert answer.status_code == 401, answer.text
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]


async def test_rs256_token_is_accepted_for_the_tenant_it_names(
    runtime: Runtime, api: httpx.AsyncClient, idps: Idps
):
    tenant = await new_tenant(runtime)
    _, client_id, _ = await new_client(runtime, tenant.id, ["certificates:read"])

    answer = await call(api, signed(idps.rsa, "rsa-1", "RS256", rsa_claims(tenant.id)))

    assert answer.status_code == 200, answer.text
    assert [client["client_id"] for client in answer.json()["items"]] == [client_id]


async def test_es256_token_with_list_scopes_and_tenant_slug(
    runtime: Runtime, api: httpx.AsyncClient, whoami: httpx.AsyncClient, idps: Idps
):
    tenant = await new_tenant(runtime)
    now = int(time.time())
    claims = {
        "iss": EC_IDP,
        "aud": ["cb", "other"],
        "sub": "svc-1",
        "tenant": tenant.slug,
        "scope": ["tenant:admin"],
        "iat": now,
        "exp": now + 60,
    }

    token = signed(idps.ec, "ec-1", "ES256", claims)

    assert (await call(api, token)).status_code == 200
    me = (await whoami.get("/me", headers={"Authorization": f"Bearer {token}"})).json()
    assert me == {
        "tenant_id": tenant.id,
        "subject": "svc-1",
        "scopes": ["tenant:admin"],
        "client_id": None,
        "issuer": EC_IDP,
        "token_id": None,
    }


async def test_scopes_come_from_the_configured_claim(
    runtime: Runtime, api: httpx.AsyncClient, idps: Idps
):
    tenant = await new_tenant(runtime)
    claims = rsa_claims(tenant.id, scp="certificates:read", scope="tenant:admin")

    answer = await call(api, signed(idps.rsa, "rsa-1", "RS256", claims))

    assert answer.status_code == 403
    assert answer.json()["missing_scopes"] == ["tenant:admin"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "certbroker"},
        {"aud": None},
        {"exp": int(time.time()) - 3600},
        {"exp": None},
        {"sub": None},
    ],
    ids=["wrong-audience", "no-audience", "expired", "no-exp", "no-sub"],
)
async def test_claim_rejections(
    runtime: Runtime, api: httpx.AsyncClient, idps: Idps, overrides: dict[str, Any]
):
    tenant = await new_tenant(runtime)

    assert_invalid_token(
        await call(api, signed(idps.rsa, "rsa-1", "RS256", rsa_claims(tenant.id, **overrides)))
    )


async def test_unknown_issuer_is_rejected(runtime: Runtime, api: httpx.AsyncClient, idps: Idps):
    tenant = await new_tenant(runtime)
    claims = rsa_claims(tenant.id, iss="https://login.rsa-idp.test")  # not exactly configured

    answer = await call(api, signed(idps.rsa, "rsa-1", "RS256", claims))

    assert_invalid_token(answer)
    assert "not trusted" in answer.json()["detail"]


async def test_unknown_tenant_is_rejected(api: httpx.AsyncClient, idps: Idps):
    answer = await call(api, signed(idps.rsa, "rsa-1", "RS256", rsa_claims("no-such-tenant")))

    assert_invalid_token(answer)
    assert "does not exist" in answer.json()["detail"]


async def test_missing_tenant_claim_is_rejected(api: httpx.AsyncClient, idps: Idps):
    assert_invalid_token(
        await call(api, signed(idps.rsa, "rsa-1", "RS256", rsa_claims("x", org=None)))
    )


async def test_disabled_tenant_is_rejected(runtime: Runtime, api: httpx.AsyncClient, idps: Idps):
    platform = await new_actor(runtime, api, ["platform:admin"])
    tenant = await new_tenant(runtime)
    await api.patch(
        f"/v1/tenants/{tenant.id}", json={"status": "disabled"}, headers=platform.headers
    )

    assert_invalid_token(await call(api, signed(idps.rsa, "rsa-1", "RS256", rsa_claims(tenant.id))))


async def test_an_algorithm_the_idp_is_not_configured_for_is_rejected(
    runtime: Runtime, api: httpx.AsyncClient, idps: Idps
):
    tenant = await new_tenant(runtime)
    claims = rsa_claims(tenant.id)

    # A genuine ES256 signature by a key in the IdP's own JWKS: still not RS256.
    assert_invalid_token(await call(api, signed(idps.ec_in_rsa_idp, "ec-1", "ES256", claims)))
    # RS256 header over an EC key's kid: the key type must match the pinned algorithm.
    assert_invalid_token(await call(api, signed(idps.rsa, "ec-1", "RS256", claims)))
    # HS256 keyed with the IdP's public key (algorithm confusion), and alg "none".
    header = {"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}
    signing_input = ".".join(b64url(json.dumps(part).encode()) for part in (header, claims))
    mac = hmac.new(idps.rsa.as_pem(private=False), signing_input.encode(), hashlib.sha256)
    assert_invalid_token(await call(api, f"{signing_input}.{b64url(mac.digest())}"))
    assert_invalid_token(await call(api, unsigned({"alg": "none", "kid": "rsa-1"}, claims)))


async def test_a_token_signed_by_another_key_is_rejected(
    runtime: Runtime, api: httpx.AsyncClient, idps: Idps
):
    tenant = await new_tenant(runtime)
    impostor = RSAKey.generate_key(2048, private=True)

    assert_invalid_token(await call(api, signed(impostor, "rsa-1", "RS256", rsa_claims(tenant.id))))


async def test_jwks_is_cached_and_refetched_for_a_new_kid_with_a_rate_limit(
    runtime: Runtime, api: httpx.AsyncClient, idps: Idps, monkeypatch: pytest.MonkeyPatch
):
    tenant = await new_tenant(runtime)
    token = signed(idps.rsa, "rsa-1", "RS256", rsa_claims(tenant.id))
    assert (await call(api, token)).status_code == 200
    fetched = idps.server.hits["/rsa/jwks"]
    for _ in range(3):
        assert (await call(api, token)).status_code == 200
    assert idps.server.hits["/rsa/jwks"] == fetched  # served from the cache

    # The IdP rotates: a new kid appears in its JWKS.
    rotated = RSAKey.generate_key(2048, private=True)
    document = idps.server.documents["/rsa/jwks"]
    document["keys"] = [*document["keys"], _public(rotated, "rsa-2", alg="RS256")]
    idp_keys = auth_state(runtime).idps.get(RSA_IDP)
    assert idp_keys is not None
    monkeypatch.setattr(idp_keys, "_attempted_at", idp_keys._attempted_at - REFETCH_INTERVAL)

    fresh = signed(rotated, "rsa-2", "RS256", rsa_claims(tenant.id))
    assert (await call(api, fresh)).status_code == 200
    assert idps.server.hits["/rsa/jwks"] == fetched + 1

    # Garbage kids right after a refetch do not hammer the IdP.
    for n in range(3):
        junk = signed(rotated, f"junk-{n}", "RS256", rsa_claims(tenant.id))
        assert_invalid_token(await call(api, junk))
    assert idps.server.hits["/rsa/jwks"] == fetched + 1


async def test_unreachable_jwks_is_a_503_not_a_crash(api: httpx.AsyncClient, idps: Idps):
    now = int(time.time())
    claims = {"iss": DOWN_IDP, "aud": "cb", "sub": "x", "tenant": "t", "exp": now + 60}

    answer = await call(api, signed(idps.ec, "ec-1", "ES256", claims))

    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("alg", [["RS256"], {"a": 1}, 7, None, "rs256"])
async def test_odd_algorithm_headers_are_a_401(api: httpx.AsyncClient, idps: Idps, alg: Any):
    claims = rsa_claims("t")

    assert_invalid_token(await call(api, unsigned({"alg": alg, "kid": "rsa-1"}, claims, b"x")))
