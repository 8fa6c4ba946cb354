"""The Keycloak-style client-credentials token endpoint of the OAuth-flavoured Admin API."""

from __future__ import annotations

import base64
import hmac

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse

from app.sandbox.scm.auth import TOKEN_PATH, Store
from app.sandbox.scm.tokens import issue_token

router = APIRouter()


def _basic_credentials(request: Request) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None, None
    try:
        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return None, None
    return client_id, secret


@router.post(TOKEN_PATH)
async def token(
    request: Request,
    store: Store,
    grant_type: str = Form(""),
    client_id: str | None = Form(None),
    client_secret: str | None = Form(None),
) -> JSONResponse:
    if grant_type != "client_credentials":
        return JSONResponse(
            {"error": "unsupported_grant_type", "error_description": "Unsupported grant_type"}, 400
        )
    basic_id, basic_secret = _basic_credentials(request)
    given_id, given_secret = client_id or basic_id or "", client_secret or basic_secret or ""
    config = store.config
    if not (
        hmac.compare_digest(given_id.encode(), config.client_id.encode())
        and hmac.compare_digest(given_secret.encode(), config.client_secret.encode())
    ):
        return JSONResponse(
            {
                "error": "unauthorized_client",
                "error_description": "Invalid client or Invalid client credentials",
            },
            401,
        )
    lifetime = store.behaviour.token_lifetime_seconds
    return JSONResponse(
        {
            "access_token": issue_token(store.saved.token_secret, given_id, lifetime),
            "expires_in": lifetime,
            "refresh_expires_in": 0,
            "token_type": "Bearer",
            "not-before-policy": 0,
            "scope": "profile email",
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )
