"""FastAPI dependencies: `CurrentPrincipal` authenticates, `require_scopes(...)` authorises.

Both security schemes are declared so every protected operation lists them in the OpenAPI
document (as alternatives) and Swagger UI's Authorize dialog works; either way the token
arrives as `Authorization: Bearer <token>`.
"""

# No `from __future__ import annotations`: FastAPI must see require_scopes' closure types.
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2

from app.auth.principal import SCOPE_DESCRIPTIONS, Principal, Scope
from app.auth.validation import principal_from_token
from app.errors import Forbidden, Unauthorized

TOKEN_URL = "/oauth/token"
# Where the request's principal is kept once verified (in the ASGI scope: request.state's
# attribute lookup raises and catches an AttributeError on every miss).
_PRINCIPAL = "certbroker.principal"

oauth2_scheme = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl=TOKEN_URL, scopes=dict(SCOPE_DESCRIPTIONS)
        )
    ),
    scheme_name="oauth2",
    auto_error=False,
)
bearer_scheme = HTTPBearer(scheme_name="bearer", auto_error=False)


async def authenticate(
    request: Request,
    _oauth2: Annotated[str | None, Security(oauth2_scheme)],
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    # The two schemes are declared for the OpenAPI document; the header is read once, below.
    return await authenticate_request(request)


async def authenticate_request(request: Request) -> Principal:
    """The principal of the request's bearer token, verified once per request: the route
    guard (app/http/routing.py) calls this before the body is read, the dependencies reuse it."""
    known = request.scope.get(_PRINCIPAL)
    if isinstance(known, Principal):
        return known
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer access token is required")
    principal = await principal_from_token(token.strip(), request.app.state.runtime)
    request.scope[_PRINCIPAL] = principal
    return principal


def ensure_scopes(principal: Principal, needed: list[str]) -> None:
    """A 403 naming the missing scopes unless the principal holds every one of `needed`."""
    missing = [scope for scope in needed if not principal.has(scope)]
    if missing:
        raise Forbidden(
            f"this operation needs the scope {' '.join(missing)}",
            headers={
                "WWW-Authenticate": f'Bearer realm="certbroker", error="insufficient_scope", '
                f'scope="{" ".join(needed)}"'
            },
            extra={"missing_scopes": missing},
        )


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def require_scopes(*scopes: str) -> Any:
    """An annotation for the principal, if it holds every one of `scopes`, else a 403 naming
    the missing ones: `Reader = require_scopes(Scope.CERTIFICATES_READ)`, then
    `principal: Reader` in a route."""
    needed = [str(scope) for scope in scopes]

    async def check(
        principal: Annotated[Principal, Security(authenticate, scopes=needed)],
    ) -> Principal:
        ensure_scopes(principal, needed)
        return principal

    # Read by the route guard, which checks the scopes before the request body is parsed.
    check.required_scopes = needed  # type: ignore[attr-defined]
    return Annotated[Principal, Depends(check)]


PlatformAdmin = require_scopes(Scope.PLATFORM_ADMIN)
TenantAdmin = require_scopes(Scope.TENANT_ADMIN)
