"""Token, secret and key material never reach a log record, whatever the outcome."""

from __future__ import annotations

import logging

import httpx
import pytest

from app.runtime import Runtime
from tests.auth.factories import fetch_token, new_actor, rotate_key


async def test_logs_hold_no_tokens_secrets_or_keys(
    runtime: Runtime, api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
):
    # The drivers' own DEBUG output (SQL parameters) is silenced by configure_logging.
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="certbroker")
    actor = await new_actor(runtime, api)
    await fetch_token(api, actor.client_id, actor.secret + "wrong")
    await api.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": actor.client_id,
            "client_secret": actor.secret,
        },
        auth=(actor.client_id, actor.secret),
    )
    await api.get("/v1/clients", headers=actor.headers)
    await api.get("/v1/clients", headers={"Authorization": f"Bearer {actor.token}x"})
    created = await api.post(
        "/v1/clients", json={"name": "n", "scopes": ["certificates:read"]}, headers=actor.headers
    )
    key = await rotate_key(runtime)

    logged = "\n".join(str(vars(record)) for record in caplog.records)
    assert "token issued" in logged  # the endpoint does log, just not the material
    for material in (
        actor.secret,
        actor.token,
        actor.token.split(".")[2],
        created.json()["client_secret"],
        key.private_key_encrypted,
        "PRIVATE KEY",
    ):
        assert material not in logged
