"""Opaque keyset cursors for the list endpoints: a (timestamp, id) pair, base64url JSON."""

from __future__ import annotations

import base64
import datetime as dt
import json

from app.errors import Unprocessable


def encode_cursor(moment: dt.datetime | None, row_id: str | int) -> str:
    raw = json.dumps([moment.isoformat() if moment else None, row_id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime | None, str | int]:
    """The pair back, or a 422 naming `query.cursor` for anything this API did not hand out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        moment, row_id = json.loads(raw)
        if not isinstance(row_id, str | int):
            raise TypeError(row_id)
        return (dt.datetime.fromisoformat(moment) if moment else None), row_id
    except (ValueError, TypeError):
        raise Unprocessable.field("query.cursor", "not a cursor this API returned") from None
