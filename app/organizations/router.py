"""CRUD of a tenant's organizations under /v1/organizations (tenant administrators)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.auth.dependencies import TenantAdmin, require_scopes
from app.auth.principal import Scope
from app.deps import DbSession, RuntimeDep
from app.domains.sync import queue_domain_sync, request_domain_sync
from app.http.pages import DEFAULT_LIMIT, MAX_LIMIT
from app.http.routing import GuardedRoute
from app.jobs.schemas import JobPublic
from app.organizations import service
from app.organizations.schemas import (
    OrganizationCreate,
    OrganizationPage,
    OrganizationPublic,
    OrganizationUpdate,
)

router = APIRouter(prefix="/v1/organizations", tags=["organizations"], route_class=GuardedRoute)

Reader = require_scopes(Scope.CERTIFICATES_READ)
DomainWriter = require_scopes(Scope.DOMAINS_WRITE)
NOT_FOUND = {404: {"description": "No such organization in your tenant"}}


@router.post(
    "",
    operation_id="organizations_create",
    status_code=201,
    response_model=OrganizationPublic,
    responses={409: {"description": "The name is taken"}},
)
async def create_organization(
    body: OrganizationCreate, session: DbSession, runtime: RuntimeDep, caller: TenantAdmin
) -> OrganizationPublic:
    """Create an organization: its SCM and ACME accounts, DNS provider and ordering policy.
    Secrets (SCM password or client secret, SCM client key, EAB HMAC key, DNS secrets) are
    stored encrypted and never returned. Certificates and keys are PEM content, checked on the
    way in; CA URLs must pass the deployment's egress policy (422 naming the field)."""
    org = await service.create_organization(
        session,
        caller.tenant_id,
        body,
        runtime.secretbox,
        runtime.egress,
    )
    if org.scm:
        await queue_domain_sync(session, org)  # its domains as SCM knows them, pre-validated too
    return service.to_public(org, runtime.settings.public_base_url)


@router.get("", operation_id="organizations_list", response_model=OrganizationPage)
async def list_organizations(
    session: DbSession,
    runtime: RuntimeDep,
    caller: Reader,
    name: Annotated[
        str | None, Query(max_length=200, description="part of the name, any case")
    ] = None,
    sandbox: Annotated[
        bool | None, Query(description="only sandbox ones, or only real ones")
    ] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> OrganizationPage:
    """Your tenant's organizations by name."""
    orgs, next_cursor = await service.list_organizations(
        session, caller.tenant_id, name=name, sandbox=sandbox, cursor=cursor, limit=limit
    )
    return OrganizationPage(
        items=[service.to_public(org, runtime.settings.public_base_url) for org in orgs],
        next_cursor=next_cursor,
        limit=limit,
    )


@router.get(
    "/{organization_id}",
    operation_id="organizations_get",
    response_model=OrganizationPublic,
    responses=NOT_FOUND,
)
async def get_organization(
    organization_id: str, session: DbSession, runtime: RuntimeDep, caller: Reader
) -> OrganizationPublic:
    org = await service.get_organization(session, organization_id, caller.tenant_id)
    return service.to_public(org, runtime.settings.public_base_url)


@router.patch(
    "/{organization_id}",
    operation_id="organizations_update",
    response_model=OrganizationPublic,
    responses={**NOT_FOUND, 409: {"description": "The new name is taken"}},
)
async def update_organization(
    organization_id: str,
    body: OrganizationUpdate,
    session: DbSession,
    runtime: RuntimeDep,
    caller: TenantAdmin,
) -> OrganizationPublic:
    """Change settings; fields left out stay as they are, and so do stored secrets."""
    org = await service.get_organization(session, organization_id, caller.tenant_id)
    org = await service.update_organization(session, org, body, runtime.secretbox, runtime.egress)
    if org.scm and body.model_fields_set & {"scm", "allowed_domains"}:
        await queue_domain_sync(session, org)
    return service.to_public(org, runtime.settings.public_base_url)


@router.delete(
    "/{organization_id}",
    operation_id="organizations_delete",
    status_code=204,
    responses={**NOT_FOUND, 409: {"description": "The organization still has certificates"}},
)
async def delete_organization(
    organization_id: str, session: DbSession, caller: TenantAdmin
) -> Response:
    org = await service.get_organization(session, organization_id, caller.tenant_id)
    await service.delete_organization(session, org)
    return Response(status_code=204)


@router.post(
    "/{organization_id}/domains/sync",
    operation_id="organizations_sync_domains",
    summary="Read the organization's domains from SCM",
    status_code=202,
    response_model=JobPublic,
    responses={**NOT_FOUND, 422: {"description": "The organization has no SCM settings"}},
)
async def sync_domains(
    organization_id: str, session: DbSession, response: Response, caller: DomainWriter
) -> JobPublic:
    """Queue a job that reads the organization's domains and their DCV status from SCM into
    `GET /v1/domains`, so domains validated at SCM (before or outside the broker) are ready
    for OV and EV orders and preflight agrees. It also runs when the organization is created
    or its SCM settings change, and in every inventory sync; running it twice is harmless.
    Follow it at `Location` (`GET /v1/jobs/{id}`)."""
    org = await service.get_organization(session, organization_id, caller.tenant_id)
    job = await request_domain_sync(session, org)
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return JobPublic.model_validate(job)
