"""The certificates API: order, preflight, list, read, events, revoke."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Header, Query, Response

from app import db_rows
from app.auth.dependencies import require_scopes
from app.auth.principal import Scope
from app.certificates import ordering, service
from app.certificates.models import Certificate, CertificateStatus
from app.certificates.revocation import request_revocation
from app.certificates.schemas import (
    REASON_CODES,
    CertificateCreate,
    CertificateEventPage,
    CertificateEventPublic,
    CertificatePage,
    CertificatePublic,
    CertificateUpdate,
    Preflight,
    RevokeRequest,
)
from app.db import utcnow
from app.deps import DbSession, RuntimeDep
from app.errors import Unprocessable
from app.http.pages import DEFAULT_LIMIT, MAX_LIMIT
from app.http.routing import GuardedRoute
from app.lifecycle.renewal import schedule_renewal

router = APIRouter(prefix="/v1/certificates", tags=["certificates"], route_class=GuardedRoute)

Reader = require_scopes(Scope.CERTIFICATES_READ)
Writer = require_scopes(Scope.CERTIFICATES_WRITE)
NOT_FOUND = {404: {"description": "No such certificate in your tenant"}}
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Retry safely: the same key and body answer the first result; "
        "the same key with another body is a 409.",
    ),
]


@router.post(
    "",
    operation_id="certificates_create",
    status_code=202,
    response_model=CertificatePublic,
    responses={
        409: {"description": "Idempotency-Key reused with a different body"},
        422: {"description": "A check failed; `errors` names each field and why"},
    },
)
async def create_certificate(
    body: CertificateCreate,
    response: Response,
    session: DbSession,
    runtime: RuntimeDep,
    caller: Writer,
    idempotency_key: IdempotencyKey = None,
) -> CertificatePublic:
    """Order a certificate. Every check runs before anything is queued; the answer is 202 with
    the certificate's `Location` and the job that works on it (`job_id`)."""
    # The order's rows go out with the audit row (app/audit/capture.py), in one statement on
    # PostgreSQL, and the checks' reads before it outside a transaction when that statement is
    # all the order writes (an Idempotency-Key claims its key first).
    if idempotency_key is None:
        await db_rows.reads_alone(session)
    cert, _created = await ordering.request_certificate(
        session, runtime, caller, body, idempotency_key, insert_later=True
    )
    response.headers["Location"] = f"/v1/certificates/{cert.id}"
    return CertificatePublic.model_validate(cert)


@router.post("/preflight", operation_id="certificates_preflight", response_model=Preflight)
async def preflight(
    body: CertificateCreate, session: DbSession, runtime: RuntimeDep, caller: Reader
) -> Preflight:
    """Run the ordering checks without ordering: what would happen, and what would fail."""
    plan = await ordering.plan_order(session, caller.tenant_id, body, runtime)
    return Preflight(
        ok=not plan.problems,
        problems=[{"field": p.field, "message": p.message, "type": p.kind} for p in plan.problems],
        backend=plan.backend.value if plan.backend else None,
        validation_level=plan.product.validation_level.value if plan.product else None,
        approval_required=plan.approval_required,
        term_days=plan.term_days,
        names=plan.names,
        names_needing_validation=plan.needs_validation,
    )


def _labels(values: list[str]) -> dict[str, str]:
    labels = {}
    for index, value in enumerate(values):
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise Unprocessable.field(f"query.label.{index}", "use key=value")
        labels[key] = val
    return labels


# What a listed certificate shows, read as columns (not the PEMs and keys a row also holds).
_PUBLIC_COLUMNS = tuple(getattr(Certificate, name) for name in CertificatePublic.model_fields)


@router.get("", operation_id="certificates_list", response_model=CertificatePage)
async def list_certificates(
    session: DbSession,
    caller: Reader,
    status: Annotated[list[CertificateStatus] | None, Query()] = None,
    product: str | None = None,
    validation_level: Annotated[str | None, Query(pattern="^(DV|OV|EV)$")] = None,
    organization_id: str | None = None,
    name: Annotated[str | None, Query(description="substring of any name, CN or SAN")] = None,
    expires_before: dt.datetime | None = None,
    expires_after: dt.datetime | None = None,
    label: Annotated[list[str], Query(description="key=value, repeatable")] = [],  # noqa: B006
    source: Annotated[
        Literal["broker", "scm_import", "upload"] | None,
        Query(description="ordered through the broker, imported from SCM, or uploaded"),
    ] = None,
    sort: Annotated[str, Query(pattern="^-?(created_at|not_after)$")] = "-created_at",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CertificatePage:
    items, next_cursor = await service.list_certificates(
        session,
        caller.tenant_id,
        status=status,
        product=product,
        validation_level=validation_level,
        organization_id=organization_id,
        name=name,
        expires_before=expires_before,
        expires_after=expires_after,
        label=_labels(label),
        source=source,
        sort=sort,
        cursor=cursor,
        limit=limit,
        columns=_PUBLIC_COLUMNS,
    )
    page = CertificatePage(
        items=[CertificatePublic.model_validate(c) for c in items],
        next_cursor=next_cursor,
        limit=limit,
    )
    # Built and checked just above: serialized once, not validated again against the model.
    return Response(page.model_dump_json(), media_type="application/json")  # type: ignore[return-value]


@router.get(
    "/{certificate_id}",
    operation_id="certificates_get",
    response_model=CertificatePublic,
    responses=NOT_FOUND,
)
async def get_certificate(
    certificate_id: str, session: DbSession, caller: Reader
) -> CertificatePublic:
    return CertificatePublic.model_validate(
        await service.get_certificate(session, certificate_id, caller.tenant_id)
    )


@router.patch(
    "/{certificate_id}",
    operation_id="certificates_update",
    response_model=CertificatePublic,
    responses=NOT_FOUND,
)
async def update_certificate(
    certificate_id: str,
    body: CertificateUpdate,
    session: DbSession,
    runtime: RuntimeDep,
    caller: Writer,
) -> CertificatePublic:
    """Change labels, comments or renewal settings. Turning auto-renewal on or off, or moving
    the window, reschedules the renewal at once."""
    cert = await service.get_certificate(session, certificate_id, caller.tenant_id)
    changes = body.model_dump(exclude_unset=True)
    service.update_certificate(cert, changes)
    if {"auto_renew", "renew_before_days"} & changes.keys():
        schedule_renewal(cert, runtime.settings.lifecycle, utcnow())
    changed = ", ".join(sorted(changes)) or "nothing"
    service.transition(session, cert, None, caller.subject, f"updated {changed}")
    return CertificatePublic.model_validate(cert)


@router.get(
    "/{certificate_id}/events",
    operation_id="certificates_events",
    response_model=CertificateEventPage,
    responses=NOT_FOUND,
)
async def certificate_events(
    certificate_id: str,
    session: DbSession,
    caller: Reader,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> CertificateEventPage:
    """Every status change and note, oldest first."""
    cert = await service.get_certificate(session, certificate_id, caller.tenant_id)
    events, next_cursor = await service.list_events(session, cert, cursor=cursor, limit=limit)
    return CertificateEventPage(
        items=[CertificateEventPublic.model_validate(e) for e in events],
        next_cursor=next_cursor,
        limit=limit,
    )


@router.post(
    "/{certificate_id}/revoke",
    operation_id="certificates_revoke",
    status_code=202,
    response_model=CertificatePublic,
    responses={**NOT_FOUND, 409: {"description": "Not issued, or already revoked"}},
)
async def revoke_certificate(
    certificate_id: str,
    session: DbSession,
    caller: Writer,
    body: Annotated[RevokeRequest | None, Body()] = None,
) -> CertificatePublic:
    """Revoke through the backend that issued it (RFC 5280 reason; no body means
    `unspecified`). Answers 202; the status becomes `revoked` when the CA confirmed."""
    body = body or RevokeRequest()
    cert = await service.get_certificate(session, certificate_id, caller.tenant_id)
    await request_revocation(session, cert, REASON_CODES[body.reason], caller.subject, body.comment)
    return CertificatePublic.model_validate(cert)
