"""The database HTTP-01 responder: what the worker publishes, every API replica serves."""

from __future__ import annotations

import uuid

from app.acme_state.store import DbHttp01Responder
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
