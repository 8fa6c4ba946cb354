"""Dependency aliases so routes read like prose: `session: DbSession, runtime: RuntimeDep`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import session_scope
from app.outbox import STAGED_FLAG, nudge
from app.redis_lane import lane_for
from app.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a hand-off per request
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def db_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    # Scope "function": the commit happens when the route returns and before the response goes
    # out, so a client never sees success for a write that then failed to commit.
    staged = False
    async with session_scope(runtime.sessions) as session:
        yield session
        staged = bool(session.info.get(STAGED_FLAG))
    if staged:
        await nudge(runtime.redis, runtime.settings.jobs.queue_name, lane_for(runtime))


DbSession = Annotated[AsyncSession, Depends(db_session, scope="function")]
