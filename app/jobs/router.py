"""GET /v1/jobs/{id}: what a piece of background work is doing."""

from __future__ import annotations

from fastapi import APIRouter

from app.auth.dependencies import require_scopes
from app.auth.principal import Scope
from app.deps import DbSession
from app.http.routing import GuardedRoute
from app.jobs import service
from app.jobs.schemas import JobPublic

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], route_class=GuardedRoute)

Reader = require_scopes(Scope.CERTIFICATES_READ)


@router.get(
    "/{job_id}",
    operation_id="jobs_get",
    summary="Get a job",
    description="Kind, state, attempts, last error and timestamps of one background job.",
    response_model=JobPublic,
    responses={404: {"description": "No such job in your tenant"}},
)
async def get_job(job_id: str, session: DbSession, principal: Reader) -> JobPublic:
    job = await service.get_job(session, job_id, principal.tenant_id)
    return JobPublic.model_validate(job)
