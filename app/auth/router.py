"""The OAuth2 endpoints: the token endpoint, the JWKS and the RFC 8414 metadata document."""

from __future__ import annotations

import logging
from typing import Annotated

from authlib.oauth2.rfc6749.errors import OAuth2Error
from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse

from app.auth.client_credentials import (
    AUTH_METHODS,
    GRANT_TYPE,
    client_credentials,
    grant_client_credentials,
)
from app.auth.dependencies import TOKEN_URL
from app.auth.failure_limit import count_failure, refuse_if_locked
from app.auth.principal import SCOPE_DESCRIPTIONS
from app.auth.schemas import (
    JsonWebKeySet,
    OAuthError,
    ServerMetadata,
    TokenRequest,
    TokenResponse,
)
from app.auth.signing_keys import verification_keys
from app.deps import DbSession, RuntimeDep
from app.http.routing import GuardedRoute

log = logging.getLogger("certbroker.auth")
router = APIRouter(tags=["oauth"], route_class=GuardedRoute)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
JWKS_PATH = "/.well-known/jwks.json"


@router.post(
    TOKEN_URL,
    operation_id="oauth_token",
    summary="Get an access token (client credentials)",
    response_model=TokenResponse,
    responses={
        400: {"model": OAuthError, "description": "RFC 6749 §5.2 error"},
        401: {"model": OAuthError, "description": "invalid_client"},
        429: {"description": "Too many failed authentications of this client or address"},
    },
)
async def token(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    form: Annotated[TokenRequest, Form()],
) -> JSONResponse:
    """Exchange an API client's id and secret (HTTP Basic, or `client_id` and `client_secret`
    in the form) for a short-lived ES256 JWT access token. Repeated failed authentications of
    one client id, or from one address, are answered 429 with Retry-After for a while."""
    credentials = None
    address = request.client.host if request.client else None
    try:
        credentials = client_credentials(
            request.headers.get("authorization"), form.client_id, form.client_secret
        )
        await refuse_if_locked(runtime, credentials.client_id, address)
        answer = await grant_client_credentials(
            session, runtime, grant_type=form.grant_type, scope=form.scope, credentials=credentials
        )
    except OAuth2Error as error:
        # The client id is not a secret; the secret and the Authorization header never appear.
        client_id = credentials.client_id if credentials else form.client_id
        log.info("token refused", extra={"oauth_error": error.error, "client_id": client_id})
        if error.error == "invalid_client":
            await count_failure(runtime, client_id, address)
        status, body, headers = error()
        return JSONResponse(body, status_code=status, headers={**dict(headers), **NO_STORE})
    log.info("token issued", extra={"client_id": credentials.client_id, "scope": answer.scope})
    return JSONResponse(answer.model_dump(), headers=NO_STORE)


@router.get(
    JWKS_PATH,
    operation_id="oauth_jwks",
    summary="Public keys that verify the broker's access tokens",
    response_model=JsonWebKeySet,
)
async def jwks(session: DbSession) -> JSONResponse:
    keys = [row.public_jwk for row in await verification_keys(session)]
    return JSONResponse({"keys": keys}, headers={"Cache-Control": "public, max-age=60"})


@router.get(
    "/.well-known/oauth-authorization-server",
    operation_id="oauth_metadata",
    summary="Authorization server metadata (RFC 8414)",
    response_model=ServerMetadata,
)
async def metadata(runtime: RuntimeDep) -> ServerMetadata:
    base = runtime.settings.public_base_url.rstrip("/")
    return ServerMetadata(
        issuer=runtime.settings.auth.issuer,
        token_endpoint=base + TOKEN_URL,
        jwks_uri=base + JWKS_PATH,
        grant_types_supported=[GRANT_TYPE],
        token_endpoint_auth_methods_supported=AUTH_METHODS,
        scopes_supported=list(SCOPE_DESCRIPTIONS),
    )
