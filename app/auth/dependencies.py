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
from app.deps import RuntimeDep
from app.errors import Forbidden, Unauthorized

TOKEN_URL = "/oauth/token"

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
    runtime: RuntimeDep,
    _oauth2: Annotated[str | None, Security(oauth2_scheme)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    # FastAPI caches dependencies per scope set, so a route asking for the principal twice
    # (CurrentPrincipal and require_scopes) would verify the token twice without this.
    known = getattr(request.state, "principal", None)
    if isinstance(known, Principal):
        return known
    if bearer is None or not bearer.credentials:
        raise Unauthorized("a bearer access token is required")
    principal = await principal_from_token(bearer.credentials, runtime)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def require_scopes(*scopes: str) -> Any:
    """An annotation for the principal, if it holds every one of `scopes`, else a 403 naming
    the missing ones: `Reader = require_scopes(Scope.CERTIFICATES_READ)`, then
    `principal: Reader` in a route."""
    needed = [str(scope) for scope in scopes]

    async def check(
        principal: Annotated[Principal, Security(authenticate, scopes=needed)],
    ) -> Principal:
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
        return principal

    return Annotated[Principal, Depends(check)]


PlatformAdmin = require_scopes(Scope.PLATFORM_ADMIN)
TenantAdmin = require_scopes(Scope.TENANT_ADMIN)
