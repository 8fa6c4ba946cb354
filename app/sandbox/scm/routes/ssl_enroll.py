"""POST /ssl/v1/enroll: 200 {sslId, renewId}, never 201."""

from __future__ import annotations

from fastapi import APIRouter

from app.sandbox.scm.auth import Caller, Store
from app.sandbox.scm.enrollment import EnrollRequest, enroll

router = APIRouter()


@router.post("/enroll")
async def enroll_certificate(body: EnrollRequest, store: Store, caller: Caller) -> dict:
    order = enroll(store, body, caller)
    return {"sslId": order.id, "renewId": order.renew_id}
