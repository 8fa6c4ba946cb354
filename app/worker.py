"""The arq worker: WorkerSettings, start-up of the shared runtime, the relay and the crons.

With the `jobs.py` modules, the only code that imports arq.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from signal import Signals
from typing import Any

from arq.connections import RedisSettings
from arq.constants import in_progress_key_prefix
from arq.cron import CronJob
from arq.utils import timestamp_ms
from arq.worker import Worker

from app.inventory.jobs import inventory_crons
from app.jobs.jobs import redis_forget, redis_presence, relay_forever, run_job
from app.jobs.liveness import Liveness
from app.jobs.ticks import once_per_tick
from app.lifecycle.jobs import lifecycle_crons
from app.logs import configure_logging
from app.metrics.registry import start_worker_metrics_server
from app.models import import_all_models
from app.runtime import Runtime, freeze_heap
from app.settings import Settings
from app.wiring import register_backends, register_job_handlers

log = logging.getLogger("certbroker.worker")


def _once_per_tick(crons: list[CronJob], interval_seconds: float) -> list[CronJob]:
    """Every worker schedules the periodic jobs; the `periodic_tick` table lets one run each
    tick (app/jobs/ticks.py)."""
    return [
        dataclasses.replace(c, coroutine=once_per_tick(c.name, interval_seconds, c.coroutine))
        for c in crons
    ]


def worker_settings(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for arq's Worker, for this configuration."""
    jobs = settings.jobs

    async def startup(ctx: dict[str, Any]) -> None:
        runtime = Runtime.build(settings)
        register_backends(runtime)
        ctx["runtime"] = runtime
        freeze_heap()
        if settings.worker_metrics_port:
            start_worker_metrics_server(settings.worker_metrics_port, settings.worker_metrics_host)
        liveness = Liveness(runtime)
        ctx["liveness"] = liveness
        ctx["worker_id"] = liveness.worker_id
        liveness.start(
            redis_presence(ctx["redis"], jobs.queue_name),
            redis_forget(ctx["redis"], jobs.queue_name),
        )
        ctx["relay"] = asyncio.create_task(relay_forever(runtime, ctx["redis"]))
        log.info("worker %s started", liveness.worker_id)

    async def shutdown(ctx: dict[str, Any]) -> None:
        relay = ctx.get("relay")
        if relay is not None:
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay
        liveness: Liveness | None = ctx.get("liveness")
        if liveness is not None:
            await liveness.stop()
            with contextlib.suppress(Exception):
                await liveness.release_all()
        if "runtime" in ctx:
            await ctx["runtime"].close()

    register_job_handlers()
    import_all_models()  # foreign keys resolve only with every table in the metadata
    crons: list[CronJob] = []
    if jobs.schedules_enabled:
        crons += _once_per_tick(
            lifecycle_crons(settings), settings.lifecycle.check_interval_seconds
        )
        crons += _once_per_tick(
            inventory_crons(settings), settings.inventory.sync_interval_minutes * 60
        )
    return {
        "functions": [run_job],
        "cron_jobs": crons,
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_settings": RedisSettings.from_dsn(settings.redis_url),
        "queue_name": jobs.queue_name,
        "max_jobs": jobs.max_concurrent_jobs,
        # arq cuts an execution off at the job timeout (longer than any single CA call); its
        # in-progress key lives 10 s longer, which no longer matters: a dead worker's claim
        # lapses after the lease and the job is re-staged under a new arq id.
        "job_timeout": jobs.job_timeout_seconds,
        "keep_result": 60,
        "poll_delay": 0.2,
        "handle_signals": True,
        # SIGTERM: take no more work, let running jobs finish within the grace, then cancel
        # them (each hands its claim back) and stop.
        "job_completion_wait": jobs.shutdown_grace_seconds,
    }


# What arq's Worker.start_jobs does for one job in a WATCH/EXISTS/ZSCORE/MULTI transaction
# (four round trips): take it only if no execution has it in progress and it is due, marking it
# in progress. Atomic as a script, in one round trip. Returns the job's score, or nil.
# KEYS: in-progress key, queue; ARGV: arq job id, now (ms), in-progress timeout (ms).
_START = """
if redis.call('exists', KEYS[1]) == 1 then return false end
local score = redis.call('zscore', KEYS[2], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) then return false end
redis.call('psetex', KEYS[1], ARGV[3], '1')
return score
"""


class CertbrokerWorker(Worker):
    """arq's Worker, telling the liveness that a shutdown began before jobs are cancelled, and
    starting a job in one Redis round trip."""

    _start_script: Any = None

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        # arq 0.28's start_jobs (pinned in uv.lock), its transaction replaced by _START.
        if self._start_script is None:
            self._start_script = self.pool.register_script(_START)
        timeout_ms = int(self.in_progress_timeout_s * 1000)
        for job_id_b in job_ids:
            await self.sem.acquire()
            if self.job_counter >= self.max_jobs:
                self.sem.release()
                return
            self.job_counter += 1
            job_id = job_id_b.decode()
            score = await self._start_script(
                keys=[in_progress_key_prefix + job_id, self.queue_name],
                args=[job_id, timestamp_ms(), timeout_ms],
            )
            if score is None:  # running elsewhere, finished, or re-queued for later
                self.job_counter -= 1
                self.sem.release()
                continue
            task = self.loop.create_task(self.run_job(job_id, int(float(score))))
            task.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
            self.tasks[job_id] = task

    def handle_sig_wait_for_completion(self, signum: Signals) -> None:
        self.begin_shutdown()
        super().handle_sig_wait_for_completion(signum)

    def handle_sig(self, signum: Signals) -> None:
        self.begin_shutdown()
        super().handle_sig(signum)

    def begin_shutdown(self) -> None:
        liveness: Liveness | None = self.ctx.get("liveness")
        if liveness is not None:
            liveness.stopping = True

    async def graceful_stop(self) -> None:
        """What SIGTERM does, for callers that run the worker in their own loop (tests)."""
        self.handle_sig_wait_for_completion(Signals.SIGTERM)
        if self.main_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self.main_task


def build_worker(settings: Settings, **overrides: Any) -> CertbrokerWorker:
    return CertbrokerWorker(**{**worker_settings(settings), **overrides})


def run_worker(settings: Settings) -> None:
    configure_logging(settings.log_level)
    build_worker(settings).run()


def __getattr__(name: str) -> Any:
    # `arq app.worker.WorkerSettings` works too; built lazily so importing this module reads
    # no configuration.
    if name == "WorkerSettings":
        return type("WorkerSettings", (), worker_settings(Settings()))
    raise AttributeError(name)
