"""GET /v1/audit: tenant administrators read their tenant's log, filtered and paged; nothing in
the API changes it."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest

from app.runtime import Runtime
from tests.audit.conftest import Team
from tests.auth.factories import TENANT_SCOPES, new_actor


async def make_clients(api: httpx.AsyncClient, team: Team, count: int) -> list[str]:
    ids = []
    for index in range(count):
        answer = await api.post(
            "/v1/clients",
            json={"name": f"c{index}", "scopes": ["certificates:read"]},
            headers=team.admin.headers,
        )
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
    return ids


async def read(api: httpx.AsyncClient, headers: dict[str, str], **params) -> dict:
    answer = await api.get("/v1/audit", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_newest_first_and_paged_by_cursor(api: httpx.AsyncClient, team: Team):
    ids = await make_clients(api, team, 5)

    seen: list[dict] = []
    cursor = None
    while True:
        params = {"limit": 2, "action": "clients_create"} | ({"cursor": cursor} if cursor else {})
        page = await read(api, team.admin.headers, **params)
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert [item["object_id"] for item in seen] == list(reversed(ids))
    first = seen[0]
    assert first["actor"] == team.admin.client_id and first["client_id"] == team.admin.client_id
    assert first["object_type"] == "client" and first["status"] == 201
    assert first["outcome"] == "succeeded" and first["request_id"]
    assert first["detail"]["change"] == {"name": "c4", "scopes": ["certificates:read"]}


async def test_filters(api: httpx.AsyncClient, team: Team):
    before = dt.datetime.now(dt.UTC)
    ids = await make_clients(api, team, 2)
    await api.post(f"/v1/clients/{ids[0]}/revoke", headers=team.admin.headers)
    denied = await api.post(f"/v1/clients/{ids[1]}/revoke", headers=team.reader())
    assert denied.status_code == 403
    after = dt.datetime.now(dt.UTC)

    def pairs(page: dict) -> list[tuple[str, str]]:
        return [(item["action"], item["object_id"]) for item in page["items"]]

    by_object = await read(api, team.admin.headers, object_id=ids[0])
    assert pairs(by_object) == [("clients_revoke", ids[0]), ("clients_create", ids[0])]
    by_actor = await read(api, team.admin.headers, actor=team.reader_id)
    assert pairs(by_actor) == [("clients_revoke", ids[1])]
    assert by_actor["items"][0]["outcome"] == "denied"
    by_action = await read(api, team.admin.headers, action="clients_revoke")
    assert {item["object_id"] for item in by_action["items"]} == set(ids)
    by_type = await read(api, team.admin.headers, object_type="client", limit=500)
    assert len(by_type["items"]) == 4
    assert await read(api, team.admin.headers, object_type="certificate") == {
        "items": [],
        "next_cursor": None,
        "limit": 50,
    }
    inside = await read(api, team.admin.headers, since=before.isoformat(), until=after.isoformat())
    assert len(inside["items"]) == 4
    later = await read(api, team.admin.headers, since=after.isoformat())
    assert later["items"] == []
    earlier = await read(api, team.admin.headers, until=before.isoformat())
    assert earlier["items"] == []


async def test_other_tenants_see_nothing(api: httpx.AsyncClient, runtime: Runtime, team: Team):
    ids = await make_clients(api, team, 1)
    stranger = await new_actor(runtime, api, TENANT_SCOPES)

    page = await read(api, stranger.headers, object_id=ids[0])
    everything = await read(api, stranger.headers, limit=500)

    assert page["items"] == []
    assert all(item["object_id"] != ids[0] for item in everything["items"])
    assert all(item["actor"] == stranger.client_id for item in everything["items"])


async def test_only_tenant_admins_read_it(api: httpx.AsyncClient, team: Team):
    answer = await api.get("/v1/audit", headers=team.reader())
    assert answer.status_code == 403
    assert (await api.get("/v1/audit")).status_code == 401


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_rows_cannot_be_changed_through_the_api(
    api: httpx.AsyncClient, team: Team, method: str
):
    await make_clients(api, team, 1)
    row_id = (await read(api, team.admin.headers))["items"][0]["id"]

    for path in ("/v1/audit", f"/v1/audit/{row_id}"):
        answer = await api.request(method, path, json={}, headers=team.admin.headers)
        assert answer.status_code in (404, 405), (method, path)
    assert (await api.request(method, "/v1/audit", headers=team.admin.headers)).status_code == 405
    assert (await read(api, team.admin.headers))["items"][0]["id"] == row_id


async def test_a_bad_cursor_is_a_422(api: httpx.AsyncClient, team: Team):
    answer = await api.get(
        "/v1/audit", params={"cursor": uuid.uuid4().hex}, headers=team.admin.headers
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "query.cursor"
