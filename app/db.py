"""Async database access: engine, naming convention, UTC timestamps and the session dependency.

Services never commit; the request (or the job) that opened the session commits at its end.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, Enum, Table, event, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import make_transient_to_detached
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
    # Ten kept open (a shared server's connection slots are few), up to 30 under load.
    options: dict[str, Any] = {"pool_size": 10, "max_overflow": 20, **kwargs}
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


async def insert_now(session: AsyncSession, objects: Sequence[SQLModel]) -> None:
    """INSERT new objects now: one statement per table, a referenced table before the tables
    that refer to it, without the unit of work's flush (which orders tables only by ORM
    relationships, and costs several times a plain INSERT).

    The objects leave the session's pending set. Those whose primary key is known stay in the
    session as persistent and unchanged, as after a flush (a later change is an UPDATE; a
    rollback expires them like rows read in the transaction); a row the database numbers
    (autoincrement) is not read back and its object leaves the session.
    """
    tables: dict[Table, list[SQLModel]] = {}
    for obj in objects:
        tables.setdefault(obj.__table__, []).append(obj)  # type: ignore[attr-defined]
    connection = await session.connection()
    for table in sorted(tables, key=_table_rank):
        rows = tables[table]
        for obj in rows:
            if obj in session:
                session.expunge(obj)
        await connection.execute(_insert_of(table), [_insert_values(table, obj) for obj in rows])
        for obj in rows:
            if all(getattr(obj, column.key) is not None for column in table.primary_key):
                make_transient_to_detached(obj)
                session.add(obj)


_TABLE_RANKS: dict[Table, int] = {}
_INSERTS: dict[Table, Any] = {}


def _insert_of(table: Table) -> Any:
    # One statement object per table: its cache key is computed once, not per execution.
    if table not in _INSERTS:
        _INSERTS[table] = insert(table)
    return _INSERTS[table]


def _table_rank(table: Table) -> int:
    if table not in _TABLE_RANKS:
        _TABLE_RANKS.clear()
        _TABLE_RANKS.update({t: n for n, t in enumerate(SQLModel.metadata.sorted_tables)})
    return _TABLE_RANKS[table]


def _insert_values(table: Table, obj: SQLModel) -> dict[str, Any]:
    values = {column.key: getattr(obj, column.key) for column in table.columns}
    for column in table.primary_key:
        if values[column.key] is None:
            del values[column.key]  # numbered by the database
    return values
