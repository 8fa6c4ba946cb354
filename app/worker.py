"""The arq worker: WorkerSettings, start-up of the shared runtime, the relay and the crons.

With the `jobs.py` modules, the only code that imports arq.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.worker import Worker

from app.inventory.jobs import inventory_crons
from app.jobs.jobs import reconcile_jobs, relay_forever, run_job
from app.lifecycle.jobs import lifecycle_crons
from app.logs import configure_logging
from app.metrics.registry import start_worker_metrics_server
from app.models import import_all_models
from app.runtime import Runtime
from app.settings import Settings
from app.wiring import register_backends, register_job_handlers


def worker_settings(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for arq's Worker, for this configuration."""

    async def startup(ctx: dict[str, Any]) -> None:
        runtime = Runtime.build(settings)
        register_backends(runtime)
        ctx["runtime"] = runtime
        if settings.worker_metrics_port:
            start_worker_metrics_server(settings.worker_metrics_port, settings.worker_metrics_host)
        ctx["relay"] = asyncio.create_task(relay_forever(runtime, ctx["redis"]))

    async def shutdown(ctx: dict[str, Any]) -> None:
        relay = ctx.get("relay")
        if relay is not None:
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay
        if "runtime" in ctx:
            await ctx["runtime"].close()

    register_job_handlers()
    import_all_models()  # foreign keys resolve only with every table in the metadata
    interval = settings.jobs.reconcile_interval_seconds
    return {
        "functions": [run_job],
        "cron_jobs": [
            cron(
                reconcile_jobs,
                second=set(range(0, 60, max(1, min(interval, 60)))),
                run_at_startup=True,
                unique=True,
            ),
            *(lifecycle_crons(settings) if settings.jobs.schedules_enabled else []),
            *(inventory_crons(settings) if settings.jobs.schedules_enabled else []),
        ],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_settings": RedisSettings.from_dsn(settings.redis_url),
        "queue_name": settings.jobs.queue_name,
        "max_jobs": 50,
        "job_timeout": 600,
        "keep_result": 60,
        "poll_delay": 0.2,
        "handle_signals": True,
    }


def build_worker(settings: Settings, **overrides: Any) -> Worker:
    return Worker(**{**worker_settings(settings), **overrides})


def run_worker(settings: Settings) -> None:
    configure_logging(settings.log_level)
    build_worker(settings).run()


def __getattr__(name: str) -> Any:
    # `arq app.worker.WorkerSettings` works too; built lazily so importing this module reads
    # no configuration.
    if name == "WorkerSettings":
        return type("WorkerSettings", (), worker_settings(Settings()))
    raise AttributeError(name)
