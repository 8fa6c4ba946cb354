"""The broker's access tokens (RFC 9068 JWTs, ES256): issuing and verifying them."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Collection
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey
from joserfc.jwt import JWTClaimsRegistry

from app.auth.keyring import SignerKey
from app.auth.signing_keys import ALGORITHM
from app.errors import Unauthorized
from app.settings import AuthSettings

TOKEN_TYPE = "at+jwt"
LEEWAY_SECONDS = 30


def issue_access_token(
    signer: SignerKey,
    auth: AuthSettings,
    *,
    client_id: str,
    tenant_id: str,
    scopes: Collection[str],
    now: dt.datetime,
) -> str:
    issued = int(now.timestamp())
    claims = {
        "iss": auth.issuer,
        "aud": auth.audience,
        "sub": client_id,
        "client_id": client_id,
        "tenant": tenant_id,
        "scope": " ".join(scopes),
        "iat": issued,
        "nbf": issued,
        "exp": issued + auth.access_token_ttl,
        "jti": secrets.token_urlsafe(16),
    }
    header = {"alg": ALGORITHM, "kid": signer.kid, "typ": TOKEN_TYPE}
    return jwt.encode(header, claims, signer.key, algorithms=[ALGORITHM])


def verify_jwt(
    token: str,
    key: RSAKey | ECKey,
    *,
    algorithm: str,
    issuer: str,
    audience: str,
    required: Collection[str] = (),
) -> dict[str, Any]:
    """The claims of a token signed by `key` with exactly `algorithm`, valid now for this
    issuer and audience. The algorithm comes from configuration, never from the token."""
    try:
        decoded = jwt.decode(token, key, algorithms=[algorithm])
        registry = JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            **{claim: {"essential": True} for claim in required},
        )
        registry.validate(decoded.claims)
    except JoseError as exc:
        raise Unauthorized(_describe(exc)) from None
    except ValueError:
        raise Unauthorized("the token is malformed") from None
    return decoded.claims


def _describe(exc: JoseError) -> str:
    # joserfc's messages name claims and reasons, never token contents.
    name = type(exc).__name__
    if name == "ExpiredTokenError":
        return "the token has expired"
    if name == "BadSignatureError":
        return "the token's signature does not verify"
    return exc.description or "the token is not valid"
