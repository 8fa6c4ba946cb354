"""GET /ssl/v1/{sslId} (details) and GET/HEAD /ssl/v1 (search with size/position paging)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from app.sandbox.scm.auth import Store
from app.sandbox.scm.dates import DateFormatter, date_formatter
from app.sandbox.scm.errors import ScmError
from app.sandbox.scm.lifecycle import current_order
from app.sandbox.scm.order_search import MAX_PAGE, search
from app.sandbox.scm.order_views import details, list_item

router = APIRouter()


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
    found = search(store, dict(request.query_params))
    page = [list_item(order) for order in found[position : position + size]]
    return JSONResponse(page, headers={"X-Total-Count": str(len(found))})


@router.head("")
async def count_certificates(request: Request, store: Store) -> Response:
    return Response(headers={"X-Total-Count": str(len(search(store, dict(request.query_params))))})


@router.get("/{ssl_id}")
async def certificate_details(
    ssl_id: int, store: Store, date: Annotated[DateFormatter, Depends(date_formatter)]
) -> dict:
    return details(current_order(store, ssl_id), date)
