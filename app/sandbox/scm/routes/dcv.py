"""/dcv/v1 and /dcv/v2: start, submit, status, search, clear and delete domain validations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from app.sandbox.scm import domain_validation as dcv
from app.sandbox.scm.auth import Store
from app.sandbox.scm.dates import iso_day, iso_instant
from app.sandbox.scm.errors import ScmError
from app.sandbox.scm.records import DomainRecord
from app.sandbox.scm.store import ScmStore

DomainName = Annotated[str, Field(min_length=3, max_length=255)]


class DomainBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    domain: DomainName


class EmailSubmit(DomainBody):
    email: str


class BulkEmailSubmit(BaseModel):
    domains: list[DomainName]
    email: str


class EmailStart(BaseModel):
    domain: DomainName | None = None
    domains: list[DomainName] | None = None


def _status_fields(domain: DomainRecord) -> dict:
    return {
        "status": dcv.dcv_status(domain),
        "orderStatus": domain.dcv_order_status,
        "message": f"DCV status: {dcv.dcv_status(domain)}; "
        f"DCV order status: {domain.dcv_order_status}",
    }


def _submitted(domain: DomainRecord) -> dict:
    return {
        "status": dcv.dcv_status(domain),
        "orderStatus": domain.dcv_order_status,
        "message": "Submitted successfully",
        "orderBackendId": domain.dcv_order_backend_id,
    }


def dcv_router(version: str) -> APIRouter:
    """v2's status answers every field and gives 404 for an unknown domain; v1 answers 400."""
    router = APIRouter()
    unknown_status = 404 if version == "v2" else 400

    def domain_named(store: ScmStore, name: str) -> DomainRecord:
        domain = dcv.find_domain(store, name)
        if domain is None:
            raise ScmError(-727, f"Domain '{name}' does not exist.", unknown_status)
        return dcv.refresh_dcv(domain, store)

    @router.get("/validation")
    async def search(
        store: Store,
        size: Annotated[int, Query(ge=0, le=200)] = 200,
        position: Annotated[int, Query(ge=0)] = 0,
        domain: str | None = None,
        org: int | None = None,
        dcvStatus: str | None = None,
        orderStatus: str | None = None,
    ) -> Response:
        items = []
        for record in sorted(store.saved.domains.values(), key=lambda d: d.id):
            dcv.refresh_dcv(record, store)
            item = {
                "domain": record.name,
                "dcvStatus": dcv.dcv_status(record),
                "dcvMethod": record.dcv_method or None,
                "dcvOrderStatus": record.dcv_order_status,
                "dcvOrderMethod": record.dcv_order_method or None,
                "expirationDate": iso_day(record.expires_at),
            }
            if domain and domain.lower() not in record.name:
                continue
            if org is not None and all(d["orgId"] != org for d in record.delegations):
                continue
            if dcvStatus and dcvStatus.upper() != item["dcvStatus"]:
                continue
            if orderStatus and orderStatus.upper() != item["dcvOrderStatus"]:
                continue
            items.append({k: v for k, v in item.items() if v is not None})
        page = items[position : position + size]
        return JSONResponse(page, headers={"X-Total-Count": str(len(items))})

    @router.post("/validation/status")
    async def status(body: DomainBody, store: Store) -> dict:
        domain = domain_named(store, body.domain)
        answer = {
            "status": dcv.dcv_status(domain),
            "validationDate": iso_day(domain.validated_at),
            "expirationDate": iso_day(domain.expires_at),
            "orderStatus": domain.dcv_order_status,
        }
        if version == "v2":
            answer |= {
                "orderMode": domain.dcv_order_method or None,
                "validationEmail": domain.dcv_email or None,
                "orderBackendId": domain.dcv_order_backend_id or None,
                "submittedDate": iso_instant(domain.dcv_submitted_at),
                "lastCheck": iso_instant(domain.dcv_submitted_at),
            }
            method = domain.dcv_order_method
            if method == "CNAME":
                answer |= dcv.cname_challenge(domain)
            elif method in {"HTTP", "HTTPS"}:
                answer |= dcv.http_challenge(domain, method.lower())
        return {key: value for key, value in answer.items() if value is not None}

    @router.post("/validation/start/domain/cname")
    async def start_cname(body: DomainBody, store: Store) -> dict:
        domain = domain_named(store, body.domain)
        store.changed()
        return dcv.cname_challenge(domain)

    @router.post("/validation/start/domain/email")
    async def start_email(body: EmailStart, store: Store) -> dict:
        names = body.domains or ([body.domain] if body.domain else [])
        if not names:
            raise ScmError(-7, "The 'domain' field is required.")
        lists = []
        for name in names:
            domain = domain_named(store, name)
            candidates = dcv.candidate_emails(domain.name.removeprefix("*."))
            lists.append(
                {
                    "domainName": domain.name,
                    "whoisEmails": [],
                    "adminEmails": candidates,
                    "dnsTxtEmails": [],
                }
            )
        return {
            "emails": sorted({e for entry in lists for e in entry["adminEmails"]}),
            "dcvEmails": lists,
        }

    @router.post("/validation/start/domain/{scheme}")
    async def start_http(scheme: str, body: DomainBody, store: Store) -> dict:
        if scheme == "txt":
            raise ScmError(-1601, "TXT validation has no start step; submit it directly.")
        if scheme not in {"http", "https"}:
            raise ScmError(-1, "Not found", 404)
        domain = domain_named(store, body.domain)
        store.changed()
        return dcv.http_challenge(domain, scheme)

    @router.post("/validation/submit/domain/email")
    async def submit_email(body: EmailSubmit, store: Store) -> dict:
        domain = domain_named(store, body.domain)
        if body.email not in dcv.candidate_emails(domain.name.removeprefix("*.")):
            raise ScmError(-1601, f"'{body.email}' is not an allowed DCV e-mail for {domain.name}.")
        dcv.submit(domain, store, "EMAIL", body.email)
        return _submitted(domain) | {"emailValidationReferenceNumber": domain.dcv_order_backend_id}

    @router.post("/validation/submit-bulk/domain/email")
    async def submit_bulk_email(body: BulkEmailSubmit, store: Store) -> dict:
        domains = [domain_named(store, name) for name in body.domains]
        for domain in domains:
            dcv.submit(domain, store, "EMAIL", body.email)
        return {
            "orderStatus": "SUBMITTED",
            "message": "Submitted successfully",
            "orderBackendId": domains[-1].dcv_order_backend_id if domains else "",
        }

    @router.post("/validation/submit/domain/{method}")
    async def submit(method: str, body: DomainBody, store: Store) -> dict:
        if method not in {"cname", "http", "https", "txt"}:
            raise ScmError(-1, "Not found", 404)
        domain = domain_named(store, body.domain)
        dcv.submit(domain, store, method.upper())
        answer = _submitted(domain)
        if method == "txt":
            answer |= dcv.txt_challenge(domain)
        return answer

    @router.post("/validation/clear")
    async def clear(body: DomainBody, store: Store) -> dict:
        domain = domain_named(store, body.domain)
        domain.dcv_order_status, domain.dcv_order_method = "NOT_INITIATED", ""
        domain.dcv_token = domain.dcv_hash = ""
        domain.dcv_submitted_at = None
        store.changed()
        return _status_fields(domain)

    @router.post("/validation/delete")
    async def delete(body: DomainBody, store: Store) -> Response:
        domain = domain_named(store, body.domain)
        domain.dcv_status, domain.dcv_order_status = "NOT_VALIDATED", "NOT_INITIATED"
        domain.dcv_method = domain.dcv_order_method = ""
        domain.validated_at = domain.expires_at = domain.dcv_submitted_at = None
        store.changed()
        return Response(status_code=200)

    @router.post("/validation/sync")
    async def sync(body: DomainBody, store: Store) -> dict:
        return _status_fields(domain_named(store, body.domain))

    return router
