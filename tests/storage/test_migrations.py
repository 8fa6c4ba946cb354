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


@pytest.mark.parametrize("engine_name", ["sqlite", "postgres"])
async def test_server_paths_in_settings_are_dropped_and_pem_kept(
    engine_name: str, tmp_path: Path
) -> None:
    """issue 9: settings no longer name server files; the migration reads none of them."""
    import datetime as dt
    import json

    import sqlalchemy as sa

    name = f"certbroker_migrate_{uuid.uuid4().hex[:8]}"
    if engine_name == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'paths.db'}"
    else:
        url = await create_pg_database(name)
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    orgs = {
        "paths": (
            {"base_url": "https://x/private/api", "client_cert_file": "/etc/shadow",
             "client_key_file": "../../etc/passwd", "org_id": 1, "auth_style": "client_cert"},
            {"directory_url": "https://acme/dir", "ca_bundle": "/etc/ssl/private/key.pem"},
        ),
        "pem": (None, {"directory_url": "https://acme/dir", "ca_bundle": pem}),
    }  # fmt: skip
    try:
        await upgrade_async(url, "20261203acme")
        engine = create_engine(url)
        async with engine.begin() as conn:
            now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
            await conn.execute(
                sa.text(
                    "INSERT INTO tenant (id, name, slug, status, created_at) "
                    "VALUES ('t1', 't1', 't1', 'active', :now)"
                ),
                {"now": now},
            )
            for org_id, (scm, acme) in orgs.items():
                await conn.execute(
                    sa.text(
                        "INSERT INTO organization (id, tenant_id, name, sandbox, scm, acme, "
                        "allowed_domains, catalog, default_terms, backend_overrides, "
                        "auto_approve, approvers, approval_timeout_hours, unvalidated_domains, "
                        "alert_thresholds, created_at, updated_at) VALUES (:id, 't1', :id, "
                        "false, :scm, :acme, '[]', '[]', '{}', '{}', true, '{}', 72, "
                        "'validate', '[]', :now, :now)"
                    ),
                    {
                        "id": org_id,
                        "scm": json.dumps(scm) if scm else None,
                        "acme": json.dumps(acme),
                        "now": now,
                    },
                )
        await engine.dispose()
        await upgrade_async(url)
        engine = create_engine(url)
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.text("SELECT id, scm, acme FROM organization"))).all()
        await engine.dispose()
        found = {
            row[0]: [json.loads(v) if isinstance(v, str) else v for v in row[1:]] for row in rows
        }
        scm, acme = found["paths"]
        assert "client_cert_file" not in scm and "client_key_file" not in scm
        assert acme == {"directory_url": "https://acme/dir"}
        assert found["pem"][1] == {"directory_url": "https://acme/dir", "ca_bundle_pem": pem}
    finally:
        if engine_name == "postgres":
            await drop_pg_database(name)
