"""Fault injection and counters over real HTTP: the knobs the client's resilience tests rely on."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.sandbox.orders import enroll_body


async def test_rate_faults_target_paths(scm_sandbox):
    async with (
        scm_sandbox.client() as scm,
        scm_sandbox.faults(error_rate=1.0, error_status=502, paths=["/ssl/v1/types"]),
    ):
        faulted = await scm.get("/ssl/v1/types")
        untouched = await scm.get("/ssl/v1/customFields")
    assert faulted.status_code == 502 and untouched.status_code == 200


async def test_rate_limit_answers_429_with_retry_after(scm_sandbox):
    async with (
        scm_sandbox.client() as scm,
        scm_sandbox.faults(rate_limit_rate=1.0, retry_after_seconds=7, paths=["/organization/v1"]),
    ):
        response = await scm.get("/organization/v1")
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"


async def test_latency(scm_sandbox):
    async with scm_sandbox.client() as scm, scm_sandbox.faults(latency_ms=150):
        started = time.monotonic()
        await scm.get("/ssl/v1/customFields")
    assert time.monotonic() - started >= 0.15


async def test_next_n_calls_fail_deterministically(scm_sandbox):
    rule = {"path": "/ssl/v1/customFields", "method": "GET", "count": 2, "status": 500}
    async with scm_sandbox.client() as scm, scm_sandbox.faults(rules=[rule]):
        statuses = [(await scm.get("/ssl/v1/customFields")).status_code for _ in range(3)]
    assert statuses == [500, 500, 200]


async def test_dropped_connection_gets_no_answer(scm_sandbox):
    rule = {"path": "/ssl/v1/customFields", "count": 1, "drop": True}
    async with scm_sandbox.client() as scm, scm_sandbox.faults(rules=[rule]):
        with pytest.raises(httpx.RemoteProtocolError):
            await scm.get("/ssl/v1/customFields")
        assert (await scm.get("/ssl/v1/customFields")).status_code == 200


@pytest.mark.parametrize("mode", ["drop", "502"])
async def test_ambiguous_enroll_is_recorded(scm_sandbox, mode):
    body = enroll_body()
    async with (
        scm_sandbox.client() as scm,
        scm_sandbox.faults(drop_after_enroll_count=1, drop_after_enroll_mode=mode),
    ):
        if mode == "drop":
            with pytest.raises(httpx.RemoteProtocolError):
                await scm.post("/ssl/v1/enroll", json=body)
        else:
            assert (await scm.post("/ssl/v1/enroll", json=body)).status_code == 502
        found = await scm.get("/ssl/v1", params={"comments": body["comments"]})
        faults = (await scm.get(f"{scm_sandbox.origin}/__sandbox/faults")).json()
    assert found.headers["X-Total-Count"] == "1"
    assert await scm_sandbox.enrollments_for(body["csr"]) == 1
    assert faults["drop_after_enroll_count"] == 0


async def test_fault_after_processing_rule(scm_sandbox):
    body = enroll_body()
    rule = {"path": "/ssl/v1/enroll", "count": 1, "status": 504, "after": True}
    async with scm_sandbox.client() as scm, scm_sandbox.faults(rules=[rule]):
        response = await scm.post("/ssl/v1/enroll", json=body)
    assert response.status_code == 504
    assert await scm_sandbox.enrollments_for(body["csr"]) == 1


async def test_sandbox_paths_are_never_faulted(scm_sandbox):
    async with scm_sandbox.faults(error_rate=1.0):
        counters = await scm_sandbox.counters()
    assert "enrollmentsByKey" in counters


async def test_counters_count_calls_per_path_and_enrolls_per_key(scm_sandbox):
    body = enroll_body()
    before = (await scm_sandbox.counters())["callsByPath"].get("GET /api/ssl/v1/customFields", 0)
    async with scm_sandbox.client() as scm:
        await scm.get("/ssl/v1/customFields")
        await scm.get("/ssl/v1/customFields")
        await scm.post("/ssl/v1/enroll", json=body)
        await scm.post("/ssl/v1/enroll", json=body)
    counters = await scm_sandbox.counters()
    assert counters["callsByPath"]["GET /api/ssl/v1/customFields"] == before + 2
    assert await scm_sandbox.enrollments_for(body["csr"]) == 2


async def test_misspelt_knobs_are_refused(scm_sandbox):
    async with httpx.AsyncClient(base_url=f"{scm_sandbox.origin}/__sandbox") as admin:
        patch = await admin.patch("/faults", json={"latency": 5})
        put = await admin.put("/faults", json={"rules": [{"path": "/x", "stauts": 500}]})
        settings = await admin.patch("/settings", json={"token_lifetime": 1})
    assert patch.status_code == 422 and settings.status_code == 422
    assert put.status_code == 400
    assert (await scm_sandbox.counters())["orders"] >= 0
