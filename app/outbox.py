"""The transactional outbox: jobs are staged in the same transaction as the state they act on,
and a relay hands them to Redis only after that transaction committed.

Redis may lose everything; the database does not. The relay is at-least-once, the worker's
claim makes delivery effectively once, and the reconciler re-stages work whose Redis entry
vanished.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow
from app.db_rows import new_row
from app.jobs.models import Job, JobState
from app.redis_lane import RedisLane

log = logging.getLogger("certbroker.outbox")

NUDGE_SUFFIX = ":outbox-nudge"
# Set in `session.info` when the transaction staged work, or may stage some when it flushes
# (webhook deliveries are decided at flush): a caller that looks before the commit nudges then.
STAGED_FLAG = "outbox_staged"
# How many messages the session did stage: exact once its transaction committed, so a caller
# that looks after the commit nudges only for real work.
STAGED_COUNT = "outbox_staged_count"


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(foreign_key="job.id", index=True, max_length=32)
    enqueue_seq: int
    defer_until: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    relayed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)


def stage_job(session: AsyncSession, job: Job, run_at: dt.datetime | None = None) -> None:
    """Mark `job` for hand-over to Redis once the surrounding transaction commits."""
    job.enqueue_seq += 1
    job.state = JobState.PENDING
    job.run_at = run_at or utcnow()
    job.updated_at = utcnow()
    session.add(job)
    add_message(
        session,
        new_row(OutboxMessage, job_id=job.id, enqueue_seq=job.enqueue_seq, defer_until=job.run_at),
    )


def add_message(session: AsyncSession, message: OutboxMessage) -> None:
    """Add an outbox message to the caller's transaction and note it for the nudge."""
    session.add(message)
    session.info[STAGED_FLAG] = True
    session.info[STAGED_COUNT] = session.info.get(STAGED_COUNT, 0) + 1


async def nudge(redis: Redis, queue_name: str, lane: RedisLane | None = None) -> None:
    """Wake the relay after a commit that staged work; losing a nudge only costs latency.
    With the process's lean lane (app/redis_lane.py, the API's requests) the two commands go
    out in one write at a fraction of redis-py's pipeline cost."""
    key = queue_name + NUDGE_SUFFIX
    try:
        if lane is not None:
            replies = await asyncio.gather(
                lane.execute("LPUSH", key, b"1"),
                lane.execute("LTRIM", key, 0, 0),
                return_exceptions=True,
            )
            for reply in replies:
                if isinstance(reply, Exception):
                    raise reply
            return
        async with redis.pipeline(transaction=False) as pipe:  # one round trip
            pipe.lpush(key, b"1")
            pipe.ltrim(key, 0, 0)
            await pipe.execute()
    except Exception as exc:  # Redis down: the relay's own polling still finds the rows
        log.warning("outbox nudge failed: %s", type(exc).__name__)


# [(arq job id, job id, defer until)], handed over together.
Enqueue = Callable[[list[tuple[str, str, dt.datetime]]], Awaitable[None]]


async def relay_batch(session: AsyncSession, enqueue: Enqueue, limit: int = 100) -> int:
    """Hand unrelayed messages to Redis; returns how many. Caller commits.

    `enqueue(batch)` must be idempotent for one arq job id (arq refuses a second job under an
    id it still holds), so a crash after enqueue and before the commit only repeats a no-op.
    """
    query = (
        select(OutboxMessage, Job)
        .join(Job, Job.id == OutboxMessage.job_id)
        .where(OutboxMessage.relayed_at.is_(None))  # type: ignore[union-attr]
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    if session.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
        query = query.with_for_update(skip_locked=True, of=OutboxMessage)
    rows = (await session.execute(query)).all()
    if not rows:
        return 0
    now = utcnow()
    # A message superseded by a later staging of the same job is dropped, not sent.
    due = [
        (message, job)
        for message, job in rows
        if message.enqueue_seq == job.enqueue_seq and job.state == JobState.PENDING
    ]
    if due:
        await enqueue(
            [
                (f"cb:{job.id}:{job.enqueue_seq}", job.id, message.defer_until)
                for message, job in due
            ]
        )
        await session.execute(
            update(Job)
            .where(
                tuple_(Job.id, Job.enqueue_seq).in_([(job.id, job.enqueue_seq) for _, job in due])
            )
            .where(Job.state == JobState.PENDING)
            .values(state=JobState.QUEUED, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_([message.id for message, _ in rows]))  # type: ignore[union-attr]
        .values(relayed_at=now)
        .execution_options(synchronize_session=False)
    )
    return len(rows)
