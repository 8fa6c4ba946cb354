"""GET /ssl/v1/{sslId} (details) and GET/HEAD /ssl/v1 (search with size/position paging)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from app.sandbox.scm.auth import Store
from app.sandbox.scm.dates import DateFormatter, date_formatter
from app.sandbox.scm.errors import ScmError
from app.sandbox.scm.lifecycle import current_order, refresh
from app.sandbox.scm.order_views import details, list_item
from app.sandbox.scm.records import Order
from app.sandbox.scm.store import ScmStore

router = APIRouter()

MAX_PAGE = 200
# Free-text filters match a case-insensitive substring, so a client can find its own orders by a
# unique marker placed in `comments` or `externalRequester`.
_TEXT_FILTERS = {
    "commonName": lambda o: o.common_name,
    "externalRequester": lambda o: o.external_requester,
    "comments": lambda o: o.comments,
    "requester": lambda o: o.requester,
}
_EXACT_FILTERS = {
    "status": lambda o: o.status.lower(),
    "orgId": lambda o: str(o.org_id),
    "sslTypeId": lambda o: str(o.cert_type_id),
    "requestedVia": lambda o: o.requested_via.lower(),
    "keyAlgorithm": lambda o: o.key_type.split(" - ")[0].lower(),
}


def _normalised_serial(value: str) -> str:
    return value.replace(":", "").lower().lstrip("0")


def _matches(order: Order, params: dict[str, str]) -> bool:
    for name, field in _TEXT_FILTERS.items():
        if name in params and params[name].lower() not in field(order).lower():
            return False
    for name, field in _EXACT_FILTERS.items():
        if name in params and params[name].lower() != field(order):
            return False
    if "subjectAlternativeName" in params:
        wanted = params["subjectAlternativeName"].lower()
        if not any(wanted in name for name in [order.common_name, *order.sans]):
            return False
    serial = params.get("serialNumber")
    return serial is None or _normalised_serial(serial) == order.serial_hex.lstrip("0")


def search(store: ScmStore, request: Request) -> list[Order]:
    params = {key: value for key, value in request.query_params.items() if value != ""}
    orders = [refresh(order, store) for order in store.saved.orders.values()]
    return sorted((o for o in orders if _matches(o, params)), key=lambda o: o.id)


@router.get("")
async def list_certificates(
    request: Request,
    store: Store,
    size: Annotated[int | None, Query()] = None,
    position: Annotated[int, Query()] = 0,
) -> Response:
    size = store.behaviour.default_list_size if size is None else size
    if not 0 <= size <= MAX_PAGE or position < 0:
        raise ScmError(-1601, f"size must be between 0 and {MAX_PAGE}; position must be >= 0.")
    found = search(store, request)
    page = [list_item(order) for order in found[position : position + size]]
    return JSONResponse(page, headers={"X-Total-Count": str(len(found))})


@router.head("")
async def count_certificates(request: Request, store: Store) -> Response:
    return Response(headers={"X-Total-Count": str(len(search(store, request)))})


@router.get("/{ssl_id}")
async def certificate_details(
    ssl_id: int, store: Store, date: Annotated[DateFormatter, Depends(date_formatter)]
) -> dict:
    return details(current_order(store, ssl_id), date)
