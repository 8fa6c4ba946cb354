"""The caller's tenant's API clients (tenant administrators)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.auth.dependencies import TenantAdmin
from app.auth.principal import Principal, Scope
from app.auth.state import auth_state
from app.clients import service
from app.clients.models import ApiClient, ApiClientStatus
from app.clients.schemas import (
    ApiClientCreate,
    ApiClientPage,
    ApiClientPublic,
    ApiClientWithSecret,
)
from app.deps import DbSession, RuntimeDep
from app.errors import Forbidden
from app.http.pages import DEFAULT_LIMIT, MAX_LIMIT
from app.http.routing import GuardedRoute

router = APIRouter(prefix="/v1/clients", tags=["clients"], route_class=GuardedRoute)

NOT_FOUND = {404: {"description": "No such API client in your tenant"}}


def _check_grantable(caller: Principal, scopes: list[Scope]) -> None:
    # Nobody hands out more than they hold, so a tenant admin can never mint platform:admin.
    refused = [str(scope) for scope in scopes if not caller.has(scope)]
    if refused:
        raise Forbidden(
            f"you cannot grant scopes you do not hold: {' '.join(refused)}",
            extra={"refused_scopes": refused},
        )


def _with_secret(client: ApiClient, secret: str) -> ApiClientWithSecret:
    public = ApiClientPublic.model_validate(client)
    return ApiClientWithSecret(**public.model_dump(), client_secret=secret)


@router.post("", operation_id="clients_create", status_code=201, response_model=ApiClientWithSecret)
async def create_client(
    body: ApiClientCreate, session: DbSession, caller: TenantAdmin
) -> ApiClientWithSecret:
    """Create an API client. The answer holds its secret; it is never shown again."""
    _check_grantable(caller, body.scopes)
    client, secret = await service.create_api_client(
        session, caller.tenant_id, body.name, body.scopes
    )
    return _with_secret(client, secret)


@router.get(
    "",
    operation_id="clients_list",
    summary="List your tenant's API clients",
    response_model=ApiClientPage,
)
async def list_clients(
    session: DbSession,
    caller: TenantAdmin,
    status: ApiClientStatus | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> ApiClientPage:
    """Oldest first; `status=active` leaves out revoked ones."""
    clients, next_cursor = await service.list_api_clients(
        session, caller.tenant_id, status=status, cursor=cursor, limit=limit
    )
    return ApiClientPage(
        items=[ApiClientPublic.model_validate(client) for client in clients],
        next_cursor=next_cursor,
        limit=limit,
    )


@router.get(
    "/{id}",
    operation_id="clients_get",
    summary="Get an API client",
    response_model=ApiClientPublic,
    responses=NOT_FOUND,
)
async def get_client(id: str, session: DbSession, caller: TenantAdmin) -> ApiClientPublic:
    return ApiClientPublic.model_validate(
        await service.get_api_client(session, caller.tenant_id, id)
    )


@router.post(
    "/{id}/rotate-secret",
    operation_id="clients_rotate_secret",
    summary="Rotate an API client's secret",
    response_model=ApiClientWithSecret,
    responses=NOT_FOUND,
)
async def rotate_secret(id: str, session: DbSession, caller: TenantAdmin) -> ApiClientWithSecret:
    """Replace the client's secret: the old one stops working at once, issued tokens do not."""
    client, secret = await service.rotate_client_secret(session, caller.tenant_id, id)
    return _with_secret(client, secret)


@router.post(
    "/{id}/revoke",
    operation_id="clients_revoke",
    summary="Revoke an API client",
    response_model=ApiClientPublic,
    responses=NOT_FOUND,
)
async def revoke_client(
    id: str, session: DbSession, runtime: RuntimeDep, caller: TenantAdmin
) -> ApiClientPublic:
    """Revoke the client for good: no new tokens, and its unexpired tokens stop verifying."""
    client = await service.revoke_api_client(session, caller.tenant_id, id)
    auth_state(runtime).status.forget_client(client.client_id)
    return ApiClientPublic.model_validate(client)
