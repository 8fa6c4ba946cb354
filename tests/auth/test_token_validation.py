"""Bearer token validation: a good token reaches a protected endpoint, every bad one is a 401."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time

import httpx
import pytest
from joserfc.jwk import ECKey

from app.auth import status_cache
from app.clients.service import revoke_api_client
from app.runtime import Runtime
from tests.auth.factories import (
    Actor,
    b64url,
    claims_for,
    current_private_key,
    decode_unverified,
    es256_by_hand,
    new_actor,
    sign,
    unsigned,
)

PROTECTED = "/v1/clients"


def assert_invalid_token(answer: httpx.Response) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["status"] == 401
    challenge = answer.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and 'error="invalid_token"' in challenge


async def call(api: httpx.AsyncClient, token: str) -> httpx.Response:
    return await api.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
async def actor(runtime: Runtime, api: httpx.AsyncClient) -> Actor:
    return await new_actor(runtime, api)


async def test_a_valid_token_calls_a_protected_endpoint(api: httpx.AsyncClient, actor: Actor):
    answer = await call(api, actor.token)

    assert answer.status_code == 200, answer.text
    assert [client["client_id"] for client in answer.json()["items"]] == [actor.client_id]


async def test_missing_token(api: httpx.AsyncClient):
    assert_invalid_token(await api.get(PROTECTED))
    assert_invalid_token(await api.get(PROTECTED, headers={"Authorization": "Basic Zm9vOmJhcg=="}))


@pytest.mark.parametrize("token", ["abc", "a.b.c", "eyJhbGciOiJFUzI1NiJ9..", "x" * 10000])
async def test_malformed_token(api: httpx.AsyncClient, token: str):
    assert_invalid_token(await call(api, token))


async def test_expired_token(runtime: Runtime, api: httpx.AsyncClient, actor: Actor):
    kid, key = await current_private_key(runtime)
    now = int(time.time())
    token = sign(
        key, kid, claims_for(runtime, actor, iat=now - 7200, nbf=now - 7200, exp=now - 3600)
    )

    answer = await call(api, token)

    assert_invalid_token(answer)
    assert "expired" in answer.json()["detail"]


async def test_token_not_yet_valid(runtime: Runtime, api: httpx.AsyncClient, actor: Actor):
    kid, key = await current_private_key(runtime)
    later = int(time.time()) + 3600
    token = sign(key, kid, claims_for(runtime, actor, nbf=later, exp=later + 300))

    assert_invalid_token(await call(api, token))


async def test_a_correctly_signed_token_from_our_key_passes(
    runtime: Runtime, api: httpx.AsyncClient, actor: Actor
):
    # The control for the claim tests below: the hand-made token itself is acceptable.
    kid, key = await current_private_key(runtime)

    assert (await call(api, sign(key, kid, claims_for(runtime, actor)))).status_code == 200


@pytest.mark.parametrize(
    "overrides",
    [
        {"iss": "https://evil.example"},
        {"aud": "someone-else"},
        {"aud": None},
        {"exp": None},
        {"tenant": None},
        {"client_id": None},
    ],
    ids=["wrong-issuer", "wrong-audience", "no-audience", "no-exp", "no-tenant", "no-client-id"],
)
async def test_wrong_or_missing_claims(
    runtime: Runtime, api: httpx.AsyncClient, actor: Actor, overrides: dict
):
    kid, key = await current_private_key(runtime)
    claims = claims_for(runtime, actor, **overrides)

    assert_invalid_token(await call(api, sign(key, kid, claims)))


async def test_alg_none_is_rejected(runtime: Runtime, api: httpx.AsyncClient, actor: Actor):
    kid, _ = await current_private_key(runtime)
    for alg in ("none", "None", "NONE"):
        token = unsigned({"alg": alg, "kid": kid, "typ": "at+jwt"}, claims_for(runtime, actor))
        assert_invalid_token(await call(api, token))


async def test_hs256_signed_with_the_public_key_is_rejected(
    runtime: Runtime, api: httpx.AsyncClient, actor: Actor
):
    # Algorithm confusion: a verifier that lets the token pick HS256 would use the public key
    # (which anyone can fetch from the JWKS) as the HMAC secret.
    kid, key = await current_private_key(runtime)
    public_pem = key.as_pem(private=False)
    header = {"alg": "HS256", "kid": kid, "typ": "at+jwt"}
    claims = claims_for(runtime, actor)
    signing_input = ".".join(b64url(json.dumps(part).encode()) for part in (header, claims))
    for secret in (public_pem, public_pem.strip(), key.as_dict(private=False)["x"].encode()):
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        assert_invalid_token(await call(api, f"{signing_input}.{b64url(mac)}"))


async def test_unknown_kid_is_rejected(runtime: Runtime, api: httpx.AsyncClient, actor: Actor):
    stranger = ECKey.generate_key("P-256", private=True)

    assert_invalid_token(await call(api, sign(stranger, "no-such-kid", claims_for(runtime, actor))))
    # Our kid, someone else's key: the signature does not verify.
    kid, _ = await current_private_key(runtime)
    assert_invalid_token(await call(api, sign(stranger, kid, claims_for(runtime, actor))))


async def test_missing_kid_is_rejected(runtime: Runtime, api: httpx.AsyncClient, actor: Actor):
    _, key = await current_private_key(runtime)
    token = sign(key, "x", claims_for(runtime, actor))
    header, claims = decode_unverified(token)
    del header["kid"]
    assert_invalid_token(await call(api, unsigned(header, claims, b"sig")))


async def test_tampered_payload_is_rejected(runtime: Runtime, api: httpx.AsyncClient):
    reader = await new_actor(runtime, api, ["certificates:read"])
    header_b64, _, signature = reader.token.split(".")
    _, claims = decode_unverified(reader.token)
    claims["scope"] = "certificates:read tenant:admin platform:admin"
    payload = b64url(json.dumps(claims).encode())

    assert_invalid_token(await call(api, f"{header_b64}.{payload}.{signature}"))


async def test_tampered_signature_is_rejected(api: httpx.AsyncClient, actor: Actor):
    head, payload, signature = actor.token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[5] ^= 0x01

    assert_invalid_token(await call(api, f"{head}.{payload}.{b64url(bytes(raw))}"))
    assert_invalid_token(await call(api, f"{head}.{payload}."))


async def test_wrong_token_type_is_rejected(runtime: Runtime, api: httpx.AsyncClient, actor: Actor):
    kid, key = await current_private_key(runtime)

    assert_invalid_token(await call(api, sign(key, kid, claims_for(runtime, actor), typ="JWT")))


async def test_revoked_clients_tokens_stop_working(runtime: Runtime, api: httpx.AsyncClient):
    admin = await new_actor(runtime, api)
    created = await api.post(
        "/v1/clients",
        json={"name": "doomed", "scopes": ["tenant:admin"]},
        headers=admin.headers,
    )
    doomed = created.json()
    token = (
        await api.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(doomed["client_id"], doomed["client_secret"]),
        )
    ).json()["access_token"]
    assert (await call(api, token)).status_code == 200

    revoked = await api.post(f"/v1/clients/{doomed['id']}/revoke", headers=admin.headers)
    assert revoked.status_code == 200

    answer = await call(api, token)
    assert_invalid_token(answer)
    assert "revoked" in answer.json()["detail"]


async def test_disabled_tenants_tokens_stop_working(runtime: Runtime, api: httpx.AsyncClient):
    platform = await new_actor(runtime, api, ["platform:admin"])
    actor = await new_actor(runtime, api)
    assert (await call(api, actor.token)).status_code == 200

    await api.patch(
        f"/v1/tenants/{actor.tenant.id}", json={"status": "disabled"}, headers=platform.headers
    )
    assert_invalid_token(await call(api, actor.token))

    await api.patch(
        f"/v1/tenants/{actor.tenant.id}", json={"status": "active"}, headers=platform.headers
    )
    assert (await call(api, actor.token)).status_code == 200


async def test_missing_scope_is_a_403_naming_it(runtime: Runtime, api: httpx.AsyncClient):
    reader = await new_actor(runtime, api, ["certificates:read"])

    answer = await call(api, reader.token)

    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert "tenant:admin" in problem["detail"]
    assert problem["missing_scopes"] == ["tenant:admin"]
    assert 'error="insufficient_scope"' in answer.headers["www-authenticate"]


@pytest.mark.parametrize(
    ("header", "overrides"),
    [
        ({"typ": 7}, {}),
        ({"kid": 7}, {}),
        ({"crit": ["exp"]}, {}),
        ({}, {"exp": "9999999999"}),
        ({}, {"aud": 7}),
        ({}, {"iss": ["http://testserver"]}),
        ({}, {"tenant": 7}),
        ({}, {"client_id": ["x"]}),
        ({}, {"nbf": "soon"}),
        ({}, {"scope": 7}),
    ],
)
async def test_odd_shapes_are_a_401_never_a_500(
    runtime: Runtime, api: httpx.AsyncClient, actor: Actor, header: dict, overrides: dict
):
    kid, key = await current_private_key(runtime)
    claims = claims_for(runtime, actor, **overrides)
    plain = {"alg": "ES256", "kid": kid, "typ": "at+jwt"}
    # Signed for real (the control passes), so only the odd field can be the reason to refuse.
    control = await call(api, es256_by_hand(key, plain, claims_for(runtime, actor)))
    answer = await call(api, es256_by_hand(key, {**plain, **header}, claims))

    assert control.status_code == 200

    if overrides == {"scope": 7}:
        assert answer.status_code == 403  # a token with no usable scope
    else:
        assert_invalid_token(answer)


async def test_a_revocation_elsewhere_takes_effect_when_the_cache_entry_ages(
    runtime: Runtime, api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
):
    actor = await new_actor(runtime, api)
    assert (await call(api, actor.token)).status_code == 200  # cached as active
    # Another process (the CLI, another API worker) revokes: this process is not told.
    async with runtime.sessions() as session:
        await revoke_api_client(session, actor.tenant.id, actor.client_row_id)
        await session.commit()

    assert (await call(api, actor.token)).status_code == 200  # within the brief cache
    monkeypatch.setattr(status_cache, "TTL", 0.0)
    assert_invalid_token(await call(api, actor.token))


async def test_a_verified_token_is_remembered_until_its_exp_at_most(
    runtime: Runtime, api: httpx.AsyncClient, actor: Actor, monkeypatch: pytest.MonkeyPatch
):
    from app.auth import validation
    from app.auth import verified as verified_module

    verified: list[str] = []
    real_verify = validation.verify_jwt

    def counting(token: str, *args: object, **kwargs: object) -> dict:
        verified.append(token)
        return real_verify(token, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(validation, "verify_jwt", counting)
    kid, key = await current_private_key(runtime)
    now = int(time.time())
    short = sign(key, kid, claims_for(runtime, actor, exp=now + 2))
    for _ in range(3):
        assert (await call(api, actor.token)).status_code == 200
        assert (await call(api, short)).status_code == 200
    # Verified once each: the repeats are answered from the process's memory ...
    assert verified.count(short) == 1 and verified.count(actor.token) <= 1
    # ... but never past the token's own exp (then the full check says it expired, with leeway).
    monkeypatch.setattr(verified_module, "_clock", lambda: now + 3.0)
    assert (await call(api, short)).status_code == 200
    assert verified.count(short) == 2
    # A remembered token is refused as soon as its client is: the status is asked every time.
    async with runtime.sessions() as session:
        await revoke_api_client(session, actor.tenant.id, actor.client_row_id)
        await session.commit()
    monkeypatch.setattr(status_cache, "TTL", 0.0)
    assert_invalid_token(await call(api, actor.token))


async def test_requests_missing_the_status_together_share_one_load(runtime: Runtime) -> None:
    from app.auth.status_cache import StatusCache

    cache = StatusCache(runtime)
    loads = 0
    gate = asyncio.Event()

    async def load() -> bool:
        nonlocal loads
        loads += 1
        await gate.wait()
        return True

    waiting = [
        asyncio.ensure_future(cache._cached("client", cache._clients, "c", load)) for _ in range(20)
    ]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*waiting) == [True] * 20
    assert loads == 1
    # A load under way when its entry is forgotten answers its waiters but is not kept.
    gate.clear()
    del cache._clients["c"]
    first = asyncio.ensure_future(cache._cached("client", cache._clients, "c", load))
    await asyncio.sleep(0)
    cache.forget_client("c")
    gate.set()
    assert await first is True
    assert "c" not in cache._clients
    # The loading request cancelled: a waiter loads for itself.
    gate.clear()
    loader = asyncio.ensure_future(cache._cached("client", cache._clients, "c", load))
    await asyncio.sleep(0)
    waiter = asyncio.ensure_future(cache._cached("client", cache._clients, "c", load))
    await asyncio.sleep(0)
    loader.cancel()
    await asyncio.sleep(0)
    gate.set()
    assert await waiter is True
