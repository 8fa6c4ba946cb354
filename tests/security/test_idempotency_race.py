"""Simultaneous orders with one Idempotency-Key, over real HTTP to a running API: the others
get the first one's certificate (PostgreSQL waits at the key's unique index) or, on SQLite
while the first is in flight, a 409 with Retry-After. Never a 500, never a dropped
connection, never a second certificate."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from app.runtime import Runtime
from tests.auth.factories import ALL_SCOPES, new_actor
from tests.fixtures.e2e import LiveApi
from tests.security.world import SCM_SETTINGS


async def test_simultaneous_same_key_orders_answer_one_certificate(
    runtime: Runtime, live_api: LiveApi, db_backend: str
) -> None:
    async with httpx.AsyncClient(base_url=live_api.url, timeout=60) as http:
        actor = await new_actor(runtime, http, [s for s in ALL_SCOPES if s != "platform:admin"])
        org = await http.post(
            "/v1/organizations",
            headers=actor.headers,
            json={
                "name": f"race-{uuid.uuid4().hex[:6]}",
                "allowed_domains": ["example.com"],
                "scm": SCM_SETTINGS,
                "auto_approve": False,  # the order waits for approval: no CA is contacted
                "approvers": {"OV": ["someone-else"]},
            },
        )
        assert org.status_code == 201, org.text
        body = {
            "organization_id": org.json()["id"],
            "product": "instantssl",
            "common_name": "race.example.com",
            "key": {"type": "RSA-2048"},  # key generation widens the race window
        }
        key = uuid.uuid4().hex
        headers = {**actor.headers, "Idempotency-Key": key}
        answers = await asyncio.gather(
            *(http.post("/v1/certificates", json=body, headers=headers) for _ in range(6))
        )
        codes = [a.status_code for a in answers]
        print(f"\n{db_backend}: six simultaneous same-key orders answered {codes}")
        created = {a.json()["id"] for a in answers if a.status_code == 202}
        assert len(created) == 1, codes
        if db_backend == "postgres":
            assert codes == [202] * 6, [a.text for a in answers]
        else:
            assert set(codes) <= {202, 409}, [a.text for a in answers]
            assert all(a.headers.get("retry-after") for a in answers if a.status_code == 409)
        listed = await http.get(
            "/v1/certificates",
            params={"organization_id": org.json()["id"]},
            headers=actor.headers,
        )
        assert [c["id"] for c in listed.json()["items"]] == list(created)
        again = await http.post("/v1/certificates", json=body, headers=headers)
        assert again.status_code == 202 and again.json()["id"] in created
