"""GET /v1/approvals and POST /v1/approvals/{id}/approve|reject."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.approvals import service
from app.approvals.models import ApprovalStatus
from app.approvals.schemas import ApprovalPage, ApprovalPublic, Decision, DecisionResult
from app.auth.dependencies import require_scopes
from app.auth.principal import Scope
from app.certificates.schemas import CertificatePublic
from app.deps import DbSession
from app.http.pages import DEFAULT_LIMIT, MAX_LIMIT
from app.http.routing import GuardedRoute

router = APIRouter(prefix="/v1/approvals", tags=["approvals"], route_class=GuardedRoute)

Reader = require_scopes(Scope.CERTIFICATES_READ)
Approver = require_scopes(Scope.APPROVALS_WRITE)
DECISION_ERRORS = {
    403: {"description": "Not a listed approver, or the requester itself"},
    404: {"description": "No such approval in your tenant"},
    409: {"description": "Already decided, or expired"},
}


@router.get("", operation_id="approvals_list", response_model=ApprovalPage)
async def list_approvals(
    session: DbSession,
    caller: Reader,
    status: ApprovalStatus | None = ApprovalStatus.PENDING,
    organization_id: str | None = None,
    certificate_id: str | None = None,
    decidable_by_me: Annotated[
        bool,
        Query(
            description="Only the requests the caller may decide: listed as an approver for "
            "the organization and validation level, and not the requester"
        ),
    ] = False,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> ApprovalPage:
    """Requests waiting for a decision, oldest first (or, with `status`, decided ones)."""
    rows, next_cursor = await service.list_approvals(
        session,
        caller.tenant_id,
        status=status,
        organization_id=organization_id,
        certificate_id=certificate_id,
        decidable_by=caller if decidable_by_me else None,
        cursor=cursor,
        limit=limit,
    )
    return ApprovalPage(
        items=[ApprovalPublic.model_validate(row) for row in rows],
        next_cursor=next_cursor,
        limit=limit,
    )


@router.get("/{approval_id}", operation_id="approvals_get", response_model=ApprovalPublic)
async def get_approval(approval_id: str, session: DbSession, caller: Reader) -> ApprovalPublic:
    return ApprovalPublic.model_validate(
        await service.get_approval(session, approval_id, caller.tenant_id)
    )


async def _decide(
    approval_id: str, body: Decision, session: DbSession, caller: object, approve: bool
) -> DecisionResult:
    approval = await service.get_approval(session, approval_id, caller.tenant_id)  # type: ignore[attr-defined]
    cert = await service.decide(session, approval, caller, approve, body.comment)  # type: ignore[arg-type]
    return DecisionResult(
        approval=ApprovalPublic.model_validate(approval),
        certificate=CertificatePublic.model_validate(cert),
    )


@router.post(
    "/{approval_id}/approve",
    operation_id="approvals_approve",
    response_model=DecisionResult,
    responses=DECISION_ERRORS,
)
async def approve(
    approval_id: str, body: Decision, session: DbSession, caller: Approver
) -> DecisionResult:
    """Approve: the certificate goes on to validation or issuance. Only approvers listed for
    the organization and validation level may; never the requester."""
    return await _decide(approval_id, body, session, caller, approve=True)


@router.post(
    "/{approval_id}/reject",
    operation_id="approvals_reject",
    response_model=DecisionResult,
    responses=DECISION_ERRORS,
)
async def reject(
    approval_id: str, body: Decision, session: DbSession, caller: Approver
) -> DecisionResult:
    """Reject: the certificate ends as `rejected` with your comment."""
    return await _decide(approval_id, body, session, caller, approve=False)
