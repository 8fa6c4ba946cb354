"""Order actions: approve/decline/revoke/renew/replace (204); renewById answers 200 {sslId}."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from app.sandbox.scm import order_actions
from app.sandbox.scm.auth import Caller, Store
from app.sandbox.scm.dates import DateFormatter, date_formatter
from app.sandbox.scm.errors import ScmError
from app.sandbox.scm.lifecycle import current_order, refresh
from app.sandbox.scm.order_views import details

router = APIRouter()
NO_CONTENT = 204


class MessageRequest(BaseModel):
    message: str | None = None


class RevokeRequest(BaseModel):
    reasonCode: int | str | None = None
    reason: str | None = None


class RenewRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    csr: str | None = None
    dcvMode: str | None = None
    dcvEmail: str | None = None


class ReplaceRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    csr: str
    reason: str | None = None
    commonName: str | None = None
    subjectAlternativeNames: list[str] | None = None
    dcvMode: str | None = None
    dcvEmail: str | None = None


class EditRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    sslId: int
    orgId: int | None = None
    certTypeId: int | None = None
    term: int | None = None
    commonName: str | None = None
    csr: str | None = None
    subjectAlternativeNames: list[str] | None = None
    comments: str | None = Field(None, max_length=1024)
    externalRequester: str | None = Field(None, max_length=512)
    customFields: list[dict[str, str]] | None = None


@router.put("")
async def edit(
    body: EditRequest, store: Store, date: Annotated[DateFormatter, Depends(date_formatter)]
) -> dict:
    order = current_order(store, body.sslId)
    order_actions.edit(store, order, body.model_dump(exclude_none=True, exclude={"sslId"}))
    return details(order, date)


def _message(body: Any) -> str | None:
    """A body that is not a JSON object (none, `""`, `[]`: client libraries send each) reaches
    the action, which then answers SCM's own error for a missing message instead of a
    framework 422; an object's `message` is used."""
    if isinstance(body, dict):
        return MessageRequest.model_validate(body).message
    return None


# Any JSON, or none: FastAPI would refuse a body that is not an object with a 422.
AnyBody = Annotated[Any, Body()]


def _csr(body: Any) -> str | None:
    """Renewals take an optional body; only an object's `csr` means anything."""
    return RenewRequest.model_validate(body).csr if isinstance(body, dict) else None


@router.post("/approve/{ssl_id}", status_code=NO_CONTENT)
async def approve(ssl_id: int, store: Store, caller: Caller, body: AnyBody = None) -> None:
    order_actions.approve(store, current_order(store, ssl_id), caller, _message(body))


@router.post("/decline/{ssl_id}", status_code=NO_CONTENT)
async def decline(ssl_id: int, store: Store, body: AnyBody = None) -> None:
    order_actions.decline(store, current_order(store, ssl_id), _message(body))


class ManualRevokeRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    certId: int | None = None
    serialNumber: str | None = None
    reasonCode: int | str | None = None
    reason: str | None = "Revoked manually"


@router.post("/revoke/manual", status_code=NO_CONTENT)
async def revoke_manually(body: ManualRevokeRequest, store: Store) -> None:
    """Marks the record revoked in SCM only (the simulated CA keeps no CRL either way)."""
    if body.certId is not None:
        await revoke(
            body.certId, RevokeRequest(reasonCode=body.reasonCode, reason=body.reason), store
        )
    elif body.serialNumber:
        await revoke_by_serial(
            body.serialNumber, RevokeRequest(reasonCode=body.reasonCode, reason=body.reason), store
        )
    else:
        raise ScmError(-7, "Either 'certId' or 'serialNumber' is required.")


@router.post("/revoke/serial/{serial}", status_code=NO_CONTENT)
async def revoke_by_serial(serial: str, body: RevokeRequest, store: Store) -> None:
    wanted = serial.replace(":", "").lower().lstrip("0")
    for order in store.saved.orders.values():
        if order.serial_hex and order.serial_hex.lstrip("0") == wanted:
            order_actions.revoke(store, refresh(order, store), body.reason, body.reasonCode)
            return
    raise ScmError(-5101, f"Certificate with serial number {serial} was not found.", 404)


@router.post("/revoke/{ssl_id}", status_code=NO_CONTENT)
async def revoke(ssl_id: int, body: RevokeRequest, store: Store) -> None:
    order_actions.revoke(store, current_order(store, ssl_id), body.reason, body.reasonCode)


@router.post("/renewById/{ssl_id}")
async def renew_by_id(ssl_id: int, store: Store, body: AnyBody = None) -> dict:
    fresh = order_actions.renew(store, current_order(store, ssl_id), _csr(body))
    return {"sslId": fresh.id}


@router.post("/renew/manual/{ssl_id}", status_code=NO_CONTENT)
async def mark_renewed(ssl_id: int, store: Store) -> None:
    order = current_order(store, ssl_id)
    order.renewed_at = time.time()
    store.changed()


@router.post("/renew/{renew_id}", status_code=NO_CONTENT)
async def renew_by_renew_id(renew_id: str, store: Store, body: AnyBody = None) -> None:
    order = next((o for o in store.saved.orders.values() if o.renew_id == renew_id), None)
    if order is None:
        raise ScmError(-123, "The SSL certificate to renew was not found.")
    order_actions.renew(store, refresh(order, store), _csr(body))


@router.post("/replace/{ssl_id}", status_code=NO_CONTENT)
async def replace(ssl_id: int, body: ReplaceRequest, store: Store) -> Response:
    order_actions.replace(
        store,
        current_order(store, ssl_id),
        body.csr,
        body.reason,
        body.commonName,
        body.subjectAlternativeNames,
    )
    return Response(status_code=NO_CONTENT)
