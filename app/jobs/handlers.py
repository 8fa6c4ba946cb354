"""The registry of job handlers by kind; domain `jobs.py` modules register into it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.jobs.models import Job
from app.jobs.service import JobResult
from app.runtime import Runtime


@dataclass(slots=True)
class JobContext:
    runtime: Runtime
    session: AsyncSession  # commits with the job's own state change, once the handler returns
    job: Job


Handler = Callable[[JobContext], Awaitable[JobResult]]

HANDLERS: dict[str, Handler] = {}


def job_handler(kind: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if kind in HANDLERS and HANDLERS[kind] is not handler:
            raise ValueError(f"two handlers for job kind {kind!r}")
        HANDLERS[kind] = handler
        return handler

    return register
