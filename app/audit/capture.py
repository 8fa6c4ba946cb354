"""Records every audited API call: a dependency on every /v1 route that writes one audit row.

It runs around the route and inside the request's transaction: after the route returns, the
row joins the route's changes and commits with them, so a change that rolls back leaves no
"it happened" row. A call that fails (denied, refused, broken) rolls back and is then recorded
on its own, with the status and the reason. Calls rejected before it runs are not recorded:
no valid token (no one to name), the rate limit and a body that is not JSON at all (no
operation was attempted).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from app.audit.models import AuditEvent
from app.audit.redaction import redact
from app.audit.targets import AuditTarget, target_for
from app.auth.dependencies import CurrentPrincipal
from app.auth.principal import Principal
from app.db_rows import insert_last, new_row
from app.deps import DbSession, RuntimeDep
from app.errors import AppError
from app.logs import request_id_var
from app.runtime import Runtime
from app.webhooks.events import decide_now

log = logging.getLogger("certbroker.audit")


_ADDED = "audit.added"  # session.info key: the list collecting the objects a route adds


class _NewRows:
    """The objects the route adds to the session, seen as they are added (by one listener for
    every session, below: adding and removing a listener per request costs more than a route)."""

    def __init__(self, session: AsyncSession) -> None:
        self.info = session.sync_session.info
        self.rows: list[Any] = []
        self.info[_ADDED] = self.rows

    def close(self) -> None:
        if self.info.get(_ADDED) is self.rows:
            del self.info[_ADDED]


@event.listens_for(Session, "transient_to_pending")
def _added(session: Session, instance: Any) -> None:
    rows = session.info.get(_ADDED)
    if rows is not None:
        rows.append(instance)


def outcome(status: int) -> str:
    if status < 400:
        return "succeeded"
    if status in (401, 403):
        return "denied"
    return "failed" if status < 500 else "error"


def _failure(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, AppError):
        return exc.status, exc.detail
    if isinstance(exc, RequestValidationError):
        # Field names and messages only: the errors' `input` may hold the very secrets redacted.
        fields = [".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()]
        return 422, "invalid: " + ", ".join(fields[:20])
    if isinstance(exc, HTTPException):
        return exc.status_code, str(exc.detail)
    return 500, type(exc).__name__


def _object_id(
    request: Request, session: AsyncSession | None, target: AuditTarget, added: list[Any]
) -> str | None:
    if target.id_param:
        value = request.path_params.get(target.id_param)
        return str(value)[:64] if value is not None else None
    if target.created_table is None or session is None:
        return None

    def of_table(rows: Any) -> list[Any]:
        return [row for row in rows if getattr(row, "__tablename__", None) == target.created_table]

    # A new row; else the one such row the route touched (an idempotent replay answers with
    # the object it created the first time).
    created = of_table(added)
    if created:
        return str(created[0].id)
    touched = {str(row.id) for row in of_table(session.identity_map.values())}
    return touched.pop() if len(touched) == 1 else None


async def _change(request: Request) -> Any:
    body = await request.body()  # FastAPI has read it already; this is the cached copy
    if not body:
        return None
    try:
        return redact(json.loads(body))
    except (ValueError, RecursionError):
        return {"unparsed": f"{len(body)} bytes of {request.headers.get('content-type')}"}


def _event(
    principal: Principal, action: str, target: AuditTarget, object_id: str | None, detail: dict
) -> AuditEvent:
    return new_row(
        AuditEvent,
        tenant_id=principal.tenant_id,
        actor=principal.subject[:200],
        actor_issuer=principal.issuer[:500],
        action=action[:64],
        object_type=target.object_type[:32],
        object_id=object_id,
        detail=detail,
    )


def _context(request: Request, principal: Principal) -> dict[str, Any]:
    return {
        "request_id": request_id_var.get(),
        "client_id": principal.client_id,
        "method": request.method,
        "path": request.url.path,
    }


async def _record_alone(
    request: Request,
    principal: Principal,
    runtime: Runtime,
    action: str,
    target: AuditTarget,
    context: dict[str, Any],
    exc: Exception,
) -> None:
    """A failed call's row, in a transaction of its own (the request's rolled back)."""
    status, reason = _failure(exc)
    detail = {**context, "status": status, "outcome": outcome(status), "error": reason[:500]}
    detail["change"] = await _change(request)
    object_id = _object_id(request, None, target, []) if target.id_param else None
    try:
        async with runtime.sessions() as own:
            own.add(_event(principal, action, target, object_id, detail))
            await own.commit()
    except Exception:
        # The caller gets the original error either way; this one must not replace it.
        log.exception("could not record a failed %s in the audit log", action)


async def record_refusal(
    request: Request, principal: Principal, runtime: Runtime, exc: Exception
) -> None:
    """Record a call refused before its route ran (the route guard's scope check), the same
    way the dependency below records one refused inside it."""
    route = request.scope.get("route")
    found = target_for(route, request.method) if isinstance(route, APIRoute) else None
    if found is not None:
        action, target = found
        context = _context(request, principal)
        await _record_alone(request, principal, runtime, action, target, context, exc)


async def audit_request(
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
) -> AsyncIterator[None]:
    route = request.scope.get("route")
    found = target_for(route, request.method) if isinstance(route, APIRoute) else None
    if found is None:
        yield
        return
    action, target = found
    context = _context(request, principal)
    added = _NewRows(session)

    async def record_failure(exc: Exception) -> None:
        await session.rollback()  # first: on SQLite it holds the write lock the record needs
        await _record_alone(request, principal, runtime, action, target, context, exc)

    try:
        yield
    except Exception as exc:
        added.close()
        await record_failure(exc)
        raise
    added.close()
    status = response.status_code or route.status_code or 200
    detail = {**context, "status": status, "outcome": outcome(status)}
    detail["change"] = await _change(request)
    # A route that records its own, more specific event (key exports do) gets the request's
    # context on it instead of a second row.
    own_events = [row for row in added.rows if isinstance(row, AuditEvent)]
    for recorded in own_events:
        recorded.detail = {**detail, **recorded.detail}
    try:
        # Now rather than at commit, so a change the database refuses is recorded as failed.
        if own_events:
            await session.flush()
        else:
            object_id = _object_id(request, session, target, added.rows)
            # The events the route's changes mean are decided first, so that the row (with the
            # rows the route left to insert_later) can be the transaction's last statement.
            decide_now(session)
            await insert_last(session, [_event(principal, action, target, object_id, detail)])
    except Exception as exc:
        await record_failure(exc)
        raise
