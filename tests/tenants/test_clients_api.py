"""/v1/clients: a tenant admin's API clients; secrets shown once, stored hashed, kept per tenant."""

from __future__ import annotations

import httpx
import pytest

from app.clients.models import ApiClient
from app.runtime import Runtime
from tests.auth.factories import Actor, fetch_token, new_actor


@pytest.fixture
async def admin(runtime: Runtime, api: httpx.AsyncClient) -> Actor:
    return await new_actor(runtime, api)


async def create(api: httpx.AsyncClient, admin: Actor, scopes: list[str], name: str = "ci"):
    return await api.post(
        "/v1/clients", json={"name": name, "scopes": scopes}, headers=admin.headers
    )


async def test_create_answers_the_secret_once(runtime: Runtime, api: httpx.AsyncClient, admin):
    answer = await create(api, admin, ["certificates:read", "certificates:write"])

    assert answer.status_code == 201, answer.text
    client = answer.json()
    secret = client["client_secret"]
    assert client["client_id"].startswith("cb_") and len(secret) >= 43
    assert client["tenant_id"] == admin.tenant.id
    assert client["scopes"] == ["certificates:read", "certificates:write"]
    assert "secret_hash" not in client
    # The secret works at the token endpoint...
    token = await fetch_token(api, client["client_id"], secret)
    assert token.json()["scope"] == "certificates:read certificates:write"
    # ...and never appears again.
    listed = await api.get("/v1/clients", headers=admin.headers)
    fetched = await api.get(f"/v1/clients/{client['id']}", headers=admin.headers)
    for text in (listed.text, fetched.text):
        assert secret not in text and "secret" not in text.replace("secret_rotated_at", "")
    expected = {k: v for k, v in client.items() if k not in ("client_secret", "last_used_at")}
    assert {k: v for k, v in fetched.json().items() if k != "last_used_at"} == expected
    assert fetched.json()["last_used_at"] is not None


async def test_the_secret_is_stored_only_as_a_hash(runtime: Runtime, api: httpx.AsyncClient, admin):
    client = (await create(api, admin, ["certificates:read"])).json()

    async with runtime.sessions() as session:
        row = await session.get(ApiClient, client["id"])

    assert row is not None
    stored = " ".join(str(value) for value in row.model_dump().values())
    assert client["client_secret"] not in stored
    assert row.secret_hash.startswith("hmac-sha256$")


async def test_list_shows_only_the_callers_tenant(runtime: Runtime, api: httpx.AsyncClient, admin):
    other = await new_actor(runtime, api)
    mine = (await create(api, admin, ["certificates:read"])).json()

    listed = await api.get("/v1/clients", headers=admin.headers)

    ids = {client["id"] for client in listed.json()["items"]}
    assert mine["id"] in ids and admin.client_row_id in ids
    assert other.client_row_id not in ids
    assert all(client["tenant_id"] == admin.tenant.id for client in listed.json()["items"])
    limited = await api.get("/v1/clients", params={"limit": 1}, headers=admin.headers)
    assert len(limited.json()["items"]) == 1


async def test_another_tenants_client_is_a_404_everywhere(
    runtime: Runtime, api: httpx.AsyncClient, admin
):
    other = await new_actor(runtime, api)
    theirs = other.client_row_id

    for method, path in [
        ("GET", f"/v1/clients/{theirs}"),
        ("POST", f"/v1/clients/{theirs}/rotate-secret"),
        ("POST", f"/v1/clients/{theirs}/revoke"),
    ]:
        answer = await api.request(method, path, headers=admin.headers)
        assert answer.status_code == 404, (method, path)
        assert answer.headers["content-type"].startswith("application/problem+json")
    # Untouched: the other tenant's client still gets tokens with its old secret.
    assert (await fetch_token(api, other.client_id, other.secret)).status_code == 200


async def test_unknown_client_is_a_404(api: httpx.AsyncClient, admin):
    assert (await api.get("/v1/clients/nope", headers=admin.headers)).status_code == 404


async def test_rotate_secret_replaces_the_old_one(api: httpx.AsyncClient, admin):
    client = (await create(api, admin, ["certificates:read"])).json()
    old_token = (await fetch_token(api, client["client_id"], client["client_secret"])).json()

    rotated = await api.post(f"/v1/clients/{client['id']}/rotate-secret", headers=admin.headers)

    assert rotated.status_code == 200
    new_secret = rotated.json()["client_secret"]
    assert new_secret != client["client_secret"]
    assert rotated.json()["secret_rotated_at"] > client["secret_rotated_at"]
    refused = await fetch_token(api, client["client_id"], client["client_secret"])
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert (await fetch_token(api, client["client_id"], new_secret)).status_code == 200
    # Rotation is not revocation: tokens already issued keep working until they expire.
    still = await api.get(
        "/v1/jobs/none", headers={"Authorization": f"Bearer {old_token['access_token']}"}
    )
    assert still.status_code == 404


async def test_revoke_stops_the_secret_and_the_tokens(api: httpx.AsyncClient, admin):
    client = (await create(api, admin, ["tenant:admin"])).json()
    token = (await fetch_token(api, client["client_id"], client["client_secret"])).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert (await api.get("/v1/clients", headers=headers)).status_code == 200

    revoked = await api.post(f"/v1/clients/{client['id']}/revoke", headers=admin.headers)

    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    refused = await fetch_token(api, client["client_id"], client["client_secret"])
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert (await api.get("/v1/clients", headers=headers)).status_code == 401
    again = await api.post(f"/v1/clients/{client['id']}/rotate-secret", headers=admin.headers)
    assert again.status_code == 422


async def test_cannot_grant_scopes_the_caller_lacks(
    runtime: Runtime, api: httpx.AsyncClient, admin
):
    platform_grab = await create(api, admin, ["certificates:read", "platform:admin"])
    assert platform_grab.status_code == 403
    assert platform_grab.json()["refused_scopes"] == ["platform:admin"]

    narrow_admin = await new_actor(runtime, api, ["tenant:admin", "certificates:read"])
    escalate = await create(api, narrow_admin, ["keys:export"])
    assert escalate.status_code == 403
    assert "keys:export" in escalate.json()["detail"]


async def test_unknown_or_no_scopes_are_a_422(api: httpx.AsyncClient, admin):
    assert (await create(api, admin, ["root"])).status_code == 422
    assert (await create(api, admin, [])).status_code == 422


async def test_clients_require_tenant_admin(runtime: Runtime, api: httpx.AsyncClient):
    reader = await new_actor(runtime, api, ["certificates:read"])

    for method, path in [
        ("POST", "/v1/clients"),
        ("GET", "/v1/clients"),
        ("GET", f"/v1/clients/{reader.client_row_id}"),
        ("POST", f"/v1/clients/{reader.client_row_id}/rotate-secret"),
        ("POST", f"/v1/clients/{reader.client_row_id}/revoke"),
    ]:
        answer = await api.request(method, path, headers=reader.headers)
        assert answer.status_code == 403, (method, path)
