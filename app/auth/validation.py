"""Access token → Principal, for the broker's own tokens and for trusted external IdPs' tokens.

The issuer is read from the unverified token only to choose whose keys and which algorithm to
verify with; nothing else in it is trusted until the signature and claims check out.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError

from app.auth.external import KEY_TYPES, IdpKeys
from app.auth.principal import Principal
from app.auth.signing_keys import ALGORITHM
from app.auth.state import auth_state
from app.auth.tokens import TOKEN_TYPE, verify_jwt
from app.errors import Unauthorized
from app.runtime import Runtime

MAX_TOKEN_LENGTH = 8192


async def principal_from_token(token: str, runtime: Runtime) -> Principal:
    if len(token) > MAX_TOKEN_LENGTH:
        raise Unauthorized("the token is malformed")
    digest = hashlib.sha256(token.encode()).digest()
    known = auth_state(runtime).verified.get(digest)
    if known is not None:
        return await _still_valid(*known, runtime)
    header, claims = _peek(token)
    issuer = claims.get("iss")
    if issuer == runtime.settings.auth.issuer:
        return await _own_token(token, header, runtime, digest)
    idp = auth_state(runtime).idps.get(issuer) if isinstance(issuer, str) else None
    if idp is None:
        raise Unauthorized("the token's issuer is not trusted")
    return await _external_token(token, header, idp, runtime)


def _peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        compact = jws.extract_compact(token.encode())
        header = compact.headers()
        claims = json.loads(compact.payload)
    except (JoseError, ValueError, UnicodeError):
        raise Unauthorized("the token is malformed") from None
    if not isinstance(claims, dict):
        raise Unauthorized("the token is malformed")
    return header, claims


def _kid(header: dict[str, Any]) -> str:
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise Unauthorized("the token names no key id")
    return kid


async def _own_token(
    token: str, header: dict[str, Any], runtime: Runtime, digest: bytes
) -> Principal:
    # Pinned: only ES256 under this issuer, whatever the header asks for ("none", HS256 ...).
    if header.get("alg") != ALGORITHM or str(header.get("typ", "")).lower() != TOKEN_TYPE:
        raise Unauthorized("the token's algorithm or type is not accepted")
    state = auth_state(runtime)
    kid = _kid(header)
    key = await state.keyring.verifying_key(kid)
    if key is None:
        raise Unauthorized("the token's signing key is unknown or expired")
    auth = runtime.settings.auth
    claims = verify_jwt(
        token,
        key,
        algorithm=ALGORITHM,
        issuer=auth.issuer,
        audience=auth.audience,
        required=("sub", "tenant", "client_id", "iat", "nbf"),
    )
    client_id, tenant_id = claims["client_id"], claims["tenant"]
    if not isinstance(client_id, str) or not isinstance(tenant_id, str):
        raise Unauthorized("the token is malformed")
    principal = Principal(
        tenant_id=tenant_id,
        subject=claims["sub"],
        scopes=_scopes(claims.get("scope")),
        client_id=client_id,
        issuer=auth.issuer,
        token_id=claims.get("jti"),
    )
    await _active_client(client_id, tenant_id, runtime)
    auth_state(runtime).verified.put(digest, kid, principal, claims.get("exp"))
    return principal


async def _still_valid(kid: str, principal: Principal, runtime: Runtime) -> Principal:
    """A broker token verified before: its key and its client's and tenant's status are
    asked again, as for a token seen for the first time."""
    if await auth_state(runtime).keyring.verifying_key(kid) is None:
        raise Unauthorized("the token's signing key is unknown or expired")
    await _active_client(principal.client_id or "", principal.tenant_id, runtime)
    return principal


async def _active_client(client_id: str, tenant_id: str, runtime: Runtime) -> None:
    if not await auth_state(runtime).status.client_active(client_id):
        raise Unauthorized("the API client has been revoked")
    await _active_tenant(tenant_id, runtime)


async def _external_token(
    token: str, header: dict[str, Any], idp_keys: IdpKeys, runtime: Runtime
) -> Principal:
    idp = idp_keys.idp
    algorithm = header.get("alg")
    if (
        not isinstance(algorithm, str)
        or algorithm not in idp.algorithms
        or algorithm not in KEY_TYPES
    ):
        raise Unauthorized("the token's algorithm is not accepted for its issuer")
    key = await idp_keys.key(_kid(header))
    if key is None:
        raise Unauthorized("the token's signing key is unknown")
    if not isinstance(key, KEY_TYPES[algorithm]) or key.get("alg", algorithm) != algorithm:
        raise Unauthorized("the token's algorithm does not match its key")
    claims = verify_jwt(
        token,
        key,
        algorithm=algorithm,
        issuer=idp.issuer,
        audience=idp.audience,
        required=("sub", idp.tenant_claim),
    )
    tenant_ref = claims[idp.tenant_claim]
    if not isinstance(tenant_ref, str) or not tenant_ref:
        raise Unauthorized(f"the token's {idp.tenant_claim!r} claim names no tenant")
    tenant_id = await _active_tenant(tenant_ref, runtime)
    return Principal(
        tenant_id=tenant_id,
        subject=str(claims["sub"]),
        scopes=_scopes(claims.get(idp.scope_claim)),
        issuer=idp.issuer,
        token_id=claims.get("jti") if isinstance(claims.get("jti"), str) else None,
    )


async def _active_tenant(id_or_slug: str, runtime: Runtime) -> str:
    tenant = await auth_state(runtime).status.tenant(id_or_slug)
    if tenant is None:
        raise Unauthorized("the token's tenant does not exist")
    if not tenant.active:
        raise Unauthorized("the token's tenant is disabled")
    return tenant.id


def _scopes(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list):
        return frozenset(item for item in value if isinstance(item, str))
    return frozenset()
