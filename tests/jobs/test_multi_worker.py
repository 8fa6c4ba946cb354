"""Several workers against one database and one Redis: a killed worker's job is finished by
another once its short lease lapses (whatever Redis still holds), SIGTERM hands claimed work
back at once, and a periodic task runs once per tick across workers.

The workers are real processes (`tests/jobs/worker_process.py`), killed with real signals.
No timing is asserted: the waits below are generous bounds on correctness, the chaos script
(bench/chaos.py) measures the recovery times.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from app.db import session_scope
from app.jobs.liveness import Liveness
from app.jobs.models import Job, JobState, PeriodicTick
from app.jobs.service import enqueue_job
from app.jobs.ticks import run_once_per_tick
from app.outbox import nudge
from app.runtime import Runtime
from app.settings import Settings
from tests.fixtures.app import REDIS_URL, make_settings, own_pg_database
from tests.jobs.worker_process import executions

ROOT = Path(__file__).resolve().parents[2]
# PostgreSQL only (SKIP LOCKED and several processes on one database): each test gets a
# database of its own, see `cluster`.


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[tuple[Settings, Runtime]]:
    # A database of its own: the session's e2e worker relays every outbox row of the shared
    # database to its own queue, where these workers would never see the job.
    async with own_pg_database("multi") as database_url:
        async for pair in _cluster(database_url):
            yield pair


async def _cluster(database_url: str) -> AsyncIterator[tuple[Settings, Runtime]]:
    settings = make_settings(
        database_url,
        jobs={
            "queue_name": f"certbroker-test:multi:{uuid.uuid4().hex[:8]}",
            "lease_seconds": 3,
            "heartbeat_seconds": 1,
            "reconcile_interval_seconds": 0.5,
            "stale_after_seconds": 2,
            "shutdown_grace_seconds": 1,
        },
    )
    runtime = Runtime.build(settings)
    yield settings, runtime
    await runtime.close()


class Workers:
    def __init__(self, settings: Settings, log: Path) -> None:
        self.settings, self.log = settings, log
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, count: int) -> None:
        jobs = self.settings.jobs
        env = {
            **os.environ,
            "CERTBROKER_ENV": "test",
            "CERTBROKER_DATABASE_URL": self.settings.database_url,
            "CERTBROKER_REDIS_URL": REDIS_URL,
            "CERTBROKER_LOG_LEVEL": "INFO",
            "CERTBROKER_JOBS__QUEUE_NAME": jobs.queue_name,
            "CERTBROKER_JOBS__SCHEDULES_ENABLED": "false",
            "CERTBROKER_JOBS__LEASE_SECONDS": str(jobs.lease_seconds),
            "CERTBROKER_JOBS__HEARTBEAT_SECONDS": str(jobs.heartbeat_seconds),
            "CERTBROKER_JOBS__RECONCILE_INTERVAL_SECONDS": str(jobs.reconcile_interval_seconds),
            "CERTBROKER_JOBS__STALE_AFTER_SECONDS": str(jobs.stale_after_seconds),
            "CERTBROKER_JOBS__SHUTDOWN_GRACE_SECONDS": str(jobs.shutdown_grace_seconds),
            "CB_TEST_EXECUTIONS": str(self.log),
        }
        for _ in range(count):
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "tests.jobs.worker_process"],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

    def by_pid(self, pid: int) -> subprocess.Popen[bytes]:
        return next(p for p in self.processes if p.pid == pid)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)


@pytest.fixture
def workers(cluster: tuple[Settings, Runtime], tmp_path: Path) -> Iterator[Workers]:
    group = Workers(cluster[0], tmp_path / "executions.log")
    yield group
    group.stop()


async def stage(runtime: Runtime, kind: str) -> str:
    async with session_scope(runtime.sessions) as session:
        job = await enqueue_job(session, kind, tenant_id="t-multi")
    await nudge(runtime.redis, runtime.settings.jobs.queue_name)
    return job.id


async def wait_until(predicate, timeout: float = 60.0, what: str = "") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.1)


async def load(runtime: Runtime, job_id: str) -> Job:
    async with runtime.sessions() as session:
        job = await session.get(Job, job_id)
    assert job is not None
    return job


async def first_execution(workers: Workers, job_id: str) -> int:
    async def started() -> bool:
        return any(j == job_id for j, _ in executions(workers.log))

    await wait_until(started, what="the first execution")
    return next(pid for j, pid in executions(workers.log) if j == job_id)


async def test_a_killed_workers_job_is_finished_by_another(
    cluster: tuple[Settings, Runtime], workers: Workers
) -> None:
    _, runtime = cluster
    workers.start(2)
    job_id = await stage(runtime, "test.hang_once")
    holder = await first_execution(workers, job_id)
    job = await load(runtime, job_id)
    assert job.state == JobState.RUNNING
    assert job.claimed_by and f":{holder}:" in job.claimed_by

    workers.by_pid(holder).send_signal(signal.SIGKILL)  # its arq in-progress key stays in Redis

    async def done() -> bool:
        return (await load(runtime, job_id)).state == JobState.SUCCEEDED

    await wait_until(done, what="the other worker to finish the job")
    runs = [pid for j, pid in executions(workers.log) if j == job_id]
    assert len(runs) == 2 and runs[0] == holder and runs[1] != holder
    job = await load(runtime, job_id)
    assert job.attempts == 2 and job.claimed_by is None


async def test_sigterm_hands_claimed_work_back(
    cluster: tuple[Settings, Runtime], workers: Workers
) -> None:
    _, runtime = cluster
    workers.start(2)
    job_id = await stage(runtime, "test.hang_once")
    holder = await first_execution(workers, job_id)
    process = workers.by_pid(holder)
    process.send_signal(signal.SIGTERM)
    await asyncio.to_thread(process.wait, 30)
    assert process.returncode is not None

    async def done() -> bool:
        return (await load(runtime, job_id)).state == JobState.SUCCEEDED

    await wait_until(done, what="the job to be finished after the hand-back")
    job = await load(runtime, job_id)
    runs = [pid for j, pid in executions(workers.log) if j == job_id]
    assert runs[0] == holder and runs[-1] != holder
    # Handed back, not failed: no failure counted, no error recorded.
    assert job.last_error is None and job.failures == 0


async def test_a_periodic_tick_runs_once_across_workers(
    cluster: tuple[Settings, Runtime],
) -> None:
    _, runtime = cluster
    name = f"test.tick.{uuid.uuid4().hex[:6]}"
    runs: list[str] = []

    def worker(worker_id: str):
        async def work() -> str:
            runs.append(worker_id)
            return worker_id

        return run_once_per_tick(runtime.sessions, name, 3600, worker_id, work)

    outcomes = await asyncio.gather(*(worker(f"w{i}") for i in range(6)))
    assert sum(ran for ran, _ in outcomes) == 1
    assert len(runs) == 1
    async with runtime.sessions() as session:
        rows = (
            await session.execute(PeriodicTick.__table__.select().where(PeriodicTick.name == name))
        ).all()  # type: ignore[attr-defined]
    assert len(rows) == 1 and rows[0].worker == runs[0]


async def test_reconcilers_side_by_side_restage_an_expired_claim_once(
    cluster: tuple[Settings, Runtime],
) -> None:
    """A claim whose lease lapsed is staged again exactly once although every worker's
    reconciler looks at it, and whatever Redis claims to hold."""
    import datetime as dt

    from app.db import utcnow
    from app.outbox import OutboxMessage

    _, runtime = cluster
    async with session_scope(runtime.sessions) as session:
        job = await enqueue_job(session, "test.hang_once", tenant_id="t-multi")
        job.state = JobState.RUNNING
        job.claimed_by = "dead-worker"
        job.lease_until = utcnow() - dt.timedelta(seconds=1)
        seq = job.enqueue_seq

    async def in_redis(arq_ids: list[str]) -> set[str]:
        return set(arq_ids)  # a stale arq in-progress key must not block the retry

    forgotten: list[str] = []

    async def forget(arq_ids: list[str]) -> None:
        forgotten.extend(arq_ids)

    reconcilers = [Liveness(runtime, f"w{i}") for i in range(4)]
    counts = await asyncio.gather(*(r.reconcile_once(in_redis, forget) for r in reconcilers))
    assert sum(counts) == 1
    # The dead execution's arq entry is removed from Redis, not left at the queue's head.
    assert forgotten == [f"cb:{job.id}:{seq}"]
    job = await load(runtime, job.id)
    assert job.state == JobState.PENDING and job.enqueue_seq == seq + 1 and job.claimed_by is None
    async with runtime.sessions() as session:
        messages = (
            await session.execute(
                OutboxMessage.__table__.select().where(OutboxMessage.job_id == job.id)  # type: ignore[attr-defined]
            )
        ).all()
    assert sorted(m.enqueue_seq for m in messages) == [seq, seq + 1]


async def test_an_execution_whose_job_was_taken_over_is_stopped(
    cluster: tuple[Settings, Runtime],
) -> None:
    """A worker stalled past its lease finds at its next heartbeat that another worker claimed
    the job meanwhile: its own execution is cancelled instead of carrying on beside the other."""
    _, runtime = cluster
    async with session_scope(runtime.sessions) as session:
        job = await enqueue_job(session, "test.hang_once", tenant_id="t-multi")
        job.state = JobState.RUNNING
        job.claimed_by = "another-worker"
        job.attempts = 2
    liveness = Liveness(runtime, "stalled-worker")
    execution = asyncio.create_task(asyncio.sleep(3600))
    liveness.hold(job.id, 1, execution)  # its claim was attempt 1; attempt 2 is the other's
    assert await liveness.heartbeat_once() == 0
    await asyncio.sleep(0)
    assert execution.cancelled() and liveness.was_taken_over(job.id)
    assert (await load(runtime, job.id)).claimed_by == "another-worker"
