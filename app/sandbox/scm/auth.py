"""Who is calling: header trio on /api, client cert + login/customerUri on /private/api, Bearer."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from app.sandbox.scm.errors import ScmError, unknown_user
from app.sandbox.scm.store import ScmStore
from app.sandbox.scm.tokens import verify_token

TOKEN_PATH = "/auth/realms/apiclients/protocol/openid-connect/token"
# Set in the ASGI scope by the mTLS listener's wrapper (see tls.py): the TLS layer already
# required a client certificate issued by the simulator's client CA.
CLIENT_CERT_SCOPE_KEY = "scm_sandbox.client_certificate_verified"


def get_store(request: Request) -> ScmStore:
    return request.app.state.store


Store = Annotated[ScmStore, Depends(get_store)]


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def authenticate(request: Request, store: Store) -> str:
    """Returns the caller's login. Starlette's headers are case-insensitive already."""
    config = store.config
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        claims = verify_token(store.saved.token_secret, authorization[7:].strip())
        if claims is None:
            token_url = str(request.base_url).rstrip("/") + TOKEN_PATH
            raise ScmError(
                -16,
                "Unknown user",
                401,
                {
                    "WWW-Authenticate": f'Bearer realm="apiclients", error="invalid_token", '
                    f'authorization_uri="{token_url}"'
                },
            )
        return claims["sub"]
    login = request.headers.get("login")
    customer = request.headers.get("customeruri")
    if not (_same(login, config.login) and _same(customer, config.customer_uri)):
        raise unknown_user()
    if request.url.path.startswith("/private/"):
        if not request.scope.get(CLIENT_CERT_SCOPE_KEY):
            raise ScmError(-16, "Unknown user", 401)
        return config.login
    if not _same(request.headers.get("password"), config.password):
        raise unknown_user()
    return config.login


Caller = Annotated[str, Depends(authenticate)]
