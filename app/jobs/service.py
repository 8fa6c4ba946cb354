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
from app.db_rows import execute_with, new_row
from app.errors import NotFound
from app.jobs.models import ACTIVE_STATES, Job, JobState
from app.outbox import OutboxMessage, add_message, stage_job


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
    new_subject: bool = False,
) -> Job:
    """Create a job and stage it in the caller's transaction.

    With a `dedupe_key`, an active job under the same key is returned instead of a second one;
    `new_subject=True` says the subject was created in this very transaction, so no job can
    exist under its key yet and the lookup (a flush and a round trip) is skipped.
    """
    if dedupe_key and not new_subject:
        existing = (
            await session.execute(
                select(Job).where(Job.dedupe_key == dedupe_key, Job.state.in_(ACTIVE_STATES))  # type: ignore[attr-defined]
            )
        ).scalar_one_or_none()
        if existing is not None:
            return existing
    job = new_row(
        Job,
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
    session: AsyncSession,
    job_id: str,
    enqueue_seq: int | None,
    lease: float,
    worker: str | None = None,
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
            claimed_by=worker,
            attempts=Job.attempts + 1,
            started_at=now,
            updated_at=now,
        )
    )
    if enqueue_seq is not None:
        stmt = stmt.where(Job.enqueue_seq == enqueue_seq)
    # The claimed row comes back with the update (one round trip), replacing any stale copy.
    stmt = stmt.returning(Job).execution_options(synchronize_session=False, populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def still_claimed(
    session: AsyncSession, job_id: str, worker: str | None, attempts: int
) -> bool:
    """Whether this execution still holds its claim, locking the row (PostgreSQL) until the
    caller commits. False when the lease expired and the job was re-staged or claimed again:
    the execution is superseded and must not record its outcome."""
    row = (
        await session.execute(
            select(Job.state, Job.claimed_by, Job.attempts)
            .where(Job.id == job_id)
            .with_for_update()
        )
    ).one_or_none()
    return row is not None and tuple(row) == (JobState.RUNNING, worker, attempts)


async def hand_back(session: AsyncSession, job_id: str, worker: str | None, attempts: int) -> bool:
    """Give a claimed job back for another worker to run at once (graceful shutdown): staged
    again, no failure counted. Caller commits. False when the claim was no longer ours."""
    if not await still_claimed(session, job_id, worker, attempts):
        return False
    job = await session.get(Job, job_id, populate_existing=True)
    assert job is not None
    job.lease_until = None
    job.claimed_by = None
    stage_job(session, job)
    return True


def backoff_seconds(failures: int, base: float = 2.0, cap: float = 600.0) -> float:
    """Exponential backoff with full jitter: 2, 4, 8 … seconds, capped, randomised."""
    return random.uniform(base / 2, min(cap, base * 2 ** max(0, failures - 1)))


# `session.info` key: data-changing statements (no RETURNING) the handler leaves for the
# transaction that records its success, on PostgreSQL in the job's UPDATE statement; rolled back
# with it when the execution was superseded, dropped when the handler failed.
WITH_OUTCOME = "job_with_outcome"


def with_outcome(session: AsyncSession, statement: Any) -> None:
    """Run `statement` in the transaction that records the job's success (see WITH_OUTCOME)."""
    session.info.setdefault(WITH_OUTCOME, []).append(statement)


async def record_success(
    session: AsyncSession, job: Job, result: JobResult, worker: str | None, attempts: int
) -> bool:
    """Record the handler's result if this execution still holds its claim: one conditional
    UPDATE, which (like `still_claimed`) locks the row until the caller commits. False when the
    lease lapsed and the job was re-staged or claimed again: the execution is superseded, and
    the caller rolls back instead."""
    jobs = Job.__table__  # type: ignore[attr-defined]
    now = utcnow()
    values: dict[str, Any] = {
        "failures": 0,
        "lease_until": None,
        "claimed_by": None,
        "last_error": None,
        "updated_at": now,
    }
    run_at = None
    if result.again_in is not None:
        run_at = now + dt.timedelta(seconds=result.again_in)
        values.update(state=JobState.PENDING, enqueue_seq=jobs.c.enqueue_seq + 1, run_at=run_at)
    else:
        values.update(state=JobState.SUCCEEDED, finished_at=now)
    # The handler's changes are flushed first, as autoflush did; the UPDATE goes to the table
    # on the session's connection, without the ORM's bulk-update machinery around it.
    await session.flush()
    connection = await session.connection()
    stmt = (
        update(jobs)
        .where(
            jobs.c.id == job.id,
            jobs.c.state == JobState.RUNNING,
            jobs.c.claimed_by == worker,
            jobs.c.attempts == attempts,
        )
        .values(**values)
        .returning(jobs.c.enqueue_seq)
    )
    result = await execute_with(connection, stmt, session.info.pop(WITH_OUTCOME, ()))
    seq = result.scalar_one_or_none()
    if seq is None:
        return False
    if run_at is not None:  # staged again, as stage_job does
        add_message(session, OutboxMessage(job_id=job.id, enqueue_seq=seq, defer_until=run_at))
    return True


def record_failure(session: AsyncSession, job: Job, error: str, *, permanent: bool) -> bool:
    """Count the failure; retry with backoff unless exhausted. True when the job is now failed."""
    job.failures += 1
    job.lease_until = None
    job.claimed_by = None
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


# The arq job ids, among those given, that Redis holds waiting to run.
JobPresent = Callable[[list[str]], Awaitable[set[str]]]
JobsForget = Callable[[list[str]], Awaitable[None]]


async def _restage(session: AsyncSession, job: Job, now: dt.datetime, *conditions: Any) -> bool:
    """Stage `job` again under a new arq id, if it is still what the caller saw (several
    reconcilers run at once: the conditional update lets exactly one of them win)."""
    seq = job.enqueue_seq + 1
    # It keeps its (past) run time, so arq, which orders its queue by that, runs recovered
    # work before work that became due since.
    run_at = min(job.run_at, now)
    result = await session.execute(
        update(Job)
        .where(Job.id == job.id, Job.enqueue_seq == job.enqueue_seq, Job.state == job.state)
        .where(*conditions)
        .values(
            enqueue_seq=seq,
            state=JobState.PENDING,
            run_at=run_at,
            updated_at=now,
            lease_until=None,
            claimed_by=None,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    add_message(session, OutboxMessage(job_id=job.id, enqueue_seq=seq, defer_until=run_at))
    return True


async def reconcile(
    session: AsyncSession,
    present_in_redis: JobPresent,
    stale_after: float,
    limit: int = 500,
    superseded: list[str] | None = None,
) -> int:
    """Re-stage lost work. Caller commits. Returns the count. Safe to run in every worker.

    - A running job whose lease expired: its worker died (or stopped renewing). It is staged
      again under a new arq job id whatever Redis still holds, so a stale arq in-progress key of
      the dead execution cannot block the retry; the dead execution, should it ever resume,
      finds its claim gone and records nothing (`still_claimed`).
    - A queued job due for more than `stale_after` seconds that Redis does not hold waiting
      (no job entry, or an in-progress entry nobody claimed: a worker died between arq's pick
      and the claim). Pending jobs still have an unrelayed outbox row, which the relay sends.

    The arq job ids so replaced are appended to `superseded`, for the caller to remove from
    Redis after the commit: a dead execution's entry stays at the head of arq's queue with its
    in-progress key, and enough of them would hide the rest of the queue from every worker.
    """
    now = utcnow()
    restaged = 0
    expired = (
        await session.execute(
            select(Job)
            .where(Job.state == JobState.RUNNING, Job.lease_until < now)  # type: ignore[operator]
            .order_by(Job.lease_until)
            .limit(limit)
        )
    ).scalars()
    for job in list(expired):
        old = job.arq_job_id
        if await _restage(session, job, now, Job.lease_until < now):  # type: ignore[operator]
            restaged += 1
            if superseded is not None:
                superseded.append(old)
    cutoff = now - dt.timedelta(seconds=stale_after)
    queued = (
        await session.execute(
            select(Job)
            .where(Job.state == JobState.QUEUED, Job.run_at < cutoff, Job.updated_at < cutoff)
            .order_by(Job.run_at)
            .limit(limit)
        )
    ).scalars()
    queued_jobs = list(queued)
    waiting = await present_in_redis([job.arq_job_id for job in queued_jobs])
    for job in queued_jobs:
        old = job.arq_job_id
        if old in waiting:
            continue
        if await _restage(session, job, now):
            restaged += 1
            if superseded is not None:
                superseded.append(old)
    return restaged
