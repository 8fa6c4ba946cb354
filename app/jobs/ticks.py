"""Periodic work with several workers: one execution per tick, no leader.

Every worker runs the same schedule; before a periodic task does anything, its worker inserts
(name, tick) into `periodic_tick`. The primary key lets exactly one insert win; the others see
the row and skip that tick. There is no leader to lose: whichever workers are alive at a tick
compete for it, and a tick whose winner died mid-run is simply done again at the next one
(every periodic task here is idempotent: it looks at the database and stages what is due).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import session_scope, utcnow
from app.jobs.models import PeriodicTick

log = logging.getLogger("certbroker.jobs")

KEEP_TICKS = dt.timedelta(days=1)


def tick_of(interval_seconds: float, now: dt.datetime | None = None) -> int:
    """The tick `now` belongs to: the nearest multiple of the interval, so an execution that
    starts a little after its scheduled second still names that second's tick."""
    now = now or utcnow()
    return round(now.timestamp() / interval_seconds)


async def claim_tick(session: AsyncSession, name: str, tick: int, worker: str) -> bool:
    """Insert-or-skip (name, tick): True for the one worker whose insert made the row."""
    dialect = session.bind.dialect.name  # type: ignore[union-attr]
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(PeriodicTick)
        .values(name=name, tick=tick, worker=worker[:64], created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["name", "tick"])
    )
    result = await session.execute(stmt)
    return result.rowcount == 1  # type: ignore[attr-defined]


async def run_once_per_tick(
    sessions: async_sessionmaker[AsyncSession],
    name: str,
    interval_seconds: float,
    worker: str,
    work: Callable[[], Awaitable[Any]],
    now: dt.datetime | None = None,
) -> tuple[bool, Any]:
    """Run `work` if this worker wins the current tick of `name`: (ran, its result)."""
    tick = tick_of(interval_seconds, now)
    async with session_scope(sessions) as session:
        won = await claim_tick(session, name, tick, worker)
        if won:  # the winner forgets ticks older than a day
            await session.execute(
                delete(PeriodicTick).where(
                    PeriodicTick.name == name, PeriodicTick.created_at < utcnow() - KEEP_TICKS
                )
            )
    if not won:
        log.debug("periodic %s tick %d taken by another worker", name, tick)
        return False, None
    return True, await work()


def once_per_tick(
    name: str, interval_seconds: float, task: Callable[[dict[str, Any]], Awaitable[Any]]
) -> Callable[[dict[str, Any]], Awaitable[Any]]:
    """Wrap an arq cron coroutine so that, across all workers, one of them runs each tick."""

    async def periodic(ctx: dict[str, Any]) -> Any:
        runtime = ctx["runtime"]
        worker = ctx.get("worker_id") or "anonymous"
        ran, result = await run_once_per_tick(
            runtime.sessions, name, interval_seconds, worker, lambda: task(ctx)
        )
        return result if ran else "skipped: another worker has this tick"

    periodic.__name__ = periodic.__qualname__ = getattr(task, "__name__", name)
    return periodic
