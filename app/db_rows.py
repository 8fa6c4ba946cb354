"""Rows written around SQLAlchemy's unit of work, for hot paths: new row objects without the
constructor's per-field work (`new_row`), an order's rows in one statement (`insert_now`,
`insert_later`, `insert_last`), reads and one write without a transaction (`reads_alone`), and a
batch of rows as one prepared statement (`insert_batch`)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Table, event, insert, text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session, configure_mappers, make_transient_to_detached
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlmodel import SQLModel

from app.db import autocommit

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
        found = _CompiledInsert(
            compiled.string,
            tuple((key, bind_converter(table.c[key], dialect)) for key in compiled.positiontup),
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


async def insert_batch(
    session: AsyncSession, table: Table, rows: list[dict[str, Any]], tail: str = ""
) -> Any:
    """INSERT `rows` (dicts with the same keys) into `table` as one statement whose text depends
    only on the table, the columns and `tail` (ON CONFLICT, RETURNING), so it is prepared once:
    the batch travels as one array per column on PostgreSQL (`unnest`) and as one JSON document
    on SQLite (`json_each`), each value already converted by its column's type."""
    names = tuple(rows[0])
    dialect = session.bind.dialect  # type: ignore[union-attr]
    converters = [bind_converter(table.c[name], dialect) for name in names]
    columns = [
        [row[name] if convert is None else convert(row[name]) for row in rows]
        for name, convert in zip(names, converters, strict=True)
    ]
    if dialect.name == "postgresql":
        params = {f"c{i}": values for i, values in enumerate(columns)}
    else:
        params = {"rows": json.dumps(list(zip(*columns, strict=True)))}
    return await session.execute(_batch_statement(table, names, dialect, tail), params)


_BATCH_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def _batch_statement(table: Table, names: tuple[str, ...], dialect: Any, tail: str) -> Any:
    key = (table.name, names, dialect.name, tail)
    statement = _BATCH_STATEMENTS.get(key)
    if statement is None:
        # Every name is a column of `table` (looked up by the caller): no text from a request.
        into = f"INSERT INTO {table.name} ({', '.join(names)})"
        if dialect.name == "postgresql":
            arrays = ", ".join(
                f"CAST(:c{i} AS {table.c[name].type.compile(dialect=dialect)}[])"
                for i, name in enumerate(names)
            )
            sql = f"{into} SELECT * FROM unnest({arrays}){tail}"  # noqa: S608
        else:
            values = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(names)))
            # `WHERE true` tells SQLite's parser that the ON CONFLICT belongs to the INSERT.
            sql = f"{into} SELECT {values} FROM json_each(:rows) WHERE true{tail}"  # noqa: S608
        statement = _BATCH_STATEMENTS[key] = text(sql)
    return statement


def bind_converter(column: Any, dialect: Any) -> Any:
    """The column type's own conversion of a Python value to what the driver is given."""
    return column.type.dialect_impl(dialect).bind_processor(dialect)


async def execute_with(connection: AsyncConnection, statement: Any, before: Sequence[Any]) -> Any:
    """Execute `statement` together with the data-changing statements `before` (without
    RETURNING): on PostgreSQL as CTEs of it, one statement and one round trip (each CTE runs in
    full whatever `statement` matches); elsewhere each of them first. Its result."""
    for n, extra in enumerate(before):
        if connection.dialect.name == "postgresql":
            statement = statement.add_cte(extra.cte(f"with_{n}"))
        else:
            await connection.execute(extra)
    return await connection.execute(statement)
