"""Each input that once answered 500, now a 4xx problem naming the field (run on SQLite and
PostgreSQL: NUL only breaks PostgreSQL): nulls in PATCH, control characters anywhere, bodies
that are not JSON, tampered cursors on every paginated list, deleting an organization."""

from __future__ import annotations

import base64
import json
import uuid

import httpx
import pytest
from fastapi import FastAPI

from app.organizations.schemas import OrganizationUpdate
from app.runtime import Runtime
from tests.auth.factories import ALL_SCOPES, Actor, new_actor
from tests.security.world import SCM_SETTINGS, classify, operations, sample_body


@pytest.fixture
async def admin(runtime: Runtime, api: httpx.AsyncClient) -> Actor:
    return await new_actor(runtime, api, [s for s in ALL_SCOPES if s != "platform:admin"])


async def new_org(api: httpx.AsyncClient, actor: Actor, **body: object) -> dict:
    body = {"name": f"org-{uuid.uuid4().hex[:8]}", "allowed_domains": ["example.com"], **body}
    answer = await api.post("/v1/organizations", json=body, headers=actor.headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def problem_fields(answer: httpx.Response, status: int = 422) -> list[str]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    return [error["field"] for error in answer.json().get("errors", [])]


async def test_patch_null_is_422_for_required_fields_and_clears_nullable_ones(
    api: httpx.AsyncClient, admin: Actor
) -> None:
    org = await new_org(
        api,
        admin,
        scm=SCM_SETTINGS,
    )
    url = f"/v1/organizations/{org['id']}"
    required = [f for f in OrganizationUpdate.model_fields if f not in OrganizationUpdate.nullable]
    for name in required:
        answer = await api.patch(url, json={name: None}, headers=admin.headers)
        assert problem_fields(answer) == [f"body.{name}"], name
    cleared = await api.patch(url, json={"scm": None}, headers=admin.headers)
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["scm"] is None
    assert (await api.get(url, headers=admin.headers)).json()["name"] == org["name"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "a\u0000b"}, "body.name"),
        ({"name": "a\u0007b"}, "body.name"),
        ({"name": "a\u009bb"}, "body.name"),
        (
            {"name": "ok", "allowed_domains": ["example.com", "ex\u0000ample.org"]},
            "body.allowed_domains.1",
        ),
        ({"name": "ok", "approvers": {"EV": ["\u0000"]}}, "body.approvers.EV.0"),
    ],
)
async def test_control_characters_in_a_body_are_422_naming_the_field(
    api: httpx.AsyncClient, admin: Actor, body: dict, field: str
) -> None:
    answer = await api.post("/v1/organizations", json=body, headers=admin.headers)
    assert problem_fields(answer) == [field]
    assert "control character" in answer.json()["detail"]


async def test_a_lone_surrogate_is_422_not_a_driver_error(api: httpx.AsyncClient, admin: Actor):
    raw = b'{"name": "a\\ud800b"}'  # valid JSON escape, not encodable as UTF-8
    answer = await api.post(
        "/v1/organizations",
        content=raw,
        headers={**admin.headers, "content-type": "application/json"},
    )
    assert problem_fields(answer) == ["body.name"]


async def test_control_characters_in_keys_path_query_and_form(
    api: httpx.AsyncClient, admin: Actor
) -> None:
    org = await new_org(api, admin)
    labels = await api.post(
        "/v1/inventory/certificates",
        json={"organization_id": org["id"], "pem": "x", "labels": {"te\u0000am": "a"}},
        headers=admin.headers,
    )
    assert problem_fields(labels) == ["body.labels"]
    assert problem_fields(await api.get("/v1/certificates/ab%00cd", headers=admin.headers)) == [
        "path.certificate_id"
    ]
    query = await api.get("/v1/certificates", params={"product": "x\x00"}, headers=admin.headers)
    assert problem_fields(query) == ["query.product"]
    form = await api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "a\x00b", "client_secret": "s"},
    )
    assert problem_fields(form) == ["body.client_id"]


async def test_nul_in_any_json_body_is_422_on_every_route(
    app: FastAPI, runtime: Runtime, api: httpx.AsyncClient
) -> None:
    actor = await new_actor(runtime, api, ALL_SCOPES)
    with_body = [
        op for op in operations(app) if op.route.body_field is not None and classify(op) != "public"
    ]
    failures = []
    for op in with_body:
        path = op.path
        for name in op.params:
            path = path.replace("{" + name + "}", uuid.uuid4().hex)
        body = {**(sample_body(op) or {}), "note\u0000": "x"}
        answer = await api.request(op.method, path, json=body, headers=actor.headers)
        if answer.status_code != 422 or "control character" not in answer.text:
            failures.append(f"{op}: {answer.status_code} {answer.text[:150]}")
    print(f"\ncontrol characters: {len(with_body)} operations with a JSON body")
    assert not failures, "\n".join(failures)


async def test_a_body_that_is_not_json_says_where(api: httpx.AsyncClient, admin: Actor) -> None:
    raw = b'{\n  "name": "x",,\n  "allowed_domains": []\n}'
    answer = await api.post(
        "/v1/organizations",
        content=raw,
        headers={**admin.headers, "content-type": "application/json"},
    )
    assert problem_fields(answer) == ["body"]
    error = answer.json()["errors"][0]
    assert (error["type"], error["line"], error["column"]) == ("json_invalid", 2, 15)
    assert (
        "not valid JSON" in answer.json()["detail"]
        and "line 2, column 15" in answer.json()["detail"]
    )
    deep = await api.post(
        "/v1/organizations",
        content=b"[" * 100_000 + b"]" * 100_000,
        headers={**admin.headers, "content-type": "application/json"},
    )
    assert problem_fields(deep) == ["body"]
    latin = await api.post(
        "/v1/organizations",
        content=b'{"name": "\xe9"}',
        headers={**admin.headers, "content-type": "application/json"},
    )
    assert problem_fields(latin) == ["body"] and "UTF-8" in latin.json()["detail"]


def forged_cursors() -> dict[str, str]:
    def raw(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return {
        "unsigned, as the server once wrote them": raw(["2026-01-01T00:00:00+00:00", "abc"]),
        "naive datetime": raw(["2026-01-01T00:00:00", "abc"]) + ".AAAAAAAAAAAAAAAAAAAAAA",
        "huge number": raw([None, 10**30]) + ".AAAAAAAAAAAAAAAAAAAAAA",
        "wrong types": raw([[1], {"a": 1}]) + ".x",
        "not base64": "%%%%.%%%%",
        "empty tag": raw(["2026-01-01T00:00:00+00:00", "abc"]) + ".",
        "huge": "A" * 5000,
    }


async def test_cursors_the_server_did_not_write_are_422_on_every_paginated_list(
    app: FastAPI, runtime: Runtime, api: httpx.AsyncClient
) -> None:
    actor = await new_actor(runtime, api, ALL_SCOPES)
    paginated = [
        op
        for op in operations(app)
        if op.method == "GET" and any(p.name == "cursor" for p in op.route.dependant.query_params)
    ]
    failures = []
    for op in paginated:
        for what, cursor in forged_cursors().items():
            answer = await api.get(op.path, params={"cursor": cursor}, headers=actor.headers)
            if answer.status_code != 422 or [e["field"] for e in answer.json()["errors"]] != [
                "query.cursor"
            ]:
                failures.append(f"{op} with {what}: {answer.status_code} {answer.text[:150]}")
    print(f"\ncursors: {len(paginated)} paginated lists x {len(forged_cursors())} forged cursors")
    assert not failures, "\n".join(failures)
    assert len(paginated) >= 3


async def test_a_real_cursor_works_only_on_its_own_list_and_tenant(
    runtime: Runtime, api: httpx.AsyncClient, admin: Actor
) -> None:
    for _ in range(3):
        await new_org(api, admin)  # each leaves an audit event
    first = await api.get("/v1/audit", params={"limit": 1}, headers=admin.headers)
    cursor = first.json()["next_cursor"]
    assert cursor
    second = await api.get(
        "/v1/audit", params={"limit": 1, "cursor": cursor}, headers=admin.headers
    )
    assert second.status_code == 200 and second.json()["items"] != first.json()["items"]
    elsewhere = await api.get("/v1/alerts", params={"cursor": cursor}, headers=admin.headers)
    assert problem_fields(elsewhere) == ["query.cursor"]
    stranger = await new_actor(runtime, api, ALL_SCOPES)
    theirs = await api.get("/v1/audit", params={"cursor": cursor}, headers=stranger.headers)
    assert problem_fields(theirs) == ["query.cursor"]


async def test_deleting_an_organization_removes_its_domains_or_says_what_blocks_it(
    api: httpx.AsyncClient, admin: Actor
) -> None:

    org = await new_org(api, admin, scm=SCM_SETTINGS)
    domain = await api.post(
        "/v1/domains",
        json={"name": "example.com", "organization_id": org["id"]},
        headers=admin.headers,
    )
    assert domain.status_code == 201, domain.text
    gone = await api.delete(f"/v1/organizations/{org['id']}", headers=admin.headers)
    assert gone.status_code == 204, gone.text
    assert (
        await api.get(f"/v1/domains/{domain.json()['id']}", headers=admin.headers)
    ).status_code == 404

    busy = await new_org(
        api, admin, scm=SCM_SETTINGS, auto_approve=False, approvers={"OV": ["someone"]}
    )
    ordered = await api.post(
        "/v1/certificates",
        json={
            "organization_id": busy["id"],
            "product": "instantssl",
            "common_name": "a.example.com",
        },
        headers=admin.headers,
    )
    assert ordered.status_code == 202, ordered.text
    blocked = await api.delete(f"/v1/organizations/{busy['id']}", headers=admin.headers)
    problem_fields(blocked, 409)
    assert "1 certificate" in blocked.json()["detail"]


async def test_renaming_an_organization_to_a_taken_name_is_409(
    api: httpx.AsyncClient, admin: Actor
) -> None:
    taken = await new_org(api, admin)
    org = await new_org(api, admin)
    answer = await api.patch(
        f"/v1/organizations/{org['id']}", json={"name": taken["name"]}, headers=admin.headers
    )
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert (await api.get(f"/v1/organizations/{org['id']}", headers=admin.headers)).json()[
        "name"
    ] == org["name"]
