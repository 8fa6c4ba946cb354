"""The arq side of jobs: the one task function that runs any job, the relay and the reconciler."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import Any

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix

from app.db import session_scope
from app.jobs.handlers import HANDLERS, JobContext
from app.jobs.models import Job
from app.jobs.service import (
    PermanentJobError,
    claim,
    reconcile,
    record_failure,
    record_success,
)
from app.metrics.registry import record_job
from app.outbox import NUDGE_SUFFIX, STAGED_FLAG, nudge, relay_batch
from app.runtime import Runtime

log = logging.getLogger("certbroker.jobs")

LEASE_SECONDS = 300.0


async def run_job(ctx: dict[str, Any], job_id: str, enqueue_seq: int | None = None) -> str:
    """Run one job execution. Safe under double delivery: only the claimant runs it."""
    runtime: Runtime = ctx["runtime"]
    async with session_scope(runtime.sessions) as session:
        job = await claim(session, job_id, enqueue_seq, LEASE_SECONDS)
    if job is None:
        return "skipped"
    # Plain values from here on: the ORM object is tied to sessions that come and go.
    kind = job.kind
    handler = HANDLERS.get(kind)
    started = time.perf_counter()
    staged = False
    outcome = "succeeded"
    try:
        async with runtime.sessions() as session:
            job = await session.get(Job, job_id)
            assert job is not None
            if handler is None:
                raise PermanentJobError(f"no handler for job kind {kind!r}")
            result = await handler(JobContext(runtime=runtime, session=session, job=job))
            record_success(session, job, result)
            staged = bool(session.info.get(STAGED_FLAG))
            await session.commit()
            outcome = "rescheduled" if result.again_in is not None else "succeeded"
    except Exception as exc:
        permanent = isinstance(exc, PermanentJobError)
        if not permanent:
            log.exception("job %s (%s) failed", job_id, kind)
        message = str(exc) if permanent else f"{type(exc).__name__}: {exc}"
        async with session_scope(runtime.sessions) as session:
            fresh = await session.get(Job, job_id)
            assert fresh is not None
            failed = record_failure(session, fresh, message, permanent=permanent)
        staged = not failed
        outcome = "failed" if failed else "retrying"
    if staged:
        await nudge(runtime.redis, runtime.settings.jobs.queue_name)
    record_job(kind, outcome, time.perf_counter() - started)
    log.info(
        "job %s %s",
        kind,
        outcome,
        extra={
            "job_id": job_id,
            "kind": kind,
            "outcome": outcome,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return outcome


def arq_enqueuer(redis: ArqRedis, queue_name: str):
    async def enqueue(arq_job_id: str, job_id: str, defer_until: dt.datetime) -> None:
        seq = int(arq_job_id.rsplit(":", 1)[1])
        await redis.enqueue_job(
            "run_job",
            job_id,
            seq,
            _job_id=arq_job_id,
            _queue_name=queue_name,
            _defer_until=defer_until,
        )

    return enqueue


async def relay_once(runtime: Runtime, redis: ArqRedis) -> int:
    settings = runtime.settings.jobs
    enqueue = arq_enqueuer(redis, settings.queue_name)
    total = 0
    while True:
        count = 0
        async with session_scope(runtime.sessions) as session:
            count = await relay_batch(session, enqueue, settings.relay_batch)
        total += count
        if count < settings.relay_batch:
            return total


async def relay_forever(runtime: Runtime, redis: ArqRedis) -> None:
    """Relay outbox rows as soon as a commit nudges, and at least once a second regardless."""
    nudge_key = runtime.settings.jobs.queue_name + NUDGE_SUFFIX
    while True:
        try:
            await relay_once(runtime, redis)
            await redis.blpop([nudge_key], timeout=1)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database or Redis is away: keep trying, slowly
            log.warning("outbox relay failed: %s: %s", type(exc).__name__, exc)
            await asyncio.sleep(2)


async def reconcile_jobs(ctx: dict[str, Any]) -> int:
    """Cron: re-stage due work whose Redis entry vanished (Redis may lose everything)."""
    runtime: Runtime = ctx["runtime"]
    redis: ArqRedis = ctx["redis"]

    async def present(arq_job_id: str) -> bool:
        return bool(
            await redis.exists(job_key_prefix + arq_job_id, in_progress_key_prefix + arq_job_id)
        )

    restaged = 0
    async with session_scope(runtime.sessions) as session:
        restaged = await reconcile(session, present, runtime.settings.jobs.stale_after_seconds)
    if restaged:
        log.warning("reconciler re-staged %d lost jobs", restaged)
        await nudge(runtime.redis, runtime.settings.jobs.queue_name)
    return restaged
