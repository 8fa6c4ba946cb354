"""OAuth client credentials: the Keycloak-style token endpoint and Bearer on the same /api paths."""

from __future__ import annotations

import asyncio

import httpx


async def fetch_token(sandbox, secret: str | None = None) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(
            sandbox.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": sandbox.client_id,
                "client_secret": secret or sandbox.client_secret,
            },
        )


async def test_token_response_and_bearer_use(scm_sandbox):
    response = await fetch_token(scm_sandbox)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    assert body["access_token"].startswith("eyJ")
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    async with httpx.AsyncClient(base_url=scm_sandbox.base_url, headers=bearer) as scm:
        assert (await scm.get("/ssl/v1/types")).status_code == 200


async def test_bad_client_and_grant(scm_sandbox):
    bad_secret = await fetch_token(scm_sandbox, secret="nope")
    async with httpx.AsyncClient() as client:
        bad_grant = await client.post(scm_sandbox.token_url, data={"grant_type": "password"})
        basic = await client.post(
            scm_sandbox.token_url,
            data={"grant_type": "client_credentials"},
            auth=(scm_sandbox.client_id, scm_sandbox.client_secret),
        )
    assert bad_secret.status_code == 401 and bad_grant.status_code == 400
    assert basic.status_code == 200


async def test_expired_token_is_401_pointing_at_token_url(scm_sandbox):
    async with scm_sandbox.settings(token_lifetime_seconds=1):
        body = (await fetch_token(scm_sandbox)).json()
    assert body["expires_in"] == 1
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    async with httpx.AsyncClient(base_url=scm_sandbox.base_url, headers=bearer) as scm:
        assert (await scm.get("/ssl/v1/customFields")).status_code == 200
        await asyncio.sleep(1.1)
        expired = await scm.get("/ssl/v1/customFields")
        garbage = await scm.get("/ssl/v1/customFields", headers={"Authorization": "Bearer x.y.z"})
    assert expired.status_code == garbage.status_code == 401
    assert expired.json() == {"code": -16, "description": "Unknown user"}
    assert scm_sandbox.token_url in expired.headers["WWW-Authenticate"]
    assert expired.headers["WWW-Authenticate"].startswith("Bearer ")
