"""Lifecycle work for the worker: the renewal job, and the two crons (renewal scheduler and
expiry check) at `lifecycle.check_interval_seconds`."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from arq import cron
from arq.cron import CronJob

from app.db import utcnow
from app.jobs.handlers import JobContext, job_handler
from app.jobs.service import JobResult
from app.lifecycle.expiry import check_expiry
from app.lifecycle.renewal import RENEW_JOB, advance_renewal
from app.lifecycle.scheduler import schedule_renewals
from app.outbox import STAGED_FLAG, nudge
from app.runtime import Runtime
from app.settings import Settings

log = logging.getLogger("certbroker.lifecycle")


@job_handler(RENEW_JOB)
async def renew_certificate(ctx: JobContext) -> JobResult:
    assert ctx.job.subject_id is not None
    return await advance_renewal(ctx.session, ctx.runtime, ctx.job.subject_id, ctx.job.attempts)


async def check_expiry_all(
    runtime: Runtime, now: dt.datetime | None = None, tenant_id: str | None = None
) -> int:
    """Every certificate (of one tenant, or all) whose next threshold is due by `now`, batch by
    batch, each batch one transaction. Returns how many were looked at."""
    now = now or utcnow()
    limit = runtime.settings.lifecycle.batch_size
    total, staged = 0, False
    while True:
        async with runtime.sessions() as session:
            count = await check_expiry(session, now, limit, tenant_id)
            staged = staged or bool(session.info.get(STAGED_FLAG))
            await session.commit()
        total += count
        if count < limit:
            break
    if staged:  # webhook deliveries
        await nudge(runtime.redis, runtime.settings.jobs.queue_name)
    return total


async def renewal_cron(ctx: dict[str, Any]) -> int:
    return await schedule_renewals(ctx["runtime"])


async def expiry_cron(ctx: dict[str, Any]) -> int:
    return await check_expiry_all(ctx["runtime"])


def _every(seconds: int) -> dict[str, Any]:
    """arq cron fields for roughly every `seconds` (rounded to whole minutes or hours)."""
    if seconds < 60:
        return {"second": set(range(0, 60, seconds))}
    if seconds < 3600:
        return {"minute": set(range(0, 60, max(1, seconds // 60))), "second": 0}
    return {"hour": set(range(0, 24, max(1, seconds // 3600))), "minute": 0, "second": 0}


def lifecycle_crons(settings: Settings) -> list[CronJob]:
    schedule = _every(settings.lifecycle.check_interval_seconds)
    return [
        cron(renewal_cron, name="lifecycle.renewals", unique=True, **schedule),
        cron(expiry_cron, name="lifecycle.expiry", unique=True, **schedule),
    ]
