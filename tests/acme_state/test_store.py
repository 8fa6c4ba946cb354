"""The database HTTP-01 responder: what the worker publishes, every API replica serves."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from app.acme_state.store import (
    DbHttp01Responder,
    token_delete,
    token_upsert,
    tokens_with_checkpoint,
)
from app.db import AUTOCOMMIT
from app.runtime import Runtime


async def test_present_serve_replace_and_clean_up(runtime: Runtime) -> None:
    responder = DbHttp01Responder(runtime)
    token = uuid.uuid4().hex
    assert await responder.lookup(token) is None
    await responder.present(token, f"{token}.first")
    # Another replica (another responder, other connections) sees it at once: no transaction
    # is left open by the call.
    assert await DbHttp01Responder(runtime).lookup(token) == f"{token}.first"
    await responder.present(token, f"{token}.second")  # a retried step publishes again
    assert await responder.lookup(token) == f"{token}.second"
    await responder.cleanup(token)
    assert await DbHttp01Responder(runtime).lookup(token) is None
    await responder.cleanup(token)  # twice is fine


async def test_token_changes_left_to_the_job_are_made_by_its_statements(
    runtime: Runtime,
) -> None:
    """Under `tokens_with_checkpoint` (the issue job), presenting and removing only note the
    change, in this task and the tasks it starts; the job makes them with its own statements
    (`token_upsert` with its checkpoint, `token_delete` with its outcome)."""
    responder = DbHttp01Responder(runtime)
    first, second, dropped = (uuid.uuid4().hex for _ in range(3))

    async def execute(statement: object) -> None:
        async with runtime.engine.connect() as connection:
            connection = await connection.execution_options(**AUTOCOMMIT)
            await connection.execute(statement)  # type: ignore[call-overload]

    with tokens_with_checkpoint() as changes:
        await asyncio.gather(
            responder.present(first, f"{first}.k"),
            responder.present(second, f"{second}.k"),
            responder.present(dropped, f"{dropped}.k"),
        )
        await responder.cleanup(dropped)
        assert changes.published == {first: f"{first}.k", second: f"{second}.k"}
        assert changes.removed == [dropped]
        assert await responder.lookup(first) is None
        await execute(token_upsert(runtime.engine.dialect.name, changes.published))
        assert await responder.lookup(first) == f"{first}.k"
        assert await responder.lookup(second) == f"{second}.k"
        await responder.cleanup(first)
        assert await responder.lookup(first) == f"{first}.k"  # until the job removes it
        await execute(token_delete(changes.removed))
    assert await responder.lookup(first) is None
    assert await responder.lookup(dropped) is None
    await responder.present(dropped, f"{dropped}.k")  # outside: written at once, as before
    assert await responder.lookup(dropped) == f"{dropped}.k"
    await responder.cleanup(dropped)
    assert await responder.lookup(dropped) is None


async def test_the_api_reads_a_token_once_per_validation(
    api: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CA fetches a token once per vantage point: one database read serves them all, a token
    not yet published is looked up again, and a removed token is gone after SERVED_FOR."""
    from app.acme_state import router

    reads: list[str] = []
    lookup = DbHttp01Responder.lookup

    async def counted(self: DbHttp01Responder, token: str) -> str | None:
        reads.append(token)
        return await lookup(self, token)

    monkeypatch.setattr(DbHttp01Responder, "lookup", counted)
    responder = DbHttp01Responder(runtime)
    token = uuid.uuid4().hex
    path = f"/.well-known/acme-challenge/{token}"
    assert (await api.get(path)).status_code == 404
    await responder.present(token, f"{token}.ka")
    # Three vantage points at once, then a late one: one read.
    answers = await asyncio.gather(*(api.get(path) for _ in range(3)))
    answers.append(await api.get(path))
    assert {(a.status_code, a.text) for a in answers} == {(200, f"{token}.ka")}
    assert reads == [token, token]
    await responder.cleanup(token)
    monkeypatch.setattr(router, "SERVED_FOR", 0.0)
    router._served.clear()
    assert (await api.get(path)).status_code == 404
