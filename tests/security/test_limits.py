"""Limits one client cannot bend: the body limit at the edge (413 before parsing), per-field
limits in the schemas, failed token requests per client id and per address, and the /v1
request budget shared by two API instances through Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from app.main import create_app
from app.runtime import Runtime
from app.settings import Settings
from app.wiring import register_backends
from tests.auth.factories import ALL_SCOPES, Actor, fetch_token, new_actor, new_client, new_tenant


@pytest.fixture
async def admin(runtime: Runtime, api: httpx.AsyncClient) -> Actor:
    return await new_actor(runtime, api, [s for s in ALL_SCOPES if s != "platform:admin"])


def assert_413(answer: httpx.Response, limit: int) -> None:
    assert answer.status_code == 413, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["max_bytes"] == limit


async def test_a_body_over_the_limit_is_413_before_it_is_parsed(
    api: httpx.AsyncClient, admin: Actor, settings: Settings
) -> None:
    limit = settings.limits.max_body_bytes
    domains = [f"d{i}.example.com" for i in range(500_000)]  # ~10 MB, as once accepted
    declared = await api.post(
        "/v1/organizations", json={"name": "big", "allowed_domains": domains}, headers=admin.headers
    )
    assert_413(declared, limit)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        yield b'{"name": "big", "labels": {"x": "'
        for _ in range(limit // 65536 + 2):
            yield b"a" * 65536
        yield b'"}}'

    streamed = await api.post(
        "/v1/organizations",
        content=chunks(),
        headers={**admin.headers, "content-type": "application/json"},
    )
    assert "content-length" not in streamed.request.headers
    assert_413(streamed, limit)
    # At the edge: before authentication too, and whatever the route.
    assert_413(await api.post("/v1/certificates", content=b"x" * (limit + 1)), limit)
    assert_413(await api.post("/oauth/token", content=b"x" * (limit + 1)), limit)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"allowed_domains": [f"d{i}.example.com" for i in range(501)]}, "body.allowed_domains"),
        ({"allowed_domains": ["a" * 254]}, "body.allowed_domains.0"),
        ({"approvers": {"EV": [f"c{i}" for i in range(51)]}}, "body.approvers.EV"),
        ({"alert_thresholds": list(range(1, 12))}, "body.alert_thresholds"),
        ({"name": "n" * 201}, "body.name"),
    ],
)
async def test_organization_fields_are_bounded(
    api: httpx.AsyncClient, admin: Actor, extra: dict, field: str
) -> None:
    answer = await api.post(
        "/v1/organizations", json={"name": "bounded", **extra}, headers=admin.headers
    )
    assert answer.status_code == 422, answer.text
    assert field in [e["field"] for e in answer.json()["errors"]]


@pytest.mark.parametrize(
    ("labels", "field"),
    [
        ({"team": "v" * 257}, "body.labels.team"),
        ({"k" * 64: "v"}, "body.labels.[key]"),
        ({f"k{i}": "v" for i in range(33)}, "body.labels"),
    ],
)
async def test_labels_are_bounded(
    api: httpx.AsyncClient, admin: Actor, labels: dict, field: str
) -> None:
    answer = await api.patch(
        f"/v1/certificates/{uuid.uuid4().hex}", json={"labels": labels}, headers=admin.headers
    )
    assert answer.status_code == 422, answer.text
    fields = [e["field"] for e in answer.json()["errors"]]
    assert any(f.startswith(field.replace(".[key]", "")) for f in fields), fields


@pytest.fixture
async def strict_api(settings: Settings, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The app with the production failure limits, reached from its own address."""
    strict = Settings(
        **{
            **settings.model_dump(),
            "limits": {"token_failures_per_client": 3, "token_failures_per_address": 5},
        }
    )
    app = create_app(strict, Runtime(**{**runtime.__dict__, "settings": strict, "extras": {}}))
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_failed_client_authentications_are_limited_per_client_id(
    runtime: Runtime, strict_api: httpx.AsyncClient
) -> None:
    tenant = await new_tenant(runtime)
    _, client_id, secret = await new_client(runtime, tenant.id, ["certificates:read"])
    wrong = [(await fetch_token(strict_api, client_id, "wrong")).status_code for _ in range(3)]
    assert wrong == [401, 401, 401]
    locked = await fetch_token(strict_api, client_id, "wrong")
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1
    # Locked means locked: the right secret is refused too, so a lucky guess does not show.
    right = await fetch_token(strict_api, client_id, secret)
    assert right.status_code == 429, right.text


async def test_failed_client_authentications_are_limited_per_address(
    runtime: Runtime, strict_api: httpx.AsyncClient
) -> None:
    answers = [
        (await fetch_token(strict_api, f"cb_guess_{i}", "wrong")).status_code for i in range(5)
    ]
    assert answers == [401] * 5
    sprayed = await fetch_token(strict_api, "cb_guess_next", "wrong")
    assert sprayed.status_code == 429 and int(sprayed.headers["retry-after"]) >= 1
    assert "address" in sprayed.json()["detail"]


async def test_the_request_budget_holds_across_two_api_instances(settings: Settings) -> None:
    """Two apps, each with its own runtime (engine, Redis connection), as two processes are."""
    limited = Settings(**{**settings.model_dump(), "rate_limit_per_minute": 6})
    runtimes = [Runtime.build(limited) for _ in range(2)]
    for rt in runtimes:
        register_backends(rt)
    clients = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(limited, rt)), base_url="http://testserver"
        )
        for rt in runtimes
    ]
    try:
        actor = await new_actor(runtimes[0], clients[0])
        answers = await asyncio.gather(
            *(clients[i % 2].get("/v1/organizations", headers=actor.headers) for i in range(10))
        )
        codes = sorted(a.status_code for a in answers)
        assert codes == [200] * 6 + [429] * 4, codes
        refused = next(a for a in answers if a.status_code == 429)
        assert int(refused.headers["retry-after"]) >= 1
    finally:
        for client in clients:
            await client.aclose()
        for rt in runtimes:
            await rt.close()
