"""GET /.well-known/acme-challenge/{token}: any API replica answers HTTP-01 from the database."""

from __future__ import annotations

import re

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from app.acme_state.store import DbHttp01Responder
from app.deps import RuntimeDep
from app.http.routing import GuardedRoute

router = APIRouter(include_in_schema=False, route_class=GuardedRoute)

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@router.get("/.well-known/acme-challenge/{token}")
async def http01_challenge(token: str, runtime: RuntimeDep) -> PlainTextResponse:
    key_authorization = None
    if _TOKEN.match(token):
        key_authorization = await DbHttp01Responder(runtime).lookup(token)
    if key_authorization is None:
        return PlainTextResponse("not found", status_code=404)
    return PlainTextResponse(key_authorization)
