"""/metrics: the expiry gauge from the database, job and CA-call histograms, access rules, and
the worker's own metrics port."""

from __future__ import annotations

import asyncio

import httpx
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from app.main import create_app
from app.metrics.registry import start_worker_metrics_server
from app.metrics.router import Recorded
from app.runtime import Runtime
from app.settings import Settings
from tests.auth.factories import new_actor
from tests.fixtures.app import make_settings
from tests.fixtures.e2e import Tenant, create_org, scm_settings
from tests.fixtures.pebble import free_port
from tests.fixtures.scm_sandbox import ScmSandbox
from tests.inventory.conftest import TinyCa, pem, wait_for_job


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


async def test_metrics_need_platform_admin_unless_public(
    tenant: Tenant, runtime: Runtime, settings: Settings
) -> None:
    anonymous = await tenant.http.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    tenant_admin = await tenant.http.get("/metrics", headers=tenant.as_("admin"))
    assert tenant_admin.status_code == 403

    public = create_app(make_settings(settings.database_url, metrics_public=True), runtime)
    transport = httpx.ASGITransport(app=public)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        answer = await http.get("/metrics")
    assert answer.status_code == 200
    assert "certbroker_certificate_expiry_truncated" in answer.text
    assert answer.text.startswith("# Jobs, CA calls") and "WORKER_METRICS_PORT" in answer.text
    assert "/metrics" not in public.openapi()["paths"]


def test_families_without_samples_are_left_out() -> None:
    registry = CollectorRegistry()
    Counter("worker_only_total", "counted by the workers", ["outcome"], registry=registry)
    Counter("here_total", "counted here", ["outcome"], registry=registry).labels("ok").inc()
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(Recorded(registry))
    text = generate_latest(scrape).decode()
    assert "here_total" in text and "worker_only_total" not in text


async def test_metrics_show_certificate_expiry_and_job_outcomes(
    tenant: Tenant, runtime: Runtime, scm_sandbox: ScmSandbox
) -> None:
    # An organization on an SCM department without certificates: a quick sync job to measure.
    org = await create_org(tenant, scm=scm_settings(scm_sandbox, org_id=9100))
    leaf = TinyCa().leaf("metrics.example.net", days_left=42)
    uploaded = await tenant.http.post(
        "/v1/inventory/certificates",
        json={"organization_id": org["id"], "pem": pem(leaf)},
        headers=tenant.as_("requester"),
    )
    assert uploaded.status_code == 201, uploaded.text
    cert_id = uploaded.json()["id"]
    queued = await tenant.http.post("/v1/inventory/sync", json={}, headers=tenant.as_("admin"))
    assert queued.status_code == 202, queued.text
    assert (await wait_for_job(tenant, queued.json()["id"]))["state"] == "succeeded"

    platform = await new_actor(runtime, tenant.http, ["platform:admin"])
    answer = await tenant.http.get("/metrics", headers=platform.headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    found = samples(answer.text)

    expiry = [
        (labels, value)
        for name, labels, value in found
        if name == "certbroker_certificate_expiry_timestamp_seconds"
        and labels["certificate_id"] == cert_id
    ]
    assert expiry == [
        (
            {
                "tenant": expiry[0][0]["tenant"],
                "organization": org["name"],
                "product": "external",
                "common_name": "metrics.example.net",
                "certificate_id": cert_id,
            },
            leaf.not_valid_after_utc.timestamp(),
        )
    ]
    jobs = {
        (labels["kind"], labels["outcome"]): value
        for name, labels, value in found
        if name == "certbroker_job_duration_seconds_count"
    }
    assert jobs[("inventory.sync", "succeeded")] >= 1
    ca_calls = {
        (labels["backend"], labels["operation"], labels["outcome"])
        for name, labels, value in found
        if name == "certbroker_ca_call_duration_seconds_count"
    }
    assert ("scm", "list", "ok") in ca_calls
    imports = {
        labels["source"]: value
        for name, labels, value in found
        if name == "certbroker_inventory_imported_total"
    }
    assert imports["upload"] >= 1


async def test_worker_serves_its_own_metrics_port() -> None:
    port = free_port()
    start_worker_metrics_server(port, "127.0.0.1")
    async with httpx.AsyncClient() as http:
        for _ in range(50):
            try:
                answer = await http.get(f"http://127.0.0.1:{port}/metrics")
                break
            except httpx.ConnectError:
                await asyncio.sleep(0.05)
    assert answer.status_code == 200
    assert "certbroker_job_duration_seconds" in answer.text
