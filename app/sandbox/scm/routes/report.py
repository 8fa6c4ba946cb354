"""POST /report/v1/ssl-certificates and /domains: {statusCode: 0, reports: [...]} attachments."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from app.sandbox.scm.auth import Store
from app.sandbox.scm.catalog import ORGANIZATIONS, PROFILES, top_level_org
from app.sandbox.scm.dates import iso_day
from app.sandbox.scm.domain_validation import dcv_status, refresh_dcv
from app.sandbox.scm.errors import ScmError
from app.sandbox.scm.lifecycle import refresh
from app.sandbox.scm.order_views import all_names, colon_hex
from app.sandbox.scm.records import Order

router = APIRouter()

STATUS_CODES = {
    1: "Requested",
    2: "Issued",
    3: "Revoked",
    4: "Expired",
    8: "Approved",
    9: "Applied",
}
DATE_ATTRIBUTES = {2: "revoked_at", 3: "not_after", 4: "requested_at", 5: "issued_at"}


class SslReportRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    organizationIds: list[int] = Field(default_factory=list)
    commonName: str | None = None
    externalRequester: str | None = None
    certificateStatus: int = 0
    certificateDateAttribute: int | None = None
    from_: str | None = Field(None, alias="from")
    to: str | None = None
    serialNumberFormat: str | None = None


def _instant(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    moment = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _epoch(text: str) -> float:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ScmError(-1601, f"Invalid date: {text}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()


def _wanted(order: Order, body: SslReportRequest) -> bool:
    if body.organizationIds and order.org_id not in body.organizationIds:
        return False
    if body.commonName and body.commonName.lower() not in order.common_name:
        return False
    if body.externalRequester and body.externalRequester not in order.external_requester:
        return False
    if body.certificateStatus and STATUS_CODES.get(body.certificateStatus) != order.status:
        return False
    attribute = DATE_ATTRIBUTES.get(body.certificateDateAttribute or 0)
    if attribute and (body.from_ or body.to):
        moment = getattr(order, attribute)
        if moment is None:
            return False
        if body.from_ and moment < _epoch(body.from_):
            return False
        if body.to and moment > _epoch(body.to):
            return False
    return True


def _row(order: Order, hex_serial: bool) -> dict:
    org = ORGANIZATIONS[order.org_id]
    top = top_level_org(order.org_id)
    algorithm, _, parameter = order.key_type.partition(" - ")
    serial = order.serial_hex.upper() if hex_serial else colon_hex(order.serial_hex)
    row = {
        "id": order.id,
        "commonName": order.common_name,
        "orgId": order.org_id,
        "organizationName": org.name,
        "city": top.city,
        "state": top.state,
        "country": top.country,
        "status": order.status,
        "orderNumber": order.order_number,
        "backendCertId": str(order.order_number),
        "serverType": "OTHER",
        "typeId": order.cert_type_id,
        "type": PROFILES[order.cert_type_id].name,
        "term": order.term,
        "requester": order.requester,
        "approver": order.approver or None,
        "externalRequester": order.external_requester or None,
        "comments": order.comments or None,
        "requested": _instant(order.requested_at),
        "approved": _instant(order.approved_at),
        "declined": _instant(order.declined_at),
        "expires": _instant(order.not_after),
        "revoked": _instant(order.revoked_at),
        "replaced": _instant(order.replaced_at),
        "publicKeyAlg": algorithm,
        "publicKeySize": parameter,
        "publicKeyType": order.key_type,
        "subjAltNames": "; ".join(all_names(order)),
        "serialNumber": serial or None,
        "requestedVia": order.requested_via,
        "customFields": order.custom_fields,
    }
    return {key: value for key, value in row.items() if value is not None}


def _attachment(name: str, reports: list[dict]) -> JSONResponse:
    return JSONResponse(
        {"statusCode": 0, "reports": reports},
        headers={"Content-Disposition": f'attachment; filename="rest_api_{name}.json"'},
    )


@router.post("/ssl-certificates")
async def ssl_certificates(body: SslReportRequest, store: Store) -> JSONResponse:
    hex_serial = body.serialNumberFormat == "HEXWithLeadingZeros"
    orders = sorted(store.saved.orders.values(), key=lambda o: o.id)
    rows = [_row(o, hex_serial) for o in orders if _wanted(refresh(o, store), body)]
    return _attachment("ssl-certificates", rows)


@router.post("/domains")
async def domains(store: Store) -> JSONResponse:
    rows = []
    for domain in sorted(store.saved.domains.values(), key=lambda d: d.id):
        status = dcv_status(refresh_dcv(domain, store))
        rows.append(
            {
                "id": domain.id,
                "name": domain.name,
                "status": "Active" if domain.active else "Suspended",
                "requested": iso_day(domain.validated_at),
                "dcvStatus": status.replace("_", " ").title(),
                "stickyUntil": iso_day(domain.expires_at),
            }
        )
    return _attachment("domains", rows)
