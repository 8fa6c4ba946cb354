"""Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from app.db import create_engine
from app.migrations import upgrade_async
from app.models import import_all_models
from tests.fixtures.app import create_pg_database, drop_pg_database


def _diff(connection) -> list:
    context = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "compare_server_default": True},
    )
    return compare_metadata(context, SQLModel.metadata)


@pytest.mark.parametrize("engine_name", ["sqlite", "postgres"])
async def test_upgrade_to_head_matches_models(engine_name: str, tmp_path: Path) -> None:
    import_all_models()
    name = f"certbroker_migrate_{uuid.uuid4().hex[:8]}"
    if engine_name == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"
    else:
        url = await create_pg_database(name)
    try:
        await upgrade_async(url)
        engine = create_engine(url)
        async with engine.connect() as conn:
            diff = await conn.run_sync(_diff)
        await engine.dispose()
        assert diff == [], f"models and migrations disagree on {engine_name}: {diff}"
        # Running it again is a no-op, as `make run` does on every start.
        await upgrade_async(url)
    finally:
        if engine_name == "postgres":
            await drop_pg_database(name)
