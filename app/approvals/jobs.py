"""Approval jobs: expire a request nobody decided on in time."""

from __future__ import annotations

from app.approvals.service import EXPIRE_JOB, expire
from app.jobs.handlers import JobContext, job_handler
from app.jobs.service import JobResult


@job_handler(EXPIRE_JOB)
async def expire_approval(ctx: JobContext) -> JobResult:
    assert ctx.job.subject_id is not None
    await expire(ctx.session, ctx.job.subject_id)
    return JobResult.done()
