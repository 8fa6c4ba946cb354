"""insert_now: new rows, a referenced table first whatever order they come in, left in the
session as a flush would leave them."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from app.db_rows import insert_now
from app.jobs.models import Job, JobState
from app.outbox import OutboxMessage
from app.runtime import Runtime


async def test_parents_first_then_persistent_and_a_later_change_is_an_update(
    runtime: Runtime,
) -> None:
    job = Job(kind="test.insert_now", state=JobState.PENDING, enqueue_seq=1)
    message = OutboxMessage(job_id=job.id, enqueue_seq=1)  # refers to the job
    other = Job(kind="test.insert_now")
    other_message = OutboxMessage(job_id=other.id, enqueue_seq=1)
    async with runtime.sessions() as session:
        session.add_all([message, job])
        # the referring rows given first; two rows of each table, numbered ones among them
        await insert_now(session, [message, other_message, job, other])
        assert not session.new
        assert inspect(job).persistent and job not in session.dirty
        assert message not in session  # numbered by the database, not read back
        job.state = JobState.QUEUED
        await session.commit()

    async with runtime.sessions() as session:
        stored = await session.get(Job, job.id)
        assert stored is not None and stored.state == JobState.QUEUED
        messages = (
            await session.execute(select(OutboxMessage).where(OutboxMessage.job_id == job.id))
        ).scalars()
        assert [m.enqueue_seq for m in messages] == [1]


async def test_rows_roll_back_with_the_transaction(runtime: Runtime) -> None:
    jobs = [Job(kind="test.insert_now.rollback") for _ in range(3)]  # one statement, three rows
    ids = [job.id for job in jobs]
    async with runtime.sessions() as session:
        await insert_now(session, [])  # nothing to do
        await insert_now(session, jobs)
        await session.rollback()
    async with runtime.sessions() as session:
        found = await session.execute(select(Job.id).where(Job.id.in_(ids)))  # type: ignore[attr-defined]
        assert found.all() == []


async def test_a_refused_row_is_an_integrity_error_like_any_flush(runtime: Runtime) -> None:
    orphan = OutboxMessage(job_id=uuid.uuid4().hex, enqueue_seq=1)  # no such job
    async with runtime.sessions() as session:
        with pytest.raises(IntegrityError):
            await insert_now(session, [Job(kind="test.insert_now.refused"), orphan])
