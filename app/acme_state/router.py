"""GET /.well-known/acme-challenge/{token}: any API replica answers HTTP-01 from the database."""

from __future__ import annotations

import re
import time

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from app.acme_state.store import DbHttp01Responder
from app.deps import RuntimeDep
from app.http.routing import GuardedRoute

router = APIRouter(include_in_schema=False, route_class=GuardedRoute)

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# A CA fetches a token several times within moments (pebble and multi-perspective CAs: once per
# vantage point), so an answer found is kept for a moment per process: one database read per
# validation instead of one per fetch. Only answers found are kept (a token not yet published
# is looked up again), and for so short a time that a response the worker replaces (a retried
# step after an account key change) or removes is served at most SERVED_FOR seconds longer.
SERVED_FOR = 2.0
MAX_SERVED = 4096
_served: dict[str, tuple[float, str]] = {}


@router.get("/.well-known/acme-challenge/{token}")
async def http01_challenge(token: str, runtime: RuntimeDep) -> PlainTextResponse:
    key_authorization = None
    if _TOKEN.match(token):
        now = time.monotonic()
        kept = _served.get(token)
        if kept is not None and kept[0] > now:
            key_authorization = kept[1]
        else:
            key_authorization = await DbHttp01Responder(runtime).lookup(token)
            if key_authorization is not None:
                if len(_served) >= MAX_SERVED:
                    _served.clear()  # crude bound; each entry is worth one read
                _served[token] = (now + SERVED_FOR, key_authorization)
    if key_authorization is None:
        return PlainTextResponse("not found", status_code=404)
    return PlainTextResponse(key_authorization)
