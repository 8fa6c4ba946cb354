"""Liveness, not long leases: a worker's claims last seconds unless its heartbeat renews them.

Each worker process has one `Liveness`:
- `hold(job_id, attempts)` / `drop(job_id)` around each execution it runs; a heartbeat every
  `jobs.heartbeat_seconds` extends the lease of everything it holds to `jobs.lease_seconds`
  from now, so a worker killed with SIGKILL stops renewing and its claims lapse within one lease;
- a reconciler loop every `jobs.reconcile_interval_seconds`, in every worker at once (every step
  is a conditional update, so concurrent reconcilers re-stage a job once): expired claims and
  queued work Redis lost are staged again under a new arq job id, whatever Redis still holds
  (see `app.jobs.service.reconcile`), and orders a race left in pending_validation move on
  (one worker per tick, `app.jobs.ticks`);
- `release_all()` at shutdown hands back whatever is still claimed by this worker, so another
  worker picks it up at once instead of after the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import select, update

from app.db import session_scope, utcnow
from app.jobs.models import Job, JobState
from app.jobs.service import JobPresent, JobsForget, hand_back, reconcile
from app.jobs.ticks import run_once_per_tick
from app.outbox import nudge
from app.runtime import Runtime

log = logging.getLogger("certbroker.jobs")

STRANDED_ORDERS_TICK = "reconcile.pending_validation"
STRANDED_ORDERS_INTERVAL = 5.0


def worker_identity() -> str:
    """host:pid:random — unique per process start, readable in the job table."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Liveness:
    def __init__(self, runtime: Runtime, worker_id: str | None = None) -> None:
        self.runtime = runtime
        self.worker_id = worker_id or worker_identity()
        self.held: dict[str, int] = {}  # job id -> the attempt number this worker claimed
        self.stopping = False  # set on SIGTERM: executions cancelled now are handed back
        self.taken_over: set[str] = set()  # executions cancelled because another worker has it
        self._executions: dict[str, asyncio.Task[object]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def settings(self):
        return self.runtime.settings.jobs

    # -- the claims this worker holds -----------------------------------------------------------

    def hold(self, job_id: str, attempts: int, task: asyncio.Task[object] | None = None) -> None:
        self.held[job_id] = attempts
        if task is not None:
            self._executions[job_id] = task

    def drop(self, job_id: str) -> None:
        self.held.pop(job_id, None)
        self._executions.pop(job_id, None)

    def was_taken_over(self, job_id: str) -> bool:
        return job_id in self.taken_over

    async def heartbeat_once(self) -> int:
        """Extend the lease of every job this worker runs; returns how many were renewed.

        A job whose lease lapsed anyway (this process was stalled longer than a lease) and
        that another worker has claimed since is no longer ours: its execution here is
        cancelled, so two workers never carry on with the same job side by side.
        """
        if not self.held:
            return 0
        held = dict(self.held)
        until = utcnow() + dt.timedelta(seconds=self.settings.lease_seconds)
        async with session_scope(self.runtime.sessions) as session:
            result = await session.execute(
                update(Job)
                .where(
                    Job.id.in_(list(held)),  # type: ignore[attr-defined]
                    Job.claimed_by == self.worker_id,
                    Job.state == JobState.RUNNING,
                )
                .values(lease_until=until)
                .execution_options(synchronize_session=False)
            )
            renewed = int(result.rowcount or 0)  # type: ignore[attr-defined]
            if renewed < len(held):
                rows = (
                    await session.execute(
                        select(Job.id, Job.state, Job.claimed_by, Job.attempts).where(
                            Job.id.in_(list(held))  # type: ignore[attr-defined]
                        )
                    )
                ).all()
                for job_id, state, claimed_by, attempts in rows:
                    others = claimed_by != self.worker_id or attempts != held[job_id]
                    if state == JobState.RUNNING and others:
                        self._cancel_taken_over(job_id)
        return renewed

    def _cancel_taken_over(self, job_id: str) -> None:
        task = self._executions.get(job_id)
        if task is None or task.done() or job_id in self.taken_over:
            return
        log.warning("job %s was taken over by another worker; stopping its execution here", job_id)
        self.taken_over.add(job_id)
        task.cancel()

    async def release_all(self) -> int:
        """Hand back every job still claimed by this worker (shutdown, after the grace)."""
        async with self.runtime.sessions() as session:
            rows = (
                await session.execute(
                    select(Job.id, Job.attempts).where(
                        Job.claimed_by == self.worker_id, Job.state == JobState.RUNNING
                    )
                )
            ).all()
        released = 0
        for job_id, attempts in rows:
            async with session_scope(self.runtime.sessions) as session:
                released += await hand_back(session, job_id, self.worker_id, attempts)
        self.held.clear()
        if released:
            log.warning("handed back %d claimed jobs at shutdown", released)
            await nudge(self.runtime.redis, self.settings.queue_name)
        return released

    # -- the reconciler ---------------------------------------------------------------------------

    async def reconcile_once(self, present: JobPresent, forget: JobsForget | None = None) -> int:
        superseded: list[str] = []
        async with session_scope(self.runtime.sessions) as session:
            restaged = await reconcile(
                session, present, self.settings.stale_after_seconds, superseded=superseded
            )
        if superseded and forget is not None:
            await forget(superseded)
        _, released = await run_once_per_tick(
            self.runtime.sessions,
            STRANDED_ORDERS_TICK,
            STRANDED_ORDERS_INTERVAL,
            self.worker_id,
            self._release_stranded_orders,
        )
        if restaged:
            log.warning("reconciler re-staged %d lost jobs", restaged)
        if restaged or released:
            await nudge(self.runtime.redis, self.settings.queue_name)
        return restaged

    async def _release_stranded_orders(self) -> int:
        from app.domains.service import release_stranded_orders

        async with self.runtime.sessions() as session:
            count = await release_stranded_orders(session)
            await session.commit()
        if count:
            log.warning("moved on %d orders left waiting for a validation that had ended", count)
        return count

    # -- the loops --------------------------------------------------------------------------------

    def start(self, present: JobPresent, forget: JobsForget | None = None) -> None:
        self._tasks = [
            asyncio.create_task(self._every(self.settings.heartbeat_seconds, self.heartbeat_once)),
            asyncio.create_task(
                self._every(
                    self.settings.reconcile_interval_seconds,
                    lambda: self.reconcile_once(present, forget),
                )
            ),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _every(self, seconds: float, step: Callable[[], Awaitable[object]]) -> None:
        while True:
            try:
                await step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database or Redis is away: keep trying
                log.warning(
                    "%s failed: %s: %s", getattr(step, "__name__", "step"), type(exc).__name__, exc
                )
            await asyncio.sleep(seconds)
