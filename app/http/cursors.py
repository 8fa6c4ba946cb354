"""Opaque keyset cursors for the list endpoints: a (timestamp, id) pair, signed by the server.

A cursor is base64url JSON plus an HMAC-SHA256 tag keyed from the deployment's data key, and
bound to the list and tenant that handed it out (the route guard sets `cursor_scope` for each
request). Anything else — edited, forged, from another list or tenant, or signed under an
earlier data key — is a 422 naming `query.cursor` before any query runs. Decoding still checks
the shape, so a cursor can never carry a value the database would choke on.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import datetime as dt
import hashlib
import hmac
import json
import os

from app.errors import Unprocessable

# Which list, for whom: "<route path>|<tenant id>", set per request by app/http/routing.py.
cursor_scope: contextvars.ContextVar[str] = contextvars.ContextVar("cursor_scope", default="")

_key = os.urandom(32)  # replaced at startup; a process-local key until then
MAX_ID = 2**63 - 1
MAX_CURSOR_LENGTH = 512


def use_cursor_key(data_key: bytes) -> None:
    """Derive the signing key from the active data key (every replica derives the same)."""
    global _key
    _key = hmac.new(data_key, b"certbroker list cursor v1", hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _tag(payload: str) -> str:
    message = f"{cursor_scope.get()}\n{payload}".encode()
    return _b64(hmac.new(_key, message, hashlib.sha256).digest()[:16])


def encode_cursor(moment: dt.datetime | None, row_id: str | int) -> str:
    payload = _b64(json.dumps([moment.isoformat() if moment else None, row_id]).encode())
    return f"{payload}.{_tag(payload)}"


def _signed(payload: str, tag: str) -> bool:
    return hmac.compare_digest(tag.encode(), _tag(payload).encode())  # bytes: any text compares


def check_signature(cursor: str) -> None:
    """A 422 naming `query.cursor` unless this list and tenant's key signed `cursor`."""
    payload, _, tag = cursor.partition(".")
    if len(cursor) > MAX_CURSOR_LENGTH or not _signed(payload, tag):
        raise _refused()


def decode_cursor(cursor: str) -> tuple[dt.datetime | None, str | int]:
    """The pair back, or a 422 naming `query.cursor` for anything this API did not hand out
    for this list."""
    check_signature(cursor)
    payload = cursor.partition(".")[0]
    try:
        moment, row_id = json.loads(_unb64(payload))
        if isinstance(row_id, bool) or not isinstance(row_id, str | int):
            raise TypeError(row_id)
        if isinstance(row_id, int) and not 0 <= row_id <= MAX_ID:
            raise ValueError(row_id)
        if isinstance(row_id, str) and len(row_id) > 64:
            raise ValueError(row_id)
        at = dt.datetime.fromisoformat(moment) if moment is not None else None
        if at is not None and at.tzinfo is None:
            raise ValueError(moment)
    except (ValueError, TypeError, binascii.Error):
        raise _refused() from None
    return at, row_id


def _refused() -> Unprocessable:
    return Unprocessable.field(
        "query.cursor", "not a cursor this list returned; start again without one"
    )


def encode_key_cursor(value: dt.datetime | str | None, row_id: str | int) -> str:
    """A cursor for a list ordered by a timestamp, a text column or the id alone."""
    if isinstance(value, dt.datetime):
        kind, text = "t", value.isoformat()
    elif value is None:
        kind, text = "n", None
    else:
        kind, text = "s", str(value)
    payload = _b64(json.dumps([kind, text, row_id]).encode())
    return f"{payload}.{_tag(payload)}"


def decode_key_cursor(cursor: str) -> tuple[dt.datetime | str | None, str | int]:
    """What `encode_key_cursor` signed, or a 422 naming `query.cursor`."""
    check_signature(cursor)
    payload = cursor.partition(".")[0]
    try:
        kind, text, row_id = json.loads(_unb64(payload))
        if isinstance(row_id, bool) or not isinstance(row_id, str | int):
            raise TypeError(row_id)
        if isinstance(row_id, int) and not 0 <= row_id <= MAX_ID:
            raise ValueError(row_id)
        if isinstance(row_id, str) and len(row_id) > 64:
            raise ValueError(row_id)
        value: dt.datetime | str | None
        if kind == "t":
            value = dt.datetime.fromisoformat(text)
            if value.tzinfo is None:
                raise ValueError(text)
        elif kind == "s" and isinstance(text, str) and len(text) <= 300:
            value = text
        elif kind == "n" and text is None:
            value = None
        else:
            raise ValueError(kind)
    except (ValueError, TypeError, binascii.Error):
        raise _refused() from None
    return value, row_id
