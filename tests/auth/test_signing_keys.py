"""Signing keys: encrypted at rest, rotation keeps old tokens verifying until the key expires."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import update

from app.auth import keyring as keyring_module
from app.auth.models import SigningKey, SigningKeyStatus
from app.auth.signing_keys import (
    ensure_signing_key,
    new_signing_key,
    private_key,
    rotate_signing_key,
)
from app.auth.state import auth_state
from app.crypto.secretbox import DecryptionError
from app.db import utcnow
from app.runtime import Runtime
from tests.auth.factories import claims_for, decode_unverified, fetch_token, new_actor, sign


async def call(api: httpx.AsyncClient, token: str) -> httpx.Response:
    return await api.get("/v1/clients", headers={"Authorization": f"Bearer {token}"})


async def rotate(runtime: Runtime) -> SigningKey:
    async with runtime.sessions() as session:
        key = await rotate_signing_key(session, runtime)
        await session.commit()
    return key


async def test_private_key_is_stored_encrypted(runtime: Runtime):
    async with runtime.sessions() as session:
        row = await ensure_signing_key(session, runtime)
        await session.commit()
        stored = await session.get(SigningKey, row.kid)

    assert stored is not None
    assert stored.private_key_encrypted.startswith(f"v1:{runtime.secretbox.active_key_id}:")
    assert "PRIVATE KEY" not in stored.private_key_encrypted
    assert "d" not in stored.public_jwk  # the public JWK holds no private part
    pem = runtime.secretbox.decrypt_str(stored.private_key_encrypted, context=stored.kid)
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    # Bound to its kid: copied into another row it no longer decrypts.
    with pytest.raises(DecryptionError):
        runtime.secretbox.decrypt(stored.private_key_encrypted, context="another-kid")


async def test_rotation_keeps_old_tokens_verifying(runtime: Runtime, api: httpx.AsyncClient):
    actor = await new_actor(runtime, api)
    old_kid = decode_unverified(actor.token)[0]["kid"]

    new = await rotate(runtime)
    fresh = (await fetch_token(api, actor.client_id, actor.secret)).json()["access_token"]

    assert decode_unverified(fresh)[0]["kid"] == new.kid != old_kid
    assert (await call(api, actor.token)).status_code == 200
    assert (await call(api, fresh)).status_code == 200
    jwks_kids = {key["kid"] for key in (await api.get("/.well-known/jwks.json")).json()["keys"]}
    assert {old_kid, new.kid} <= jwks_kids
    async with runtime.sessions() as session:
        old = await session.get(SigningKey, old_kid)
    assert old is not None and old.status == SigningKeyStatus.RETIRED
    assert old.retire_at <= utcnow()
    lifetime = dt.timedelta(seconds=runtime.settings.auth.access_token_ttl)
    assert utcnow() + lifetime < old.expires_at <= utcnow() + lifetime + dt.timedelta(minutes=5)


async def test_an_expired_keys_tokens_are_rejected(runtime: Runtime, api: httpx.AsyncClient):
    await rotate(runtime)
    actor = await new_actor(runtime, api)
    doomed_kid = decode_unverified(actor.token)[0]["kid"]
    await rotate(runtime)
    assert (await call(api, actor.token)).status_code == 200

    async with runtime.sessions() as session:
        await session.execute(
            update(SigningKey)
            .where(SigningKey.kid == doomed_kid)
            .values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
        await session.commit()
    auth_state(runtime).keyring.invalidate()  # as the next periodic reload would

    answer = await call(api, actor.token)

    assert answer.status_code == 401
    assert "unknown or expired" in answer.json()["detail"]
    jwks = (await api.get("/.well-known/jwks.json")).json()
    assert doomed_kid not in {key["kid"] for key in jwks["keys"]}


async def test_cached_expiry_alone_rejects(runtime: Runtime, api: httpx.AsyncClient):
    await rotate(runtime)
    actor = await new_actor(runtime, api)
    kid = decode_unverified(actor.token)[0]["kid"]
    ring = auth_state(runtime).keyring
    entry = ring._verifying[kid]
    ring._verifying[kid] = type(entry)(entry.key, utcnow() - dt.timedelta(seconds=1))
    try:
        assert (await call(api, actor.token)).status_code == 401
    finally:
        ring.invalidate()


async def test_an_old_active_key_is_rotated_automatically(runtime: Runtime, api: httpx.AsyncClient):
    current = await rotate(runtime)
    days = runtime.settings.auth.signing_key_rotation_days
    async with runtime.sessions() as session:
        await session.execute(
            update(SigningKey)
            .where(SigningKey.kid == current.kid)
            .values(created_at=utcnow() - dt.timedelta(days=days, minutes=1))
        )
        await session.commit()

    actor = await new_actor(runtime, api)

    assert decode_unverified(actor.token)[0]["kid"] != current.kid
    async with runtime.sessions() as session:
        old = await session.get(SigningKey, current.kid)
    assert old is not None and old.status == SigningKeyStatus.RETIRED


async def test_a_key_made_by_another_process_is_picked_up(
    runtime: Runtime, api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
):
    actor = await new_actor(runtime, api)
    # Another API process rotated: its key is in the database, not in this process's cache.
    async with runtime.sessions() as session:
        row = new_signing_key(runtime, utcnow())
        session.add(row)
        await session.commit()
    token = sign(private_key(runtime, row), row.kid, claims_for(runtime, actor))
    ring = auth_state(runtime).keyring
    monkeypatch.setattr(ring, "_loaded_at", ring._loaded_at - keyring_module.RELOAD_INTERVAL)

    assert (await call(api, token)).status_code == 200


async def test_unknown_kids_reload_at_most_once_per_interval(
    runtime: Runtime, api: httpx.AsyncClient
):
    actor = await new_actor(runtime, api)
    ring = auth_state(runtime).keyring
    await ring.verifying_key("first-unknown-kid")  # may reload
    loaded_at = ring._loaded_at

    for n in range(5):
        assert await ring.verifying_key(f"unknown-{n}") is None

    assert ring._loaded_at == loaded_at
    assert (await call(api, actor.token)).status_code == 200
