"""An arq worker run in the test's own event loop, stopped without tripping over its jobs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from arq.worker import Worker

from app.settings import Settings
from app.worker import build_worker

# How long a stop waits for the jobs under way before cancelling them.
FINISH_SECONDS = 5.0


@contextlib.asynccontextmanager
async def in_process_worker(settings: Settings) -> AsyncIterator[Worker]:
    worker = build_worker(settings, handle_signals=False, poll_delay=0.05)
    running = asyncio.create_task(worker.async_run())
    try:
        yield worker
    finally:
        # A job the test saw finished in the database may still be handing its result to arq;
        # cancelled there, arq's close() raises its CancelledError (and a close cut short leaves
        # the worker's relay running into the next test). Those end in milliseconds: let them.
        if worker.tasks:
            await asyncio.wait(list(worker.tasks.values()), timeout=FINISH_SECONDS)
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await worker.close()
