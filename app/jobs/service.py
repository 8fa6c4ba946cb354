"""Job rules: staging, claiming (so a double delivery runs once), outcomes, retries, reconciling."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.errors import NotFound
from app.jobs.models import ACTIVE_STATES, Job, JobState
from app.outbox import stage_job


@dataclass(frozen=True, slots=True)
class JobResult:
    """What a handler reports: done, or run me again after `again_in` seconds (progress, not
    failure: e.g. the CA said "not yet")."""

    again_in: float | None = None
    note: str | None = None

    @classmethod
    def done(cls) -> JobResult:
        return cls()

    @classmethod
    def later(cls, seconds: float, note: str | None = None) -> JobResult:
        return cls(again_in=max(0.0, seconds), note=note)


class PermanentJobError(Exception):
    """A failure retrying cannot fix (bad input, refused by the CA): the job fails at once."""


async def enqueue_job(
    session: AsyncSession,
    kind: str,
    *,
    tenant_id: str | None = None,
    subject: tuple[str, str] | None = None,
    payload: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    run_at: dt.datetime | None = None,
    max_failures: int = 20,
) -> Job:
    """Create a job and stage it in the caller's transaction.

    With a `dedupe_key`, an active job under the same key is returned instead of a second one.
    """
    if dedupe_key:
        existing = (
            await session.execute(
                select(Job).where(Job.dedupe_key == dedupe_key, Job.state.in_(ACTIVE_STATES))  # type: ignore[attr-defined]
            )
        ).scalar_one_or_none()
        if existing is not None:
            return existing
    job = Job(
        kind=kind,
        tenant_id=tenant_id,
        subject_type=subject[0] if subject else None,
        subject_id=subject[1] if subject else None,
        payload=payload or {},
        dedupe_key=dedupe_key,
        max_failures=max_failures,
    )
    stage_job(session, job, run_at)
    return job


async def claim(
    session: AsyncSession, job_id: str, enqueue_seq: int | None, lease: float
) -> Job | None:
    """Take the job for this execution, or None when it is not ours to run (already done,
    superseded by a later staging, or running under another worker's live lease)."""
    now = utcnow()
    conditions = [
        Job.state.in_((JobState.PENDING, JobState.QUEUED)),  # type: ignore[attr-defined]
        (Job.state == JobState.RUNNING) & (Job.lease_until < now),  # type: ignore[operator]
    ]
    stmt = (
        update(Job)
        .where(Job.id == job_id, or_(*conditions))
        .values(
            state=JobState.RUNNING,
            lease_until=now + dt.timedelta(seconds=lease),
            attempts=Job.attempts + 1,
            started_at=now,
            updated_at=now,
        )
    )
    if enqueue_seq is not None:
        stmt = stmt.where(Job.enqueue_seq == enqueue_seq)
    result = await session.execute(stmt)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    job = await session.get(Job, job_id, populate_existing=True)
    return job


def backoff_seconds(failures: int, base: float = 2.0, cap: float = 600.0) -> float:
    """Exponential backoff with full jitter: 2, 4, 8 … seconds, capped, randomised."""
    return random.uniform(base / 2, min(cap, base * 2 ** max(0, failures - 1)))


def record_success(session: AsyncSession, job: Job, result: JobResult) -> None:
    job.failures = 0
    job.lease_until = None
    if result.again_in is not None:
        job.last_error = None
        stage_job(session, job, utcnow() + dt.timedelta(seconds=result.again_in))
        return
    job.state = JobState.SUCCEEDED
    job.finished_at = job.updated_at = utcnow()
    job.last_error = None
    session.add(job)


def record_failure(session: AsyncSession, job: Job, error: str, *, permanent: bool) -> bool:
    """Count the failure; retry with backoff unless exhausted. True when the job is now failed."""
    job.failures += 1
    job.lease_until = None
    job.last_error = error[:2000]
    if permanent or job.failures >= job.max_failures:
        job.state = JobState.FAILED
        job.finished_at = job.updated_at = utcnow()
        session.add(job)
        return True
    stage_job(session, job, utcnow() + dt.timedelta(seconds=backoff_seconds(job.failures)))
    return False


async def get_job(session: AsyncSession, job_id: str, tenant_id: str) -> Job:
    job = await session.get(Job, job_id)
    if job is None or job.tenant_id != tenant_id:
        raise NotFound(f"job {job_id} not found")
    return job


JobPresent = Callable[[str], Awaitable[bool]]


async def reconcile(session: AsyncSession, present_in_redis: JobPresent, stale_after: float) -> int:
    """Re-stage active jobs that Redis no longer holds. Caller commits. Returns the count.

    A job counts as lost when it was handed to Redis (queued) or claimed (running with an
    expired lease) more than `stale_after` seconds ago, is due, and Redis has no entry for its
    current arq id. Pending jobs still have an unrelayed outbox row, which the relay sends.
    """
    cutoff = utcnow() - dt.timedelta(seconds=stale_after)
    candidates = (
        await session.execute(
            select(Job)
            .where(Job.state.in_((JobState.QUEUED, JobState.RUNNING)))  # type: ignore[attr-defined]
            .where(Job.updated_at < cutoff, Job.run_at < utcnow())
            .order_by(Job.run_at)
            .limit(500)
        )
    ).scalars()
    restaged = 0
    for job in candidates:
        if job.state == JobState.RUNNING and job.lease_until and job.lease_until > utcnow():
            continue
        if await present_in_redis(job.arq_job_id):
            continue
        stage_job(session, job)
        restaged += 1
    return restaged
