"""/acme/v1 and /acme/v2 accounts (EAB macId/macKey), their domains, and the ACME server list."""

from __future__ import annotations

import base64
import secrets
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from app.sandbox.scm.auth import Store
from app.sandbox.scm.catalog import ACME_SERVERS, ORGANIZATIONS
from app.sandbox.scm.dates import iso_day
from app.sandbox.scm.domain_validation import covering_status, find_domain
from app.sandbox.scm.errors import ScmError
from app.sandbox.scm.location_header import created_location
from app.sandbox.scm.records import AcmeAccount
from app.sandbox.scm.store import ScmStore


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1, max_length=255)
    acmeServer: str
    organizationId: int
    evDetails: dict = Field(default_factory=dict)


class AccountRename(BaseModel):
    name: str = Field(min_length=1, max_length=255)


class DomainName(BaseModel):
    name: str


class DomainList(BaseModel):
    domains: list[DomainName]


def _b64url(size: int) -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(size)).rstrip(b"=").decode()


def new_eab_pair() -> tuple[str, str]:
    """(macId, macKey): 16 and 64 random bytes, base64url without padding (22 and 86 chars)."""
    return _b64url(16), _b64url(64)


def _server(reference: str) -> dict:
    for server in ACME_SERVERS:
        if reference in (server["url"], server["name"]):
            return server
    raise ScmError(-1601, f"Unknown ACME server: {reference}")


def account_view(account: AcmeAccount, with_domains: bool) -> dict:
    body = {
        "id": account.id,
        "name": account.name,
        "status": account.status,
        "macKey": account.mac_key,
        "macId": account.mac_id,
        "accountId": account.mac_id,
        "acmeServer": account.acme_server,
        "organizationId": account.organization_id,
        "certValidationType": account.cert_validation_type,
        "contacts": account.contacts,
        "evDetails": account.ev_details,
    }
    if with_domains:
        body["domains"] = [{"name": name} for name in account.domains]
    return body


def acme_router(version: str) -> APIRouter:
    """v1 calls the domain sub-resource /domains and lists domains in the account; v2: /domain."""
    router = APIRouter()
    domains_path = (
        "/account/{account_id}/domains" if version == "v1" else "/account/{account_id}/domain"
    )

    def account_by_id(store: ScmStore, account_id: int) -> AcmeAccount:
        account = store.saved.acme_accounts.get(account_id)
        if account is None:
            raise ScmError(-1, f"ACME account with id {account_id} was not found.", 404)
        return account

    @router.get("/server")
    async def servers() -> list[dict]:
        return ACME_SERVERS

    @router.get("/account")
    async def list_accounts(
        store: Store,
        organizationId: str | None = None,
        name: str | None = None,
        acmeServer: str | None = None,
        certValidationType: str | None = None,
        status: str | None = None,
        size: Annotated[int, Query(ge=0, le=200)] = 200,
        position: Annotated[int, Query(ge=0)] = 0,
    ) -> Response:
        if not organizationId:
            raise ScmError(-7, "The 'organizationId' field is required.")
        org_text, _, suffix = organizationId.partition(",")
        org_ids = {int(org_text)}
        if suffix != "-2":  # ",-2" means the organization without its departments
            org_ids |= {o.id for o in ORGANIZATIONS.values() if o.parent_id == int(org_text)}
        found = [
            account_view(a, version == "v1")
            for a in sorted(store.saved.acme_accounts.values(), key=lambda a: a.id)
            if a.organization_id in org_ids
            and (not name or name.lower() in a.name.lower())
            and (not acmeServer or acmeServer == a.acme_server)
            and (not certValidationType or certValidationType.upper() == a.cert_validation_type)
            and (not status or status.lower() == a.status)
        ]
        page = found[position : position + size]
        return JSONResponse(page, headers={"X-Total-Count": str(len(found))})

    @router.get("/account/{account_id}")
    async def get_account(account_id: int, store: Store) -> dict:
        return account_view(account_by_id(store, account_id), version == "v1")

    @router.post("/account", status_code=201)
    async def create_account(body: AccountCreate, request: Request, store: Store) -> Response:
        if body.organizationId not in ORGANIZATIONS:
            raise ScmError(-1023, f"Organization with id {body.organizationId} was not found.")
        server = _server(body.acmeServer)
        mac_id, mac_key = new_eab_pair()
        account = AcmeAccount(
            id=store.next_id("acme"),
            name=body.name,
            acme_server=server["url"],
            organization_id=body.organizationId,
            cert_validation_type=server["certValidationType"],
            mac_id=mac_id,
            mac_key=mac_key,
            ev_details=body.evDetails,
        )
        store.saved.acme_accounts[account.id] = account
        store.changed()
        location = created_location(request, f"/acme/{version}/account", account.id)
        return Response(status_code=201, headers={"Location": location})

    @router.put("/account/{account_id}")
    async def rename_account(account_id: int, body: AccountRename, store: Store) -> Response:
        account_by_id(store, account_id).name = body.name
        store.changed()
        return Response(status_code=200)

    @router.delete("/account/{account_id}", status_code=204)
    async def delete_account(account_id: int, store: Store) -> None:
        del store.saved.acme_accounts[account_by_id(store, account_id).id]
        store.changed()

    @router.post(domains_path)
    async def add_domains(account_id: int, body: DomainList, store: Store) -> dict:
        account = account_by_id(store, account_id)
        refused = []
        for entry in body.domains:
            name = entry.name.lower()
            if name in account.domains or covering_status(store, name) is None:
                refused.append(entry.name)
            else:
                account.domains.append(name)
        store.changed()
        return {"notAddedDomains": refused}

    @router.delete(domains_path)
    async def remove_domains(account_id: int, body: DomainList, store: Store) -> dict:
        account = account_by_id(store, account_id)
        missing = [d.name for d in body.domains if d.name.lower() not in account.domains]
        removing = {d.name.lower() for d in body.domains}
        account.domains = [name for name in account.domains if name not in removing]
        store.changed()
        return {"notRemovedDomains": missing}

    @router.get(domains_path)
    async def list_account_domains(account_id: int, store: Store) -> Response:
        account = account_by_id(store, account_id)
        rows = []
        for name in account.domains:
            domain = find_domain(store, name)
            expires = iso_day(domain.expires_at) if domain else None
            rows.append({"name": name, "validUntil": expires, "stickyUntil": expires})
        return JSONResponse(rows, headers={"X-Total-Count": str(len(rows))})

    return router
