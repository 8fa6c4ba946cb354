"""The client_credentials grant (RFC 6749 §4.4): authenticate the client, narrow the scope,
sign a token. Errors are authlib's RFC 6749 error classes; the router renders them.

authlib's AuthorizationServer is not used: it is built around synchronous framework
integrations and storage callbacks, while every lookup here is an async database query.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from urllib.parse import unquote_plus

from authlib.oauth2.rfc6749.errors import (
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    UnsupportedGrantTypeError,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.schemas import TokenResponse
from app.auth.state import auth_state
from app.auth.tokens import issue_access_token
from app.clients.service import authenticate_api_client, mark_used
from app.db import utcnow
from app.runtime import Runtime
from app.tenants.service import get_tenant

GRANT_TYPE = "client_credentials"
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")  # RFC 6749 §3.3
AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str
    method: str


def client_credentials(
    authorization: str | None, form_client_id: str | None, form_client_secret: str | None
) -> ClientCredentials:
    """The client's id and secret from exactly one of Basic auth or the form body."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() == "basic":
        if form_client_secret:
            raise InvalidRequestError("use one client authentication method, not two")
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
            raw_id, raw_secret = decoded.split(":", 1)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise _invalid_client("malformed Basic credentials") from None
        # RFC 6749 §2.3.1: both parts are form-urlencoded before being joined.
        client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        if form_client_id and form_client_id != client_id:
            raise InvalidRequestError("client_id differs from the authenticated client")
        return ClientCredentials(client_id, secret, "client_secret_basic")
    if form_client_id and form_client_secret:
        return ClientCredentials(form_client_id, form_client_secret, "client_secret_post")
    raise _invalid_client("client authentication is required")


async def grant_client_credentials(
    session: AsyncSession,
    runtime: Runtime,
    *,
    grant_type: str | None,
    scope: str | None,
    credentials: ClientCredentials,
) -> TokenResponse:
    if not grant_type:
        raise InvalidRequestError("grant_type is required")
    if grant_type != GRANT_TYPE:
        raise UnsupportedGrantTypeError(f"only {GRANT_TYPE} is supported")
    client = await authenticate_api_client(
        session, credentials.client_id, credentials.client_secret
    )
    if client is None:
        raise _invalid_client("unknown client, wrong secret or revoked client")
    tenant = await get_tenant(session, client.tenant_id)
    if not tenant.is_active:
        raise InvalidGrantError("the client's tenant is disabled")
    granted = _narrow(scope, client.scopes)

    state = auth_state(runtime)
    signer = await state.keyring.signer(session)
    now = utcnow()
    token = issue_access_token(
        signer,
        runtime.settings.auth,
        client_id=client.client_id,
        tenant_id=client.tenant_id,
        scopes=granted,
        now=now,
    )
    mark_used(client, now)
    session.add(client)
    return TokenResponse(
        access_token=token,
        expires_in=runtime.settings.auth.access_token_ttl,
        scope=" ".join(granted),
    )


def _narrow(requested: str | None, granted: list[str]) -> list[str]:
    """The requested scopes if all were granted; all granted ones when none are asked for."""
    if requested is None or not requested.strip():
        return list(granted)
    wanted = list(dict.fromkeys(requested.split()))
    if not all(SCOPE_TOKEN.fullmatch(scope) for scope in wanted):
        raise InvalidRequestError("scope is malformed")
    refused = [scope for scope in wanted if scope not in granted]
    if refused:
        # The client authenticated: it may learn what it holds, and how to ask for all of it
        # (Swagger UI's Authorize ticks every scope the API knows).
        raise InvalidScopeError(
            f"scope not granted: {' '.join(refused)}; this client holds "
            f"{' '.join(granted) or 'no scopes'} (ask for no scope to get all of them)"
        )
    return wanted


def _invalid_client(description: str) -> InvalidClientError:
    # 401 with a Basic challenge whichever method was tried: RFC 6749 §5.2 allows it for
    # client_secret_post and requires it for client_secret_basic.
    return InvalidClientError(description, status_code=401)
