"""/domain/v1: list, details, create (201 + Location), delete and delegations."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from app.sandbox.scm.auth import Store
from app.sandbox.scm.dates import iso_day
from app.sandbox.scm.domain_validation import dcv_status, find_domain, refresh_dcv
from app.sandbox.scm.errors import ScmError
from app.sandbox.scm.location_header import created_location
from app.sandbox.scm.records import DomainRecord
from app.sandbox.scm.store import ScmStore

router = APIRouter()
_DOMAIN_NAME = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_VALIDATION_METHODS = {
    "CNAME": "CNAME_CSR_HASH",
    "HTTP": "HTTP_CSR_HASH",
    "HTTPS": "HTTPS_CSR_HASH",
    "TXT": "DNSTXT_RANDOM_VALUE",
    "EMAIL": "EMAIL",
}


class Delegation(BaseModel):
    model_config = ConfigDict(extra="ignore")
    orgId: int
    certTypes: list[str] = Field(default_factory=lambda: ["SSL"])
    domainCertificateRequestPrivileges: list[str] | None = None


class DomainCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1, max_length=255)
    description: str = ""
    active: bool = True
    delegations: list[Delegation] = Field(default_factory=list)


def _domain(store: ScmStore, domain_id: int) -> DomainRecord:
    domain = store.saved.domains.get(domain_id)
    if domain is None:
        raise ScmError(-727, f"Domain with id {domain_id} does not exist.", 404)
    return refresh_dcv(domain, store)


def domain_details(domain: DomainRecord) -> dict:
    status = dcv_status(domain)
    body = {
        "id": domain.id,
        "name": domain.name,
        "description": domain.description,
        "delegationStatus": "ACTIVE",
        "state": "ACTIVE" if domain.active else "SUSPENDED",
        "validationStatus": status,
        "validationMethod": _VALIDATION_METHODS.get(domain.dcv_method),
        "dcvValidation": domain.dcv_method or None,
        "dcvExpiration": iso_day(domain.expires_at),
        "ctLogMonitoring": {"enabled": False, "includeSubdomains": False, "bucketId": None},
        "delegations": [{"status": "ACTIVE"} | d for d in domain.delegations],
    }
    return {key: value for key, value in body.items() if value is not None}


@router.get("")
async def list_domains(
    store: Store,
    size: Annotated[int, Query(ge=0, le=200)] = 200,
    position: Annotated[int, Query(ge=0)] = 0,
    name: str | None = None,
    state: str | None = None,
    status: str | None = None,
    orgId: int | None = None,
) -> Response:
    found = []
    for domain in sorted(store.saved.domains.values(), key=lambda d: d.id):
        details = domain_details(refresh_dcv(domain, store))
        if name and name.lower() not in domain.name:
            continue
        if state and state.upper() != details["state"]:
            continue
        if status and status.upper().replace(" ", "_") != details["validationStatus"]:
            continue
        if orgId is not None and all(d["orgId"] != orgId for d in domain.delegations):
            continue
        found.append({"id": domain.id, "name": domain.name})
    page = found[position : position + size]
    return JSONResponse(page, headers={"X-Total-Count": str(len(found))})


@router.get("/count")
async def count_domains(store: Store) -> dict:
    return {"count": len(store.saved.domains)}


@router.get("/{domain_id}")
async def get_domain(domain_id: int, store: Store) -> dict:
    return domain_details(_domain(store, domain_id))


@router.post("", status_code=201)
async def create_domain(body: DomainCreate, request: Request, store: Store) -> Response:
    name = body.name.lower().rstrip(".")
    if not _DOMAIN_NAME.match(name):
        raise ScmError(-732, f"Invalid domain name: {body.name}")
    if find_domain(store, name):
        raise ScmError(-700, f"Domain {name} already exists.")
    domain = DomainRecord(
        id=store.next_id("domain"),
        name=name,
        description=body.description,
        active=body.active,
        delegations=[d.model_dump(exclude_none=True) for d in body.delegations],
    )
    store.saved.domains[domain.id] = domain
    store.changed()
    location = created_location(request, "/domain/v1", domain.id)
    return Response(status_code=201, headers={"Location": location})


@router.delete("/{domain_id}", status_code=204)
async def delete_domain(domain_id: int, store: Store) -> None:
    del store.saved.domains[_domain(store, domain_id).id]
    store.changed()


@router.post("/{domain_id}/delegation")
async def add_delegation(domain_id: int, body: Delegation, store: Store) -> Response:
    domain = _domain(store, domain_id)
    domain.delegations = [d for d in domain.delegations if d["orgId"] != body.orgId]
    domain.delegations.append(body.model_dump(exclude_none=True))
    store.changed()
    return Response(status_code=200)


@router.delete("/{domain_id}/delegation")
async def remove_delegation(domain_id: int, body: Delegation, store: Store) -> Response:
    domain = _domain(store, domain_id)
    domain.delegations = [d for d in domain.delegations if d["orgId"] != body.orgId]
    store.changed()
    return Response(status_code=200)


class DelegationDecision(BaseModel):
    orgId: int


class BulkDelegation(Delegation):
    domainIds: list[int]


@router.post("/delegation")
async def delegate_many(body: BulkDelegation, store: Store) -> Response:
    delegation = body.model_dump(exclude_none=True, exclude={"domainIds"})
    for domain in [_domain(store, domain_id) for domain_id in body.domainIds]:
        domain.delegations = [d for d in domain.delegations if d["orgId"] != body.orgId]
        domain.delegations.append(delegation)
    store.changed()
    return Response(status_code=200)


@router.post("/{domain_id}/delegation/{decision}")
async def decide_delegation(
    domain_id: int, decision: str, body: DelegationDecision, store: Store
) -> Response:
    if decision not in {"approve", "reject"}:
        raise ScmError(-1, "Not found", 404)
    domain = _domain(store, domain_id)
    for delegation in domain.delegations:
        if delegation["orgId"] == body.orgId:
            delegation["status"] = "ACTIVE" if decision == "approve" else "REJECTED"
    store.changed()
    return Response(status_code=200)


@router.put("/{domain_id}/{action}")
async def set_domain_state(domain_id: int, action: str, store: Store) -> Response:
    if action not in {"activate", "suspend"}:
        raise ScmError(-1, "Not found", 404)
    _domain(store, domain_id).active = action == "activate"
    store.changed()
    return Response(status_code=200)
