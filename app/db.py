"""Async database access: engine, naming convention, UTC timestamps and the session dependency.

Services never commit; the request (or the job) that opened the session commits at its end.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, Enum, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def enum_column(enum: type[StrEnum], length: int = 24) -> Enum:
    """A StrEnum stored as its value in a VARCHAR (no native PostgreSQL enum type to migrate),
    read back as the enum member."""
    return Enum(
        enum, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC in Python on every engine (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API and the worker read while one of them writes; busy_timeout makes a
    # writer wait for the lock instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    if database_url.startswith("sqlite"):
        engine = create_async_engine(database_url, **kwargs)
        sync_engine: Engine = engine.sync_engine
        event.listen(sync_engine, "connect", _sqlite_pragmas)
        return engine
    # At most 30 connections, all kept once opened: with 10 kept plus 20 overflow, a burst of
    # orders or a DV run had the API and the workers open and close connections without end (a
    # PostgreSQL backend started for a handful of statements, asyncpg's statement cache lost
    # with it; about 15 % of the API's samples at 64 concurrent orders). README: sizing
    # max_connections.
    options: dict[str, Any] = {"pool_size": 30, "max_overflow": 0, **kwargs}
    engine = create_async_engine(database_url, **options)
    _ping_after_idle(engine.sync_engine)
    return engine


# A connection back in the pool for longer than this is pinged before it is handed out again
# (a restarted server or a proxy's idle timeout would have closed it); one used moments ago is
# not, which spares a round trip per request under load. A connection that died within the
# window fails the statement it is given, and the pool drops it (the next checkout is fresh).
PING_AFTER_IDLE_SECONDS = 10.0
_CHECKED_IN = "certbroker.checked_in_at"


def _ping_after_idle(engine: Engine) -> None:
    def connected(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN] = time.monotonic()

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle = time.monotonic() - record.info.get(_CHECKED_IN, float("-inf"))
        if idle < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("stale pooled connection") from exc  # the pool reconnects

    event.listen(engine, "connect", connected)
    event.listen(engine, "checkin", checked_in)
    event.listen(engine, "checkout", checkout)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, class_=AsyncSession)


AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}


async def autocommit(session: AsyncSession) -> None:
    """Run the session's statements until its next commit (or rollback) outside any database
    transaction: each is committed when it returns, at one round trip (no BEGIN, and the commit
    costs none). Only for work whose every statement, flushes included, stands alone (a claim,
    a read, a one-row checkpoint); call it before the first statement of that work."""
    await session.connection(execution_options=AUTOCOMMIT)


@asynccontextmanager
async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work (`async with session_scope(f) as session:`): commit when the block ends
    cleanly, roll back otherwise."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
