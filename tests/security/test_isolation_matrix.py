"""Tenant isolation, generated from the app's routes: every tenant-owned route asked with
another tenant's ids is a 404 (and changes nothing); every list shows nothing of the other
tenant; creating under another tenant's organization is refused."""

from __future__ import annotations

import json

import httpx
from fastapi import FastAPI

from app.runtime import Runtime
from tests.security.world import build_world, classify, operations, sample_body


async def test_another_tenants_ids_are_404_on_every_route(
    app: FastAPI, runtime: Runtime, api: httpx.AsyncClient
) -> None:
    world = await build_world(runtime, api)
    objects = [op for op in operations(app) if classify(op) == "tenant-object"]
    failures = []
    for op in objects:
        body = sample_body(op)
        answer = await api.request(
            op.method,
            world.path_for(op),
            headers=world.attacker.headers,
            json=body if body is not None else None,
        )
        if answer.status_code != 404:
            failures.append(f"{op}: {answer.status_code} {answer.text[:200]}")
    print(f"\nisolation matrix: {len(objects)} tenant-object operations x another tenant's ids")
    assert not failures, "\n".join(failures)
    assert len(objects) >= 29  # the API had 29 such operations when this was written

    # Nothing the attacker tried took effect: the victim still sees every object as it was.
    for kind, path in [
        ("organization", "/v1/organizations/{}"),
        ("certificate", "/v1/certificates/{}"),
        ("domain", "/v1/domains/{}"),
        ("webhook", "/v1/webhooks/{}"),
        ("client", "/v1/clients/{}"),
    ]:
        seen = await api.get(path.format(world.objects[kind]), headers=world.victim.headers)
        assert seen.status_code == 200, f"{kind}: {seen.text}"
    cert = (
        await api.get(
            f"/v1/certificates/{world.objects['certificate']}", headers=world.victim.headers
        )
    ).json()
    assert cert["status"] == "pending_approval" and cert["comments"] is None
    client = (
        await api.get(f"/v1/clients/{world.objects['client']}", headers=world.victim.headers)
    ).json()
    assert client.get("revoked_at") is None and client.get("status", "active") == "active"


async def test_lists_show_nothing_of_another_tenant(
    app: FastAPI, runtime: Runtime, api: httpx.AsyncClient
) -> None:
    world = await build_world(runtime, api)
    lists = [op for op in operations(app) if classify(op) == "tenant-list" and op.method == "GET"]
    failures = []
    for op in lists:
        answer = await api.get(op.path, headers=world.attacker.headers)
        if answer.status_code != 200:
            failures.append(f"{op}: {answer.status_code} {answer.text[:200]}")
            continue
        leaked = [kind for kind, id_ in world.objects.items() if id_ in answer.text]
        if leaked or world.victim.tenant.id in answer.text:
            failures.append(f"{op}: shows the other tenant's {leaked or 'tenant id'}")
    print(f"\nisolation lists: {len(lists)} list operations, none may show the other tenant")
    assert not failures, "\n".join(failures)
    assert len(lists) >= 10


async def test_creating_under_another_tenants_organization_is_refused(
    app: FastAPI, runtime: Runtime, api: httpx.AsyncClient
) -> None:
    world = await build_world(runtime, api)
    creators = [
        op
        for op in operations(app)
        if classify(op) == "tenant-list"
        and op.method == "POST"
        and "organization_id" in json.dumps(sample_body(op) or {})
    ]
    failures = []
    for op in creators:
        body = {**sample_body(op), "organization_id": world.objects["organization"]}
        answer = await api.post(op.path, headers=world.attacker.headers, json=body)
        if answer.status_code not in (404, 422):
            failures.append(f"{op}: {answer.status_code} {answer.text[:200]}")
    print(f"\nisolation creates: {len(creators)} operations naming another tenant's organization")
    assert not failures, "\n".join(failures)
    assert len(creators) >= 3
