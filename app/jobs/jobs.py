"""The arq side of jobs: the one task function that runs any job, the relay and the reconciler."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import Any

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms, to_unix_ms

from app.db import autocommit, session_scope
from app.jobs.handlers import HANDLERS, JobContext
from app.jobs.liveness import Liveness
from app.jobs.models import Job
from app.jobs.service import (
    JobPresent,
    JobsForget,
    PermanentJobError,
    claim,
    hand_back,
    record_failure,
    record_success,
    still_claimed,
)
from app.metrics.registry import record_job
from app.outbox import NUDGE_SUFFIX, STAGED_COUNT, nudge, relay_batch
from app.runtime import Runtime

log = logging.getLogger("certbroker.jobs")


async def run_job(ctx: dict[str, Any], job_id: str, enqueue_seq: int | None = None) -> str:
    """Run one job execution. Safe under double delivery: only the claimant runs it, and only
    an execution that still holds its claim when it ends records the outcome."""
    runtime: Runtime = ctx["runtime"]
    liveness: Liveness | None = ctx.get("liveness")
    worker = liveness.worker_id if liveness else None
    settings = runtime.settings.jobs
    async with session_scope(runtime.sessions) as session:
        await autocommit(session)  # the claim is one statement
        job = await claim(session, job_id, enqueue_seq, settings.lease_seconds, worker)
    if job is None:
        return "skipped"
    # Plain values from here on: the ORM object is tied to sessions that come and go.
    kind, attempts = job.kind, job.attempts
    if liveness:
        liveness.hold(job_id, attempts, asyncio.current_task())
    handler = HANDLERS.get(kind)
    started = time.perf_counter()
    staged = False
    outcome = "succeeded"
    try:
        async with runtime.sessions() as session:
            session.add(job)  # as claimed: no second read
            if handler is None:
                raise PermanentJobError(f"no handler for job kind {kind!r}")
            result = await handler(JobContext(runtime=runtime, session=session, job=job))
            if await record_success(session, job, result, worker, attempts):
                await session.commit()
                # Counted after the commit: webhook deliveries are staged during its flush,
                # and an event nobody subscribed to stages nothing to nudge the relay for.
                staged = bool(session.info.get(STAGED_COUNT))
                outcome = "rescheduled" if result.again_in is not None else "succeeded"
            else:  # the lease lapsed and another execution owns the job now
                await session.rollback()
                outcome = "superseded"
    except asyncio.CancelledError:
        # Another worker has the job now (nothing to record), SIGTERM past the grace period
        # (hand the job back at once), or arq's job timeout (a failure: retried with backoff
        # from the last committed step).
        if liveness is not None and liveness.was_taken_over(job_id):
            liveness.taken_over.discard(job_id)
            record_job(kind, "superseded", time.perf_counter() - started)
            raise
        stopping = liveness is not None and liveness.stopping
        await _after_cancel(runtime, job_id, kind, worker, attempts, timed_out=not stopping)
        record_job(kind, "handed_back" if stopping else "timed_out", time.perf_counter() - started)
        raise
    except Exception as exc:
        permanent = isinstance(exc, PermanentJobError)
        if not permanent:
            log.exception("job %s (%s) failed", job_id, kind)
        message = str(exc) if permanent else f"{type(exc).__name__}: {exc}"
        async with session_scope(runtime.sessions) as session:
            if await still_claimed(session, job_id, worker, attempts):
                fresh = await session.get(Job, job_id, populate_existing=True)
                assert fresh is not None
                failed = record_failure(session, fresh, message, permanent=permanent)
                staged = not failed
                outcome = "failed" if failed else "retrying"
            else:
                outcome = "superseded"
    finally:
        if liveness:
            liveness.drop(job_id)
    if staged:
        await nudge(runtime.redis, settings.queue_name)
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


async def _after_cancel(
    runtime: Runtime, job_id: str, kind: str, worker: str | None, attempts: int, *, timed_out: bool
) -> None:
    try:
        async with session_scope(runtime.sessions) as session:
            if timed_out:
                if await still_claimed(session, job_id, worker, attempts):
                    fresh = await session.get(Job, job_id, populate_existing=True)
                    assert fresh is not None
                    limit = runtime.settings.jobs.job_timeout_seconds
                    record_failure(session, fresh, f"timed out after {limit:g} s", permanent=False)
            else:
                await hand_back(session, job_id, worker, attempts)
        await nudge(runtime.redis, runtime.settings.jobs.queue_name)
        log.warning("job %s (%s) %s", job_id, kind, "timed out" if timed_out else "handed back")
    except Exception as exc:  # the lease lapses and the reconciler re-stages it
        log.warning("job %s could not be handed back: %s: %s", job_id, type(exc).__name__, exc)


# What ArqRedis.enqueue_job does for one job (skip an id arq still holds or has a result for,
# else store the job and queue it at its time), for a batch in one round trip.
# ARGV: job key prefix, result key prefix, then per job: arq id, payload, score, expiry (ms).
_ENQUEUE = """
local queued = 0
for i = 3, #ARGV, 4 do
  local job_key = ARGV[1] .. ARGV[i]
  if redis.call('exists', job_key, ARGV[2] .. ARGV[i]) == 0 then
    redis.call('psetex', job_key, ARGV[i + 3], ARGV[i + 1])
    redis.call('zadd', KEYS[1], ARGV[i + 2], ARGV[i])
    queued = queued + 1
  end
end
return queued
"""


def arq_enqueuer(redis: ArqRedis, queue_name: str):
    script = redis.register_script(_ENQUEUE)

    async def enqueue(batch: list[tuple[str, str, dt.datetime]]) -> None:
        now = timestamp_ms()
        args: list[Any] = [job_key_prefix, result_key_prefix]
        for arq_job_id, job_id, defer_until in batch:
            seq = int(arq_job_id.rsplit(":", 1)[1])
            score = to_unix_ms(defer_until)
            payload = serialize_job(
                "run_job", (job_id, seq), {}, None, now, serializer=redis.job_serializer
            )
            args += [arq_job_id, payload, score, max(score - now, 0) + redis.expires_extra_ms]
        await script(keys=[queue_name], args=args)

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


def redis_presence(redis: ArqRedis, queue_name: str) -> JobPresent:
    """Which of some arq jobs Redis holds waiting to run: the entry exists and no execution has
    it in progress. An in-progress entry nobody claimed in the database belongs to a dead worker
    and is ignored (it would otherwise block the retry for arq's whole job timeout). All in one
    round trip: under a backlog the reconciler asks about hundreds every pass."""

    async def present(arq_job_ids: list[str]) -> set[str]:
        if not arq_job_ids:
            return set()
        async with redis.pipeline(transaction=False) as pipe:
            for arq_job_id in arq_job_ids:
                pipe.exists(job_key_prefix + arq_job_id)
                pipe.exists(in_progress_key_prefix + arq_job_id)
                pipe.zscore(queue_name, arq_job_id)
            replies = await pipe.execute()
        return {
            arq_job_id
            for arq_job_id, job_key, in_progress, score in zip(
                arq_job_ids, replies[0::3], replies[1::3], replies[2::3], strict=True
            )
            if job_key and not in_progress and score is not None
        }

    return present


def redis_forget(redis: ArqRedis, queue_name: str) -> JobsForget:
    """Remove superseded arq jobs (their re-staged successors run under new ids): the queue
    entry, the job and the in-progress key. arq reads only the head of its queue, so dead
    executions' entries left there would, in numbers, hide live work from every worker."""

    async def forget(arq_job_ids: list[str]) -> None:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.zrem(queue_name, *arq_job_ids)
            pipe.delete(
                *(job_key_prefix + i for i in arq_job_ids),
                *(in_progress_key_prefix + i for i in arq_job_ids),
            )
            await pipe.execute()

    return forget
