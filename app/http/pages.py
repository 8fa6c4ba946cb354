"""One list shape for the whole API: `Page[T]` (`items`, `next_cursor`, `limit`), and the keyset
query behind it.

Every list orders by a key column and the row id, and its cursor is the (key, id) pair of the
page's last row, signed and bound to the list and tenant (app/http/cursors.py). A page asks the
database for `limit + 1` rows: the extra one only says whether another page follows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from app.http.cursors import decode_key_cursor, encode_key_cursor

T = TypeVar("T")

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    items: list[T] = Field(description="this page's entries, in the list's order")
    next_cursor: str | None = Field(
        description="pass as `cursor` (with the same filters) for the next page; null on the last"
    )
    limit: int = Field(
        ge=1, description="the page size asked for (`limit`), the most `items` holds"
    )


async def keyset_page(
    session: AsyncSession,
    query: Select[Any],
    *,
    key: Any | None,
    id_column: Any,
    cursor: str | None,
    limit: int,
    descending: bool = False,
    scalars: bool = True,
    row_key: Callable[[Any], tuple[Any, Any]] | None = None,
) -> tuple[list[Any], str | None]:
    """The page after `cursor` of `query` ordered by (`key`, `id_column`), and the next cursor.

    `key` may be None to order by the id alone; `row_key` reads the (key, id) pair from a row
    when the row is not the mapped object itself (joins)."""
    if cursor:
        value, last_id = decode_key_cursor(cursor)
        after = id_column < last_id if descending else id_column > last_id
        if key is None:
            query = query.where(after)
        elif descending:
            query = query.where(key <= value, or_(key < value, and_(key == value, after)))
        else:
            query = query.where(key >= value, or_(key > value, and_(key == value, after)))
    columns: Sequence[Any] = (id_column,) if key is None else (key, id_column)
    order = [c.desc() if descending else c for c in columns]
    result = await session.execute(query.order_by(*order).limit(limit + 1))
    rows = list(result.scalars()) if scalars else list(result.all())
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    if row_key is not None:
        value, row_id = row_key(last)
    else:
        row_id = getattr(last, id_column.key)
        value = None if key is None else getattr(last, key.key)
    return rows[:limit], encode_key_cursor(value, row_id)


def utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment
