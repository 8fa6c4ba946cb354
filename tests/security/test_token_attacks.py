"""Forged, stale and withdrawn tokens against every /v1 operation: each is a 401 before the
body is read (the body here is not JSON). The tokens come from the auth test factories; the
one accepted control token shows the forgeries differ from a good token only where stated."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

import httpx
from fastapi import FastAPI
from joserfc.jwk import ECKey

from app.runtime import Runtime
from tests.auth.factories import (
    ALL_SCOPES,
    b64url,
    claims_for,
    current_private_key,
    new_actor,
    sign,
    unsigned,
)
from tests.security.world import classify, operations

GARBAGE = {"content": b"\x00{not json", "headers": {"content-type": "application/json"}}


async def attack_tokens(runtime: Runtime, api: httpx.AsyncClient) -> dict[str, str]:
    actor = await new_actor(runtime, api, ALL_SCOPES)
    kid, key = await current_private_key(runtime)
    claims = claims_for(runtime, actor, scope=" ".join(ALL_SCOPES))
    now = int(time.time())
    stranger = ECKey.generate_key("P-256", private=True)

    header = {"alg": "HS256", "kid": kid, "typ": "at+jwt"}
    signing_input = ".".join(b64url(json.dumps(part).encode()) for part in (header, claims))
    mac = hmac.new(key.as_pem(private=False), signing_input.encode(), hashlib.sha256).digest()

    head, _, signature = sign(key, kid, claims).split(".")
    raised = {**claims, "tenant": uuid.uuid4().hex}

    revoked = await new_actor(runtime, api, ALL_SCOPES)
    gone = await api.post(f"/v1/clients/{revoked.client_row_id}/revoke", headers=revoked.headers)
    assert gone.status_code == 200, gone.text
    disabled = await new_actor(runtime, api, ALL_SCOPES)
    platform = await new_actor(runtime, api, ["platform:admin"])
    off = await api.patch(
        f"/v1/tenants/{disabled.tenant.id}", json={"status": "disabled"}, headers=platform.headers
    )
    assert off.status_code == 200, off.text

    control = await api.get(
        "/v1/organizations", headers={"Authorization": f"Bearer {sign(key, kid, claims)}"}
    )
    assert control.status_code == 200, control.text
    return {
        "alg none": unsigned({"alg": "none", "kid": kid, "typ": "at+jwt"}, claims),
        "HS256 keyed with the public key": f"{signing_input}.{b64url(mac)}",
        "expired": sign(
            key, kid, {**claims, "iat": now - 7200, "nbf": now - 7200, "exp": now - 60}
        ),
        "wrong audience": sign(key, kid, {**claims, "aud": "someone-else"}),
        "wrong issuer": sign(key, kid, {**claims, "iss": "https://evil.example"}),
        "unknown kid": sign(stranger, "no-such-kid", claims),
        "our kid, another key": sign(stranger, kid, claims),
        "tampered tenant": f"{head}.{b64url(json.dumps(raised).encode())}.{signature}",
        "revoked client": revoked.token,
        "disabled tenant": disabled.token,
    }


async def test_every_token_attack_is_401_on_every_route(
    app: FastAPI, runtime: Runtime, api: httpx.AsyncClient
) -> None:
    tokens = await attack_tokens(runtime, api)
    api_ops = [op for op in operations(app) if classify(op) != "public"]
    failures = []
    for op in api_ops:
        path = op.path
        for name in op.params:
            path = path.replace("{" + name + "}", uuid.uuid4().hex)
        for attack, token in tokens.items():
            answer = await api.request(
                op.method,
                path,
                content=GARBAGE["content"],
                headers={**GARBAGE["headers"], "Authorization": f"Bearer {token}"},
            )
            if answer.status_code != 401:
                failures.append(f"{op} with {attack}: {answer.status_code} {answer.text[:150]}")
    print(
        f"\ntoken attacks: {len(tokens)} attacks x {len(api_ops)} operations"
        f" = {len(tokens) * len(api_ops)} requests"
    )
    assert not failures, "\n".join(failures[:20])
