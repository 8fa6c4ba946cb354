"""A tenant whose DNS settings point at a silent resolver cannot hold database connections or
more than its share of DNS checks: CNAME preflights and settings checks release the session
before they wait on DNS, and a tenant runs only `checks_per_tenant` of them at once (429)."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Iterator

import httpx
import pytest

from app.runtime import Runtime
from tests.auth.factories import Actor, new_actor


@pytest.fixture
def silent_resolver() -> Iterator[int]:
    """A UDP port on loopback that reads queries and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        yield udp.getsockname()[1]


async def delegated_org(api: httpx.AsyncClient, admin: Actor, port: int) -> str:
    answer = await api.post(
        "/v1/organizations",
        headers=admin.headers,
        json={
            "name": f"silent-{uuid.uuid4().hex[:6]}",
            "allowed_domains": ["example.test"],
            "acme": {
                "directory_url": "https://127.0.0.1:14000/dir",
                "challenge_types": ["dns-01"],
            },
            "dns": {
                "provider": "cname-delegation",
                "validation_zone": "validation.test",
                "resolver": "127.0.0.1",
                "resolver_port": port,
                "timeout": 3,
                "inner": {"provider": "rfc2136", "server": "127.0.0.1", "port": port},
            },
        },
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def preflight(api: httpx.AsyncClient, admin: Actor, org_id: str) -> asyncio.Task:
    body = {
        "organization_id": org_id,
        "product": "positivessl-wildcard",
        "common_name": f"*.w{uuid.uuid4().hex[:6]}.example.test",
    }
    return asyncio.create_task(
        api.post("/v1/certificates/preflight", headers=admin.headers, json=body)
    )


async def test_waiting_on_dns_holds_no_connection(
    api: httpx.AsyncClient, runtime: Runtime, silent_resolver: int
) -> None:
    admin = await new_actor(runtime, api)
    other = await new_actor(runtime, api)
    org_id = await delegated_org(api, admin, silent_resolver)
    limit = runtime.settings.dns.checks_per_tenant
    waiting = [preflight(api, admin, org_id) for _ in range(limit)]
    await asyncio.sleep(1.0)  # they are now waiting on the silent resolver
    assert not any(task.done() for task in waiting)
    assert runtime.engine.pool.checkedout() == 0
    # One more from the same tenant is refused at once; another tenant is served meanwhile.
    extra = await preflight(api, admin, org_id)
    assert extra.status_code == 429, extra.text
    listed = await api.get("/v1/organizations", headers=other.headers)
    assert listed.status_code == 200
    check = await api.post(f"/v1/organizations/{org_id}/dns/check", headers=admin.headers, json={})
    assert check.status_code == 429
    answers = await asyncio.gather(*waiting)
    for answer in answers:
        assert answer.status_code == 200, answer.text
        problems = answer.json()["problems"]
        assert problems and "did not answer" in problems[0]["message"], problems
