"""/v1/tenants: platform administrators create, list, read, rename, disable and enable tenants."""

from __future__ import annotations

import uuid

import httpx
import pytest

from app.runtime import Runtime
from tests.auth.factories import Actor, new_actor


@pytest.fixture
async def platform(runtime: Runtime, api: httpx.AsyncClient) -> Actor:
    return await new_actor(runtime, api, ["platform:admin"])


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


async def test_create_list_get(api: httpx.AsyncClient, platform: Actor):
    name = unique("Payments Platform")

    created = await api.post("/v1/tenants", json={"name": name}, headers=platform.headers)

    assert created.status_code == 201, created.text
    tenant = created.json()
    assert tenant["name"] == name and tenant["status"] == "active"
    assert tenant["slug"] == name.lower().replace(" ", "-")
    fetched = await api.get(f"/v1/tenants/{tenant['id']}", headers=platform.headers)
    assert fetched.json() == tenant
    listed = await api.get("/v1/tenants", params={"limit": 500}, headers=platform.headers)
    assert tenant["id"] in {t["id"] for t in listed.json()["items"]}


async def test_explicit_slug_and_limit(api: httpx.AsyncClient, platform: Actor):
    slug = f"team-{uuid.uuid4().hex[:8]}"

    created = await api.post(
        "/v1/tenants", json={"name": unique("Team"), "slug": slug}, headers=platform.headers
    )
    limited = await api.get("/v1/tenants", params={"limit": 1}, headers=platform.headers)

    assert created.json()["slug"] == slug
    assert len(limited.json()["items"]) == 1
    assert limited.json()["limit"] == 1 and limited.json()["next_cursor"]


async def test_duplicate_name_or_slug_is_a_conflict(api: httpx.AsyncClient, platform: Actor):
    name = unique("Dup")
    first = await api.post("/v1/tenants", json={"name": name}, headers=platform.headers)

    again = await api.post("/v1/tenants", json={"name": name.upper()}, headers=platform.headers)
    same_slug = await api.post(
        "/v1/tenants",
        json={"name": unique("Other"), "slug": first.json()["slug"]},
        headers=platform.headers,
    )

    assert again.status_code == same_slug.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")


async def test_invalid_input_is_a_422_problem(api: httpx.AsyncClient, platform: Actor):
    answer = await api.post(
        "/v1/tenants", json={"name": "", "slug": "Not A Slug"}, headers=platform.headers
    )

    assert answer.status_code == 422
    assert {e["field"] for e in answer.json()["errors"]} == {"body.name", "body.slug"}


async def test_rename_disable_enable(api: httpx.AsyncClient, platform: Actor):
    tenant = (
        await api.post("/v1/tenants", json={"name": unique("Old")}, headers=platform.headers)
    ).json()
    new_name = unique("New")

    renamed = await api.patch(
        f"/v1/tenants/{tenant['id']}", json={"name": new_name}, headers=platform.headers
    )
    disabled = await api.patch(
        f"/v1/tenants/{tenant['id']}", json={"status": "disabled"}, headers=platform.headers
    )
    enabled = await api.patch(
        f"/v1/tenants/{tenant['id']}", json={"status": "active"}, headers=platform.headers
    )

    assert renamed.json()["name"] == new_name
    assert renamed.json()["slug"] == tenant["slug"]  # the slug is stable
    assert disabled.json()["status"] == "disabled"
    assert enabled.json()["status"] == "active"


async def test_rename_to_a_taken_name_is_a_conflict(api: httpx.AsyncClient, platform: Actor):
    a = (await api.post("/v1/tenants", json={"name": unique("A")}, headers=platform.headers)).json()
    b = (await api.post("/v1/tenants", json={"name": unique("B")}, headers=platform.headers)).json()

    answer = await api.patch(
        f"/v1/tenants/{b['id']}", json={"name": a["name"]}, headers=platform.headers
    )

    assert answer.status_code == 409


async def test_unknown_tenant_is_a_404(api: httpx.AsyncClient, platform: Actor):
    assert (await api.get("/v1/tenants/nope", headers=platform.headers)).status_code == 404
    answer = await api.patch(
        "/v1/tenants/nope", json={"status": "disabled"}, headers=platform.headers
    )
    assert answer.status_code == 404


async def test_tenant_admins_cannot_manage_tenants(runtime: Runtime, api: httpx.AsyncClient):
    tenant_admin = await new_actor(runtime, api)  # every scope but platform:admin

    for method, path in [
        ("POST", "/v1/tenants"),
        ("GET", "/v1/tenants"),
        ("GET", f"/v1/tenants/{tenant_admin.tenant.id}"),
        ("PATCH", f"/v1/tenants/{tenant_admin.tenant.id}"),
    ]:
        answer = await api.request(method, path, json={"name": "x"}, headers=tenant_admin.headers)
        assert answer.status_code == 403, (method, path)
        assert answer.json()["missing_scopes"] == ["platform:admin"]


async def test_tenants_require_a_token(api: httpx.AsyncClient):
    assert (await api.get("/v1/tenants")).status_code == 401
