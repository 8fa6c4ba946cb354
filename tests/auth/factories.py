"""Test data for auth and tenant tests: tenants, API clients, tokens, hand-crafted JWTs."""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from joserfc import jwt
from joserfc.jwk import ECKey

from app.auth.models import SigningKey
from app.auth.principal import Scope
from app.auth.signing_keys import ensure_signing_key, private_key, rotate_signing_key
from app.clients.service import create_api_client
from app.runtime import Runtime
from app.tenants.models import Tenant
from app.tenants.service import create_tenant

ALL_SCOPES = [scope.value for scope in Scope]
TENANT_SCOPES = [scope.value for scope in Scope if scope != Scope.PLATFORM_ADMIN]


@dataclass
class Actor:
    """A tenant with one API client, and a token for it."""

    tenant: Tenant
    client_row_id: str
    client_id: str
    secret: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def new_tenant(runtime: Runtime, prefix: str = "t") -> Tenant:
    async with runtime.sessions() as session:
        tenant = await create_tenant(session, f"{prefix}-{uuid.uuid4().hex[:10]}")
        await session.commit()
    return tenant


async def new_client(runtime: Runtime, tenant_id: str, scopes: list[str]) -> tuple[str, str, str]:
    """(row id, client_id, secret)"""
    async with runtime.sessions() as session:
        client, secret = await create_api_client(session, tenant_id, "test-client", scopes)
        await session.commit()
    return client.id, client.client_id, secret


async def fetch_token(
    api: httpx.AsyncClient, client_id: str, secret: str, scope: str | None = None
) -> httpx.Response:
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    return await api.post("/oauth/token", data=data, auth=(client_id, secret))


async def new_actor(
    runtime: Runtime, api: httpx.AsyncClient, scopes: list[str] | None = None
) -> Actor:
    tenant = await new_tenant(runtime)
    row_id, client_id, secret = await new_client(runtime, tenant.id, scopes or TENANT_SCOPES)
    answer = await fetch_token(api, client_id, secret)
    assert answer.status_code == 200, answer.text
    return Actor(tenant, row_id, client_id, secret, answer.json()["access_token"])


async def rotate_key(runtime: Runtime) -> SigningKey:
    async with runtime.sessions() as session:
        key = await rotate_signing_key(session, runtime)
        await session.commit()
    return key


async def current_private_key(runtime: Runtime) -> tuple[str, ECKey]:
    async with runtime.sessions() as session:
        row = await ensure_signing_key(session, runtime)
        await session.commit()
    return row.kid, private_key(runtime, row)


def claims_for(runtime: Runtime, actor: Actor, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": runtime.settings.auth.issuer,
        "aud": runtime.settings.auth.audience,
        "sub": actor.client_id,
        "client_id": actor.client_id,
        "tenant": actor.tenant.id,
        "scope": " ".join(TENANT_SCOPES),
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def sign(key: Any, kid: str, claims: dict[str, Any], alg: str = "ES256", **header: Any) -> str:
    return jwt.encode({"alg": alg, "kid": kid, "typ": "at+jwt", **header}, claims, key)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A token assembled by hand, for shapes a JOSE library refuses to produce."""
    parts = [json.dumps(header).encode(), json.dumps(claims).encode()]
    return ".".join([*(b64url(part) for part in parts), b64url(signature)])


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (
        json.loads(base64.urlsafe_b64decode(pad(header))),
        json.loads(base64.urlsafe_b64decode(pad(payload))),
    )


def es256_by_hand(key: ECKey, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A genuinely ES256-signed token with whatever header and claims, even ones a JOSE
    library refuses to produce (non-string kid, unknown crit ...)."""
    signing_input = ".".join(b64url(json.dumps(part).encode()) for part in (header, claims))
    der = key.private_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = utils.decode_dss_signature(der)
    return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
