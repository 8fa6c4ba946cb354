"""The SCM inventory sync against the simulator: an order placed outside the broker is imported
and flagged, a broker order is not duplicated, and a second run imports nothing."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import func, select

from app.catalog.products import KeyType
from app.certificates.models import Certificate
from app.crypto.csr import build_csr
from app.crypto.keys import generate_key
from app.inventory.jobs import SYNC_JOB, queue_inventory_syncs
from app.inventory.models import InventorySyncState
from app.inventory.sync import sync_organization
from app.issuers.scm.config import ScmBackendConfig
from app.jobs.models import Job
from app.organizations.models import Organization
from app.organizations.service import scm_backend_config
from app.runtime import Runtime
from tests.fixtures.e2e import Tenant, create_org, scm_settings, wait_for_status
from tests.fixtures.scm_sandbox import ScmSandbox
from tests.inventory.conftest import wait_for_job

# "Platform" in the simulator: no other test enrolls there, so the listing stays small.
SCM_ORG = 8765


async def enroll_outside_the_broker(
    scm: ScmSandbox, name: str, profile: str = "InstantSSL", *, wait: bool = True
) -> int:
    """Order straight at SCM, as someone with SCM credentials but no broker would."""
    csr = build_csr(generate_key(KeyType.RSA_2048), [name])
    async with scm.client(timeout=10) as http:
        profiles = (await http.get("/ssl/v1/types", params={"organizationId": SCM_ORG})).json()
        cert_type = next(p["id"] for p in profiles if p["name"] == profile)
        answer = await http.post(
            "/ssl/v1/enroll",
            json={
                "orgId": SCM_ORG,
                "csr": csr,
                "certType": cert_type,
                "term": 365,
                "comments": "ordered by hand",
                "customFields": [{"name": "costCenter", "value": "42"}],
            },
        )
        assert answer.status_code == 200, answer.text
        ssl_id = answer.json()["sslId"]
        if not wait:
            return ssl_id
        for _ in range(100):
            if (await http.get(f"/ssl/v1/{ssl_id}")).json()["status"] == "Issued":
                return ssl_id
            await asyncio.sleep(0.1)
    raise AssertionError(f"SCM order {ssl_id} never issued")


async def run_sync(tenant: Tenant, body: dict | None = None) -> dict:
    answer = await tenant.http.post(
        "/v1/inventory/sync", json=body or {}, headers=tenant.as_("admin")
    )
    assert answer.status_code == 202, answer.text
    assert answer.headers["location"] == f"/v1/jobs/{answer.json()['id']}"
    job = await wait_for_job(tenant, answer.json()["id"])
    assert job["state"] == "succeeded", job
    return job


async def rows_in(runtime: Runtime, org_id: str) -> int:
    async with runtime.sessions() as session:
        return (
            await session.execute(
                select(func.count())
                .select_from(Certificate)
                .where(Certificate.organization_id == org_id)
            )
        ).scalar_one()


async def test_sync_imports_outside_orders_once_and_leaves_broker_orders_alone(
    tenant: Tenant, scm_sandbox: ScmSandbox, runtime: Runtime
) -> None:
    tag = uuid.uuid4().hex[:8]
    org = await create_org(
        tenant, allowed_domains=["example.com"], scm=scm_settings(scm_sandbox, org_id=SCM_ORG)
    )
    ordered = await tenant.http.post(
        "/v1/certificates",
        json={
            "organization_id": org["id"],
            "product": "instantssl",
            "common_name": f"broker-{tag}.example.com",
        },
        headers=tenant.as_("requester"),
    )
    assert ordered.status_code == 202, ordered.text
    broker = await wait_for_status(tenant, ordered.json()["id"], {"issued", "failed"})
    assert broker["status"] == "issued", broker
    outside_name = f"outside-{tag}.example.com"
    ssl_id = await enroll_outside_the_broker(scm_sandbox, outside_name)

    await run_sync(tenant)

    listed = await tenant.http.get(
        "/v1/certificates",
        params={"organization_id": org["id"], "limit": 200},
        headers=tenant.as_("requester"),
    )
    by_name: dict[str, list[dict]] = {}
    for item in listed.json()["items"]:
        by_name.setdefault(item["common_name"], []).append(item)
    assert [c["id"] for c in by_name[broker["common_name"]]] == [broker["id"]]  # no duplicate
    assert by_name[broker["common_name"]][0]["source"] == "broker"
    (imported,) = by_name[outside_name]
    assert imported["source"] == "scm_import"
    assert imported["status"] == "issued"
    assert imported["product"] == "instantssl" and imported["validation_level"] == "OV"
    assert imported["backend"] == "scm" and imported["key_type"] == "RSA-2048"
    assert imported["detail"]["ordered_outside_broker"] is True
    assert imported["detail"]["scm"]["ssl_id"] == ssl_id
    assert imported["serial"] and imported["not_after"]
    leaf = await tenant.http.get(
        f"/v1/certificates/{imported['id']}/certificate.pem", headers=tenant.as_("requester")
    )
    assert leaf.status_code == 200 and "BEGIN CERTIFICATE" in leaf.text
    async with runtime.sessions() as session:
        row = await session.get(Certificate, imported["id"])
        assert row is not None and row.backend_ref == str(ssl_id) and row.next_alert_at
        state = await session.get(InventorySyncState, org["id"])
        assert state is not None and state.max_ssl_id >= ssl_id

    # A second run finds nothing new and adds no row.
    before = await rows_in(runtime, org["id"])
    await run_sync(tenant, {"organization_id": org["id"]})
    assert await rows_in(runtime, org["id"]) == before
    async with runtime.sessions() as session:
        state = await session.get(InventorySyncState, org["id"])
        assert state is not None and state.last_imported == 0

    states = await tenant.http.get("/v1/inventory/sync", headers=tenant.as_("approver"))
    (shown,) = [s for s in states.json()["items"] if s["organization_id"] == org["id"]]
    assert shown["last_imported"] == 0 and shown["total_imported"] >= 1
    assert shown["max_ssl_id"] >= ssl_id and shown["last_synced_at"]

    # A second organization of the tenant on the same SCM account imports the outside order
    # too, but not the broker's own order placed for the first one.
    sibling = await create_org(tenant, scm=scm_settings(scm_sandbox, org_id=SCM_ORG))
    await run_sync(tenant, {"organization_id": sibling["id"]})
    refs = await imported_ids(runtime, sibling["id"])
    async with runtime.sessions() as session:
        broker_row = await session.get(Certificate, broker["id"])
        assert broker_row is not None and broker_row.backend_ref
    assert str(ssl_id) in refs and broker_row.backend_ref not in refs


async def test_sync_needs_a_tenant_admin_and_an_scm_organization(
    tenant: Tenant, scm_sandbox: ScmSandbox
) -> None:
    plain = await create_org(tenant)
    refused = await tenant.http.post("/v1/inventory/sync", json={}, headers=tenant.as_("approver"))
    assert refused.status_code == 403
    no_scm = await tenant.http.post(
        "/v1/inventory/sync", json={"organization_id": plain["id"]}, headers=tenant.as_("admin")
    )
    assert no_scm.status_code == 422
    assert no_scm.json()["errors"][0]["field"] == "body.organization_id"
    unknown = await tenant.http.post(
        "/v1/inventory/sync", json={"organization_id": "0" * 32}, headers=tenant.as_("admin")
    )
    assert unknown.status_code == 404


async def imported_ids(runtime: Runtime, org_id: str) -> set[str]:
    async with runtime.sessions() as session:
        refs = await session.execute(
            select(Certificate.backend_ref).where(
                Certificate.organization_id == org_id, Certificate.source == "scm_import"
            )
        )
        return set(refs.scalars())


async def test_orders_not_final_yet_are_looked_at_again(
    tenant: Tenant, scm_sandbox: ScmSandbox, runtime: Runtime
) -> None:
    org = await create_org(tenant, scm=scm_settings(scm_sandbox, org_id=SCM_ORG))
    # EV waits for an approver in SCM: the first sync sees it Requested and cannot import it.
    ssl_id = await enroll_outside_the_broker(
        scm_sandbox, f"ev-{uuid.uuid4().hex[:8]}.example.com", "EV SSL", wait=False
    )
    await run_sync(tenant)
    assert str(ssl_id) not in await imported_ids(runtime, org["id"])
    async with runtime.sessions() as session:
        state = await session.get(InventorySyncState, org["id"])
        assert state is not None and ssl_id in state.pending_ssl_ids

    await scm_sandbox.approve(ssl_id)
    async with scm_sandbox.client(timeout=10) as http:
        for _ in range(100):
            if (await http.get(f"/ssl/v1/{ssl_id}")).json()["status"] == "Issued":
                break
            await asyncio.sleep(0.1)
    await run_sync(tenant)
    assert str(ssl_id) in await imported_ids(runtime, org["id"])
    async with runtime.sessions() as session:
        state = await session.get(InventorySyncState, org["id"])
        assert state is not None and ssl_id not in state.pending_ssl_ids
        cert = (
            await session.execute(
                select(Certificate).where(
                    Certificate.organization_id == org["id"],
                    Certificate.backend_ref == str(ssl_id),
                )
            )
        ).scalar_one()
        assert cert.product == "ev-ssl" and cert.validation_level == "EV"


async def test_cron_queues_one_sync_per_tenant_with_scm(
    tenant: Tenant, scm_sandbox: ScmSandbox, runtime: Runtime
) -> None:
    await create_org(tenant, scm=scm_settings(scm_sandbox, org_id=9100))
    # Narrowed to this tenant: the whole session's tenants would queue syncs of their own.
    assert await queue_inventory_syncs({"runtime": runtime}, tenant_id=tenant.id) == 1
    async with runtime.sessions() as session:
        jobs = (
            await session.execute(
                select(Job).where(Job.tenant_id == tenant.id, Job.kind == SYNC_JOB)
            )
        ).scalars()
        (job,) = list(jobs)
    assert (await wait_for_job(tenant, job.id))["state"] == "succeeded"


async def test_a_run_out_of_time_is_continued_by_the_next(
    tenant: Tenant, scm_sandbox: ScmSandbox, runtime: Runtime
) -> None:
    org_body = await create_org(tenant, scm=scm_settings(scm_sandbox, org_id=SCM_ORG))
    ssl_id = await enroll_outside_the_broker(
        scm_sandbox, f"late-{uuid.uuid4().hex[:8]}.example.com"
    )
    assert runtime.scm_pool is not None
    async with runtime.sessions() as session:
        org = await session.get(Organization, org_body["id"])
        assert org is not None
        config = ScmBackendConfig.model_validate(scm_backend_config(org, runtime.secretbox))
        client = runtime.scm_pool.get(config)
        stopped = await sync_organization(session, org, config, client, budget_seconds=0)
        assert stopped.out_of_time and not stopped.complete and stopped.imported == 0
        state = await session.get(InventorySyncState, org.id)
        assert state is not None and state.max_ssl_id < ssl_id
        finished = await sync_organization(session, org, config, client)
        assert finished.complete and finished.imported >= 1
        await session.commit()
    assert str(ssl_id) in await imported_ids(runtime, org_body["id"])


async def test_revocation_in_scm_outside_the_broker_is_noticed(
    tenant: Tenant, scm_sandbox: ScmSandbox
) -> None:
    org = await create_org(
        tenant, allowed_domains=["example.com"], scm=scm_settings(scm_sandbox, org_id=SCM_ORG)
    )
    ordered = await tenant.http.post(
        "/v1/certificates",
        json={
            "organization_id": org["id"],
            "product": "instantssl",
            "common_name": f"revoked-{uuid.uuid4().hex[:8]}.example.com",
        },
        headers=tenant.as_("requester"),
    )
    cert = await wait_for_status(tenant, ordered.json()["id"], {"issued", "failed"})
    assert cert["status"] == "issued", cert
    async with scm_sandbox.client(timeout=10) as http:  # someone revokes it in SCM's own UI
        answer = await http.post(
            f"/ssl/v1/revoke/{cert['backend_ref']}",
            json={"reasonCode": 1, "reason": "key leaked"},
        )
    assert answer.status_code == 204, answer.text

    job = await run_sync(tenant)
    assert job["state"] == "succeeded"
    now = await tenant.http.get(f"/v1/certificates/{cert['id']}", headers=tenant.as_("requester"))
    assert now.json()["status"] == "revoked"
    events = await tenant.http.get(
        f"/v1/certificates/{cert['id']}/events", headers=tenant.as_("requester")
    )
    assert "revoked in SCM outside the broker" in events.json()["items"][-1]["message"]
