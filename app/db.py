"""Async database access: engine, naming convention, UTC timestamps and the session dependency.

Services never commit; the request (or the job) that opened the session commits at its end.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import DateTime, Enum, Table, event, insert
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, configure_mappers, make_transient_to_detached
from sqlalchemy.orm.instrumentation import manager_of_class
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


_IMMUTABLE = (type(None), str, int, float, bool, bytes, tuple, frozenset, dt.datetime)


@dataclass(frozen=True, slots=True)
class _RowSpec:
    constants: tuple[tuple[str, Any], ...]  # immutable defaults, shared
    factories: tuple[tuple[str, Callable[[], Any]], ...]  # called for each new row
    required: frozenset[str]
    fields: frozenset[str]
    new_instance: Callable[[], Any]


_ROW_SPECS: dict[type, _RowSpec] = {}
_Row = TypeVar("_Row", bound=SQLModel)


def _row_spec(cls: type[SQLModel]) -> _RowSpec:
    found = _ROW_SPECS.get(cls)
    if found is not None:
        return found
    assert not cls.__sqlmodel_relationships__, "rows with relationships: use the constructor"
    assert cls.model_config.get("extra") != "allow" and not cls.__pydantic_post_init__
    constants, factories, required = [], [], set()
    for name, info in cls.model_fields.items():
        if info.is_required():
            required.add(name)
        elif info.default_factory is not None:
            assert not info.default_factory_takes_validated_data, name
            factories.append((name, info.default_factory))
        elif isinstance(info.default, _IMMUTABLE):
            constants.append((name, info.default))
        else:  # a mutable default: a copy per row, as pydantic makes it
            factories.append((name, lambda info=info: info.get_default(call_default_factory=True)))
    # The constructor would configure the mappers on first use; new_instance does not, and an
    # object of an unconfigured mapper has no attribute implementations (a process whose first
    # ORM use is a new_row failed at its first attribute change).
    configure_mappers()
    manager = manager_of_class(cls)
    found = _ROW_SPECS[cls] = _RowSpec(
        tuple(constants),
        tuple(factories),
        frozenset(required),
        frozenset(cls.model_fields),
        manager.new_instance,
    )
    return found


def new_row(cls: type[_Row], /, **values: Any) -> _Row:
    """A new (transient) row object, as `cls(**values)` makes it (the same attributes, defaults
    and pydantic bookkeeping) at a fraction of the cost: the defaults are looked up once per
    class and the values go straight into the object's dict, without the per-attribute events
    a constructor fires (none matter for a row not yet in a session: it is INSERTed whole).
    For table models without relationships, given every required field."""
    spec = _ROW_SPECS.get(cls) or _row_spec(cls)
    unknown = values.keys() - spec.fields
    if unknown:
        raise TypeError(f"{cls.__name__}: no field {', '.join(sorted(unknown))}")
    missing = spec.required - values.keys()
    if missing:
        raise TypeError(f"{cls.__name__}: missing {', '.join(sorted(missing))}")
    obj = spec.new_instance()
    fields_set = set(values)
    data = obj.__dict__
    for name, default in spec.constants:
        if name not in values:
            data[name] = default
    for name, factory in spec.factories:
        if name not in values:
            data[name] = factory()
    data.update(values)
    object.__setattr__(obj, "__pydantic_fields_set__", fields_set)
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


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
    """INSERT new objects now, a referenced table before the tables that refer to it, without
    the unit of work's flush (which orders tables only by ORM relationships): on PostgreSQL in
    one statement (a WITH of one INSERT per table: its foreign keys are checked at the end of
    the statement), elsewhere one statement per table. The values go through the columns' own
    types, as in any flush. Rows left by `insert_later` go first, in the same statement.

    The objects leave the session's pending set. Those whose primary key is known stay in the
    session as persistent and unchanged, as after a flush (a later change is an UPDATE; a
    rollback expires them like rows read in the transaction); a row the database numbers
    (autoincrement) is not read back and its object leaves the session.
    """
    if objects or session.info.get(_LATER):
        await session.run_sync(_insert_rows, objects)


async def insert_last(session: AsyncSession, objects: Sequence[SQLModel]) -> None:
    """The unit of work's last rows before its commit: `insert_now` (with the rows
    `insert_later` kept), then a flush of anything else pending.

    On PostgreSQL, when nothing has run in the session yet and nothing else is pending, that one
    INSERT statement is all the transaction would hold: it runs on its own, outside a
    transaction (one statement is atomic), which spares the BEGIN and COMMIT round trips. The
    caller guarantees nothing else writes in the session before its commit (callbacks that
    add rows at the commit's flush are run first: see app.webhooks.events.decide_now)."""
    sync = session.sync_session
    pending = bool(sync.new or sync.deleted or sync.dirty)
    if _reads_alone(sync):
        if pending:  # reads_alone's caller settles beforehand that nothing else is written
            raise RuntimeError("more than one statement to write outside a transaction")
    elif not pending and _nothing_run(sync) and sync.get_bind().dialect.name == "postgresql":
        await autocommit(session)
    await insert_now(session, objects)
    await session.flush()


async def reads_alone(session: AsyncSession) -> bool:
    """On PostgreSQL, run the session's reads outside a transaction (no BEGIN, no COMMIT), for
    a unit of work whose writes will all be one statement, its last (`insert_last`). Under READ
    COMMITTED each statement sees the data committed when it starts, in a transaction or not,
    so the reads see what they would have seen; and the one write is atomic by itself. A caller
    that finds it has more to write calls `need_transaction` before writing anything. False
    (nothing changed) elsewhere or once a statement ran."""
    sync = session.sync_session
    if sync.get_bind().dialect.name != "postgresql" or not _nothing_run(sync):
        return False
    await autocommit(session)
    return True


async def need_transaction(session: AsyncSession) -> None:
    """Leave `reads_alone`: the statements from here on run in a transaction again. Only
    before the first write (nothing may be pending)."""
    sync = session.sync_session
    if _reads_alone(sync):
        assert not (sync.new or sync.deleted or sync.dirty or sync.info.get(_LATER))
        await session.commit()  # nothing to commit: the connection goes back, the next is fresh


def _nothing_run(session: Session) -> bool:
    """Whether the session has taken no connection in its transaction (no statement ran)."""
    transaction = session.get_transaction()
    return transaction is None or not transaction._connections


def _reads_alone(session: Session) -> bool:
    """Whether the session's statements run outside a transaction (autocommit)."""
    transaction = session.get_transaction()
    if transaction is None:
        return False
    return any(
        connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
        for connection, *_ in transaction._connections.values()
    )


def insert_later(session: AsyncSession, objects: Sequence[SQLModel]) -> None:
    """As `insert_now`, but the INSERT waits for the session's next statement, so it can share
    that statement's round trip: the next `insert_now` adds these rows to its own statement,
    and any other statement, flush or commit of the session inserts them first. They leave the
    session now and join it, persistent, once inserted; a rollback forgets them."""
    for obj in objects:
        if obj in session:
            session.expunge(obj)
    session.info.setdefault(_LATER, []).extend(objects)


_LATER = "db.insert_later"  # session.info: the rows insert_later keeps for the next statement


def _insert_rows(session: Session, objects: Sequence[SQLModel]) -> None:
    objects = [*session.info.pop(_LATER, ()), *objects]
    if not objects:
        return
    tables: dict[Table, list[SQLModel]] = {}
    for obj in objects:
        tables.setdefault(obj.__table__, []).append(obj)  # type: ignore[attr-defined]
    connection = session.connection()
    dialect = connection.dialect
    parts = []
    for table in sorted(tables, key=_table_rank):
        values = [_insert_values(table, obj) for obj in tables[table]]
        compiled = _compiled_insert(table, dialect, tuple(values[0]))
        parts.append((compiled, [compiled.parameters(row) for row in values]))
    for obj in objects:
        if obj in session:
            session.expunge(obj)
    flat = tuple(value for _, rows in parts for row in rows for value in row)
    if dialect.name == "postgresql" and len(flat) <= _MAX_PARAMETERS:
        statement = _one_statement([(compiled, len(rows)) for compiled, rows in parts])
        connection.exec_driver_sql(statement, flat)
    else:
        for compiled, rows in parts:
            connection.exec_driver_sql(compiled.sql, rows if len(rows) > 1 else rows[0])
    for table, rows in tables.items():
        keys = _table_columns(table)[1]
        for obj in rows:
            state = obj.__dict__
            if all(state.get(key) is not None for key in keys):
                make_transient_to_detached(obj)
                session.add(obj)


@event.listens_for(Session, "do_orm_execute")
def _insert_before_query(execute_state: Any) -> None:
    if execute_state.session.info.get(_LATER):
        _insert_rows(execute_state.session, ())


@event.listens_for(Session, "before_flush")
def _insert_before_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get(_LATER):
        _insert_rows(session, ())


@event.listens_for(Session, "before_commit")
def _insert_before_commit(session: Session) -> None:
    if session.info.get(_LATER):
        _insert_rows(session, ())


@event.listens_for(Session, "after_soft_rollback")
def _forget_later(session: Session, _previous: Any) -> None:
    session.info.pop(_LATER, None)


@dataclass(frozen=True, slots=True)
class _CompiledInsert:
    sql: str  # one row's INSERT
    binds: tuple[tuple[str, Callable[[Any], Any] | None], ...]  # in parameter order

    def parameters(self, values: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(
            values[key] if process is None else process(values[key]) for key, process in self.binds
        )


_COMPILED_INSERTS: dict[tuple[Table, str, tuple[str, ...]], _CompiledInsert] = {}
_STATEMENTS: dict[tuple[tuple[int, int], ...], str] = {}
_TABLE_RANKS: dict[Table, int] = {}
_PLACEHOLDER = re.compile(r"\$\d+")
_MAX_PARAMETERS = 30_000  # PostgreSQL's protocol allows 32767 in one statement


def _compiled_insert(table: Table, dialect: Dialect, keys: tuple[str, ...]) -> _CompiledInsert:
    found = _COMPILED_INSERTS.get((table, dialect.name, keys))
    if found is None:
        # for_executemany: no RETURNING of a database-numbered key (it is not read back)
        compiled = insert(table).compile(
            dialect=dialect, column_keys=list(keys), for_executemany=True
        )
        assert compiled.positiontup is not None, "a positional paramstyle (asyncpg, sqlite)"
        types = {column.key: column.type.dialect_impl(dialect) for column in table.columns}
        found = _CompiledInsert(
            compiled.string,
            tuple((key, types[key].bind_processor(dialect)) for key in compiled.positiontup),
        )
        _COMPILED_INSERTS[(table, dialect.name, keys)] = found
    return found


def _one_statement(parts: list[tuple[_CompiledInsert, int]]) -> str:
    """PostgreSQL: the INSERTs (each of `count` rows) as one statement, parameters numbered on."""
    shape = tuple((id(compiled), count) for compiled, count in parts)
    found = _STATEMENTS.get(shape)
    if found is None:
        numbers = iter(range(1, 1 << 30))
        inserts = []
        for compiled, count in parts:
            head, _, row = compiled.sql.partition(" VALUES ")
            rows = ", ".join(
                _PLACEHOLDER.sub(lambda _: f"${next(numbers)}", row) for _ in range(count)
            )
            inserts.append(f"{head} VALUES {rows}")
        *first, last = inserts
        ctes = ", ".join(f"i{n} AS ({sql})" for n, sql in enumerate(first))
        found = _STATEMENTS[shape] = f"WITH {ctes} {last}" if first else last
    return found


def _table_rank(table: Table) -> int:
    if table not in _TABLE_RANKS:
        _TABLE_RANKS.clear()
        _TABLE_RANKS.update({t: n for n, t in enumerate(SQLModel.metadata.sorted_tables)})
    return _TABLE_RANKS[table]


_TABLE_COLUMNS: dict[Table, tuple[tuple[str, ...], tuple[str, ...]]] = {}


def _table_columns(table: Table) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The table's column keys and its primary key's."""
    found = _TABLE_COLUMNS.get(table)
    if found is None:
        found = _TABLE_COLUMNS[table] = (
            tuple(column.key for column in table.columns),
            tuple(column.key for column in table.primary_key),
        )
    return found


def _insert_values(table: Table, obj: SQLModel) -> dict[str, Any]:
    columns, primary_key = _table_columns(table)
    loaded = obj.__dict__
    values = {key: loaded[key] if key in loaded else getattr(obj, key) for key in columns}
    for key in primary_key:
        if values[key] is None:
            del values[key]  # numbered by the database
    return values
