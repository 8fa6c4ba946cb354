"""Tenant administration (platform administrators only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.auth.dependencies import PlatformAdmin
from app.auth.state import auth_state
from app.deps import DbSession, RuntimeDep
from app.http.pages import DEFAULT_LIMIT, MAX_LIMIT
from app.http.routing import GuardedRoute
from app.tenants import service
from app.tenants.models import TenantStatus
from app.tenants.schemas import TenantCreate, TenantPage, TenantPublic, TenantUpdate

router = APIRouter(prefix="/v1/tenants", tags=["tenants"], route_class=GuardedRoute)

NOT_FOUND = {404: {"description": "No such tenant"}}


@router.post(
    "",
    operation_id="tenants_create",
    summary="Create a tenant",
    status_code=201,
    response_model=TenantPublic,
    responses={409: {"description": "The name or slug is taken"}},
)
async def create_tenant(body: TenantCreate, session: DbSession, _: PlatformAdmin) -> TenantPublic:
    tenant = await service.create_tenant(session, body.name, body.slug)
    return TenantPublic.model_validate(tenant)


@router.get("", operation_id="tenants_list", summary="List tenants", response_model=TenantPage)
async def list_tenants(
    session: DbSession,
    _: PlatformAdmin,
    status: TenantStatus | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> TenantPage:
    """Oldest first."""
    tenants, next_cursor = await service.list_tenants(
        session, status=status, cursor=cursor, limit=limit
    )
    return TenantPage(
        items=[TenantPublic.model_validate(t) for t in tenants],
        next_cursor=next_cursor,
        limit=limit,
    )


@router.get(
    "/{tenant_id}",
    operation_id="tenants_get",
    summary="Get a tenant",
    response_model=TenantPublic,
    responses=NOT_FOUND,
)
async def get_tenant(tenant_id: str, session: DbSession, _: PlatformAdmin) -> TenantPublic:
    return TenantPublic.model_validate(await service.get_tenant(session, tenant_id))


@router.patch(
    "/{tenant_id}",
    operation_id="tenants_update",
    summary="Rename, disable or enable a tenant",
    response_model=TenantPublic,
    responses={**NOT_FOUND, 409: {"description": "The name is taken"}},
)
async def update_tenant(
    tenant_id: str, body: TenantUpdate, session: DbSession, runtime: RuntimeDep, _: PlatformAdmin
) -> TenantPublic:
    """Rename, disable (its tokens stop working) or re-enable a tenant."""
    tenant = await service.update_tenant(session, tenant_id, name=body.name, status=body.status)
    auth_state(runtime).status.forget_tenant(tenant.id)
    return TenantPublic.model_validate(tenant)
