"""The connection pool pings a connection only after it sat idle, and a stale one is replaced
rather than handed to a request (PostgreSQL: the server ends the backend under it)."""

from __future__ import annotations

import uuid

import asyncpg
from sqlalchemy import text

from app import db
from tests.fixtures.app import PG_ADMIN_DSN, create_pg_database, drop_pg_database


async def test_a_connection_killed_while_idle_is_replaced(monkeypatch) -> None:
    name = f"certbroker_ping_{uuid.uuid4().hex[:8]}"
    url = await create_pg_database(name)
    engine = db.create_engine(url, pool_size=1, max_overflow=0)
    pings: list[object] = []
    original = engine.sync_engine.dialect.do_ping
    monkeypatch.setattr(
        engine.sync_engine.dialect, "do_ping", lambda conn: pings.append(conn) or original(conn)
    )
    try:
        async with engine.connect() as conn:
            first_pid = await conn.scalar(text("SELECT pg_backend_pid()"))
        async with engine.connect() as conn:  # just used: handed out without a ping
            assert await conn.scalar(text("SELECT pg_backend_pid()")) == first_pid
        assert pings == []

        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", first_pid)
        finally:
            await admin.close()
        monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # it has now been idle "long"

        async with engine.connect() as conn:
            again = await conn.scalar(text("SELECT pg_backend_pid()"))
        assert pings and again != first_pid  # pinged, found dead, replaced
    finally:
        await engine.dispose()
        await drop_pg_database(name)
