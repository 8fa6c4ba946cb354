"""/v1/organizations/{id}/acme-credentials: EAB keys for the organization's ACME directory."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.acme_server import credentials as service
from app.acme_server.models import AcmeCredential
from app.acme_server.schemas import (
    AcmeCredentialCreate,
    AcmeCredentialCreated,
    AcmeCredentialPage,
    AcmeCredentialPublic,
)
from app.auth.dependencies import TenantAdmin
from app.deps import DbSession, RuntimeDep
from app.http.pages import DEFAULT_LIMIT, MAX_LIMIT
from app.http.routing import GuardedRoute
from app.organizations.service import get_organization

router = APIRouter(
    prefix="/v1/organizations/{organization_id}/acme-credentials",
    tags=["acme"],
    route_class=GuardedRoute,
)
NOT_FOUND = {404: {"description": "No such organization (or credential) in your tenant"}}


def _public(credential: AcmeCredential, base_url: str) -> dict:
    return {
        **credential.model_dump(exclude={"hmac_key", "tenant_id"}),
        "directory_url": service.directory_url(base_url, credential.organization_id),
    }


@router.post(
    "",
    operation_id="acme_credentials_create",
    status_code=201,
    response_model=AcmeCredentialCreated,
    responses=NOT_FOUND,
)
async def create_credential(
    organization_id: str,
    body: AcmeCredentialCreate,
    response: Response,
    session: DbSession,
    runtime: RuntimeDep,
    caller: TenantAdmin,
) -> AcmeCredentialCreated:
    """Issue an External Account Binding key for the organization's ACME directory, bound to a
    product (default: the organization's DV product) and optionally to names under given
    domains. The HMAC key is in this answer only; it is stored encrypted."""
    org = await get_organization(session, organization_id, caller.tenant_id)
    credential, key = service.create_credential(session, org, body, caller, runtime.secretbox)
    await session.flush()
    response.headers["Location"] = f"/v1/organizations/{org.id}/acme-credentials/{credential.id}"
    return AcmeCredentialCreated(
        **_public(credential, runtime.settings.public_base_url), hmac_key=key
    )


@router.get(
    "",
    operation_id="acme_credentials_list",
    response_model=AcmeCredentialPage,
    responses=NOT_FOUND,
)
async def list_credentials(
    organization_id: str,
    session: DbSession,
    runtime: RuntimeDep,
    caller: TenantAdmin,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> AcmeCredentialPage:
    """The organization's EAB keys, oldest first, revoked ones included; never the HMAC key."""
    org = await get_organization(session, organization_id, caller.tenant_id)
    rows, next_cursor = await service.list_credentials(session, org, cursor, limit)
    return AcmeCredentialPage(
        items=[AcmeCredentialPublic(**_public(c, runtime.settings.public_base_url)) for c in rows],
        next_cursor=next_cursor,
        limit=limit,
    )


@router.post(
    "/{credential_id}/revoke",
    operation_id="acme_credentials_revoke",
    response_model=AcmeCredentialPublic,
    responses={**NOT_FOUND, 409: {"description": "Already revoked"}},
)
async def revoke_credential(
    organization_id: str,
    credential_id: str,
    session: DbSession,
    runtime: RuntimeDep,
    caller: TenantAdmin,
) -> AcmeCredentialPublic:
    """Revoke an EAB key: no new account can bind to it, and the accounts bound to it are
    refused from their next request on."""
    org = await get_organization(session, organization_id, caller.tenant_id)
    credential = await service.get_credential(session, org, credential_id)
    service.revoke_credential(credential)
    return AcmeCredentialPublic(**_public(credential, runtime.settings.public_base_url))
