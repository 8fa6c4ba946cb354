"""The job machinery end to end: outbox → relay → Redis → worker → job row, with a real worker."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import random
from collections.abc import AsyncIterator

import pytest
from arq.connections import RedisSettings, create_pool
from redis.asyncio import Redis

from app.db import session_scope, utcnow
from app.jobs.handlers import HANDLERS, JobContext
from app.jobs.jobs import relay_once, run_job
from app.jobs.models import Job, JobState
from app.jobs.service import JobResult, PermanentJobError, enqueue_job
from app.runtime import Runtime
from app.settings import Settings
from app.webhooks.events import emit
from app.webhooks.models import EventType
from app.worker import build_worker
from tests.fixtures.app import make_settings
from tests.in_process_worker import in_process_worker

EXECUTIONS: collections.Counter[str] = collections.Counter()


async def _record(ctx: JobContext) -> JobResult:
    EXECUTIONS[ctx.job.id] += 1
    return JobResult.done()


async def _twice_then_done(ctx: JobContext) -> JobResult:
    EXECUTIONS[ctx.job.id] += 1
    if EXECUTIONS[ctx.job.id] < 3:
        return JobResult.later(0.05, "not yet")
    return JobResult.done()


async def _flaky(ctx: JobContext) -> JobResult:
    EXECUTIONS[ctx.job.id] += 1
    if EXECUTIONS[ctx.job.id] == 1:
        raise ConnectionError("CA unreachable")
    return JobResult.done()


async def _refused(ctx: JobContext) -> JobResult:
    raise PermanentJobError("the CA refused the request: term not allowed")


async def _announce(ctx: JobContext) -> JobResult:
    # An event for a tenant without webhook subscriptions: nothing is staged for it.
    emit(ctx.session, "t-jobs", EventType.CERTIFICATE_ISSUED, {"certificate": {}})
    return JobResult.later(60) if ctx.job.payload.get("again") else JobResult.done()


HANDLERS.update(
    {
        "test.announce": _announce,
        "test.record": _record,
        "test.progress": _twice_then_done,
        "test.flaky": _flaky,
        "test.refused": _refused,
    }
)


@pytest.fixture(scope="module")
async def isolated(database_url: str) -> AsyncIterator[tuple[Settings, Runtime]]:
    """Settings on a Redis database of its own, so this module may flush it."""
    db_index = random.randint(1, 15)
    settings = make_settings(
        database_url,
        redis_url=f"redis://127.0.0.1:6379/{db_index}",
        jobs={
            "queue_name": f"certbroker-test:jobs:{random.randrange(1 << 30)}",
            "reconcile_interval_seconds": 1,
            "stale_after_seconds": 1,
        },
    )
    runtime = Runtime.build(settings)
    yield settings, runtime
    await runtime.close()


async def stage(runtime: Runtime, kind: str, count: int = 1, **kwargs: object) -> list[str]:
    ids = []
    async with session_scope(runtime.sessions) as session:
        for _ in range(count):
            job = await enqueue_job(session, kind, tenant_id="t-jobs", **kwargs)  # type: ignore[arg-type]
            ids.append(job.id)
    return ids


async def wait_for_states(
    runtime: Runtime, ids: list[str], timeout: float = 20.0
) -> dict[str, Job]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with runtime.sessions() as session:
            jobs = {i: await session.get(Job, i) for i in ids}
        if all(j and j.state in (JobState.SUCCEEDED, JobState.FAILED) for j in jobs.values()):
            return jobs  # type: ignore[return-value]
        if asyncio.get_running_loop().time() > deadline:
            states = {i: j.state if j else None for i, j in jobs.items()}
            raise AssertionError(f"jobs did not finish: {states}")
        await asyncio.sleep(0.1)


async def test_staged_jobs_run_once(isolated: tuple[Settings, Runtime]) -> None:
    settings, runtime = isolated
    ids = await stage(runtime, "test.record", 20)
    async with in_process_worker(settings):
        jobs = await wait_for_states(runtime, ids)
    assert all(job.state == JobState.SUCCEEDED for job in jobs.values())
    assert [EXECUTIONS[i] for i in ids] == [1] * 20


async def test_work_survives_a_redis_flush(isolated: tuple[Settings, Runtime]) -> None:
    """Redis loses everything while work sits queued in it; the reconciler re-stages the work
    from the database and each job still completes exactly once."""
    settings, runtime = isolated
    redis = Redis.from_url(settings.redis_url)
    run_at = utcnow() + dt.timedelta(seconds=1.5)
    ids = await stage(runtime, "test.record", 10, run_at=run_at)
    async with in_process_worker(settings):
        deadline = asyncio.get_running_loop().time() + 10
        while True:  # wait until the relay has handed all of them to Redis
            async with runtime.sessions() as session:
                states = {(await session.get(Job, i)).state for i in ids}  # type: ignore[union-attr]
            if states == {JobState.QUEUED}:
                break
            assert asyncio.get_running_loop().time() < deadline, states
            await asyncio.sleep(0.05)
        await redis.flushdb()
        jobs = await wait_for_states(runtime, ids, timeout=30)
    await redis.aclose()
    assert all(job.state == JobState.SUCCEEDED for job in jobs.values())
    assert [EXECUTIONS[i] for i in ids] == [1] * 10


async def test_flush_after_relay_before_run(isolated: tuple[Settings, Runtime]) -> None:
    settings, runtime = isolated
    redis = Redis.from_url(settings.redis_url)
    ids = await stage(runtime, "test.record", 5)
    pool = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    assert await relay_once(runtime, pool) >= 5
    async with runtime.sessions() as session:
        assert {(await session.get(Job, i)).state for i in ids} == {JobState.QUEUED}  # type: ignore[union-attr]
    await redis.flushdb()  # every queued entry is gone
    await pool.aclose()
    async with in_process_worker(settings):
        jobs = await wait_for_states(runtime, ids, timeout=30)
    await redis.aclose()
    assert all(job.state == JobState.SUCCEEDED for job in jobs.values())
    assert [EXECUTIONS[i] for i in ids] == [1] * 5


async def test_double_delivery_runs_once(isolated: tuple[Settings, Runtime]) -> None:
    _, runtime = isolated
    (job_id,) = await stage(runtime, "test.record")
    async with runtime.sessions() as session:
        seq = (await session.get(Job, job_id)).enqueue_seq  # type: ignore[union-attr]
    ctx = {"runtime": runtime}
    outcomes = await asyncio.gather(*(run_job(ctx, job_id, seq) for _ in range(4)))
    assert sorted(outcomes).count("succeeded") == 1
    assert EXECUTIONS[job_id] == 1


async def test_progress_failure_and_retry(isolated: tuple[Settings, Runtime]) -> None:
    settings, runtime = isolated
    progress = await stage(runtime, "test.progress")
    flaky = await stage(runtime, "test.flaky")
    refused = await stage(runtime, "test.refused")
    async with in_process_worker(settings):
        jobs = await wait_for_states(runtime, progress + flaky + refused, timeout=30)
    assert jobs[progress[0]].state == JobState.SUCCEEDED
    assert jobs[progress[0]].attempts == 3
    assert jobs[flaky[0]].state == JobState.SUCCEEDED
    assert jobs[flaky[0]].attempts == 2
    assert jobs[refused[0]].state == JobState.FAILED
    assert "term not allowed" in (jobs[refused[0]].last_error or "")


async def test_dedupe_key_returns_the_active_job(isolated: tuple[Settings, Runtime]) -> None:
    _, runtime = isolated
    first = await stage(runtime, "test.record", dedupe_key="issue:abc")
    second = await stage(runtime, "test.record", dedupe_key="issue:abc")
    assert first == second


async def test_an_execution_whose_claim_lapsed_records_nothing(
    isolated: tuple[Settings, Runtime],
) -> None:
    from app.jobs.service import claim, record_success

    _, runtime = isolated
    [job_id] = await stage(runtime, "test.record")
    async with session_scope(runtime.sessions) as session:
        mine = await claim(session, job_id, None, lease=0.0, worker="w-old")
    assert mine is not None
    async with session_scope(runtime.sessions) as session:  # the lease lapsed: taken over
        theirs = await claim(session, job_id, None, lease=60.0, worker="w-new")
    assert theirs is not None
    async with runtime.sessions() as session:
        session.add(mine)
        assert not await record_success(session, mine, JobResult.done(), "w-old", mine.attempts)
        await session.rollback()
    async with runtime.sessions() as session:
        session.add(theirs)
        later = JobResult.later(5)
        assert await record_success(session, theirs, later, "w-new", theirs.attempts)
        await session.commit()
    async with runtime.sessions() as session:
        job = await session.get(Job, job_id)
        assert job is not None
        assert (job.state, job.claimed_by, job.enqueue_seq) == (
            JobState.PENDING,
            None,
            theirs.enqueue_seq + 1,
        )


async def test_the_relay_is_nudged_only_for_work_staged(isolated: tuple[Settings, Runtime]) -> None:
    settings, runtime = isolated
    nudges = settings.jobs.queue_name + ":outbox-nudge"
    ctx = {"runtime": runtime}
    for again, nudged in ((False, 0), (True, 1)):
        (job_id,) = await stage(runtime, "test.announce", payload={"again": again})
        await runtime.redis.delete(nudges)
        assert await run_job(ctx, job_id) in ("succeeded", "rescheduled")
        assert await runtime.redis.llen(nudges) == nudged


async def test_a_worker_starts_only_due_jobs_no_execution_has_in_progress(
    isolated: tuple[Settings, Runtime],
) -> None:
    """CertbrokerWorker.start_jobs (one script instead of arq's WATCH/MULTI transaction)."""
    from arq.constants import in_progress_key_prefix
    from arq.utils import timestamp_ms

    settings, _ = isolated
    worker = build_worker(settings, handle_signals=False)
    worker._pool = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    started: list[tuple[str, int]] = []

    async def run_job(job_id: str, score: int) -> None:
        started.append((job_id, score))

    worker.run_job = run_job  # type: ignore[method-assign]
    queue, now = settings.jobs.queue_name, timestamp_ms()
    try:
        await worker.pool.zadd(queue, {"due": now - 5, "running": now - 5, "later": now + 60_000})
        await worker.pool.set(in_progress_key_prefix + "running", b"1")
        await worker.start_jobs([b"due", b"running", b"later", b"gone"])
        await asyncio.gather(*worker.tasks.values())
        assert started == [("due", now - 5)]
        assert await worker.pool.pttl(in_progress_key_prefix + "due") > 0
        assert not await worker.pool.exists(in_progress_key_prefix + "later")
        assert worker.job_counter == 0  # every refusal and the finished job gave their slot back
    finally:
        await worker.pool.delete(queue, *(in_progress_key_prefix + i for i in ("due", "running")))
        await worker.pool.aclose()
