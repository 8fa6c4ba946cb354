"""GET /ssl/v1/collect/{sslId}?format= and the older /collect/{sslId}/{format} path form."""

from __future__ import annotations

import re

from fastapi import APIRouter, Query, Response

from app.sandbox.scm.auth import Store
from app.sandbox.scm.collect_formats import canonical_format, render
from app.sandbox.scm.errors import ScmError
from app.sandbox.scm.lifecycle import current_order
from app.sandbox.scm.records import Order
from app.sandbox.scm.store import ScmStore

router = APIRouter()

PENDING_DESCRIPTIONS = {
    -183: "Certificate is not collectable.",
    -1400: "The request is being processed by Sectigo.",
    -109: "Certificate is not available now, please try again later.",
}


def _not_ready(order: Order, store: ScmStore) -> ScmError:
    behaviour = store.behaviour
    if behaviour.legacy_collect_pending:
        return ScmError(0, "Being processed by Sectigo")
    if order.status == "Applied":
        code = behaviour.collect_pending_code_applied
    else:
        code = behaviour.collect_pending_code_requested
    return ScmError(code, PENDING_DESCRIPTIONS.get(code, "Certificate is not collectable."))


def _collect(ssl_id: int, requested_format: str | None, store: ScmStore) -> Response:
    fmt = canonical_format(requested_format)
    order = current_order(store, ssl_id)
    if order.status == "Revoked":
        raise ScmError(-110, "Certificate has been revoked and cannot be downloaded.")
    if not order.cert_pem or order.status not in {"Issued", "Expired"}:
        raise _not_ready(order, store)
    body, extension = render(order.cert_pem, store.ca, fmt, store.behaviour.x509_root_first)
    if store.behaviour.collect_crlf and fmt != "bin":
        body = body.replace(b"\n", b"\r\n")
    stem = re.sub(r"[^A-Za-z0-9]", "_", order.common_name)
    return Response(
        body,
        headers={
            "Content-Type": "application/octet-stream;charset=UTF-8",
            "Content-Disposition": f'attachment; filename="{stem}_{fmt}.{extension}"',
        },
    )


@router.get("/collect/{ssl_id}")
async def collect(ssl_id: int, store: Store, format: str | None = Query(None)) -> Response:
    return _collect(ssl_id, format, store)


@router.get("/collect/{ssl_id}/{fmt}")
async def collect_path_form(ssl_id: int, fmt: str, store: Store) -> Response:
    return _collect(ssl_id, fmt, store)
