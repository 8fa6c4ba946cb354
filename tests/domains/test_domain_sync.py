"""The organization's domains as SCM knows them: pre-validated domains show in GET /v1/domains
and preflight agrees, on creation, on demand and in the inventory sync; running it again
changes nothing."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.fixtures.e2e import (
    Tenant,
    create_org,
    domains_of,
    scm_settings,
    wait_for_domains,
)
from tests.fixtures.scm_sandbox import ScmSandbox


async def wait_for_job(tenant: Tenant, job_id: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        answer = await tenant.http.get(f"/v1/jobs/{job_id}", headers=tenant.as_("requester"))
        assert answer.status_code == 200, answer.text
        job = answer.json()
        if job["state"] in ("succeeded", "failed"):
            return job
        assert asyncio.get_running_loop().time() < deadline, job
        await asyncio.sleep(0.1)


async def sync(tenant: Tenant, org_id: str) -> dict[str, Any]:
    answer = await tenant.http.post(
        f"/v1/organizations/{org_id}/domains/sync", headers=tenant.as_("requester")
    )
    assert answer.status_code == 202, answer.text
    assert answer.headers["location"] == f"/v1/jobs/{answer.json()['id']}"
    return await wait_for_job(tenant, answer.json()["id"])


async def test_prevalidated_domains_show_from_creation_and_preflight_agrees(
    tenant: Tenant, scm_sandbox: ScmSandbox
) -> None:
    org = await create_org(
        tenant,
        allowed_domains=["example.com", "example.org", "example.net"],
        scm=scm_settings(scm_sandbox),
    )

    found = await wait_for_domains(
        tenant, org["id"], {"example.com": "validated", "example.org": "validated"}
    )
    assert "example.net" not in found  # registered at SCM but not validated: nothing to show
    assert found["example.com"]["ready_for"] == ["DV", "OV", "EV"]
    assert found["example.com"]["method"] == "cname" and found["example.com"]["expires_at"]
    assert found["example.org"]["method"] == "email"
    preflight = await tenant.http.post(
        "/v1/certificates/preflight",
        json={"organization_id": org["id"], "product": "ev-ssl", "common_name": "a.example.com"},
        headers=tenant.as_("requester"),
    )
    assert preflight.json()["names_needing_validation"] == [], preflight.text
    unvalidated = await tenant.http.post(
        "/v1/certificates/preflight",
        json={"organization_id": org["id"], "product": "ev-ssl", "common_name": "a.example.net"},
        headers=tenant.as_("requester"),
    )
    assert unvalidated.json()["names_needing_validation"] == ["example.net"]


async def test_on_demand_and_inventory_sync_follow_the_ca_and_a_rerun_changes_nothing(
    tenant: Tenant, scm_sandbox: ScmSandbox
) -> None:
    org = await create_org(
        tenant, allowed_domains=["example.io"], scm=scm_settings(scm_sandbox, org_id=5678)
    )
    first = await sync(tenant, org["id"])
    assert first["state"] == "succeeded", first
    assert await domains_of(tenant, org["id"]) == {}
    await scm_sandbox.force_dcv("example.io", "VALIDATED")
    try:
        inventory = await tenant.http.post(
            "/v1/inventory/sync", json={"organization_id": org["id"]}, headers=tenant.as_("admin")
        )
        assert inventory.status_code == 202, inventory.text
        assert (await wait_for_job(tenant, inventory.json()["id"]))["state"] == "succeeded"
        synced = (await domains_of(tenant, org["id"]))["example.io"]
        assert synced["status"] == "validated" and synced["ready_for"] == ["DV", "OV", "EV"]
        assert (await sync(tenant, org["id"]))["state"] == "succeeded"
        assert (await domains_of(tenant, org["id"]))["example.io"] == synced  # nothing to change
        await scm_sandbox.force_dcv("example.io", "EXPIRED")
        await sync(tenant, org["id"])
        assert (await domains_of(tenant, org["id"]))["example.io"]["status"] == "expired"
    finally:
        await scm_sandbox.force_dcv("example.io", "NOT_VALIDATED")
    await sync(tenant, org["id"])
    now = (await domains_of(tenant, org["id"]))["example.io"]
    assert now["status"] == "unvalidated" and now["ready_for"] == []


async def test_wiring_scm_later_reads_its_domains(tenant: Tenant, scm_sandbox: ScmSandbox) -> None:
    org = await create_org(tenant, allowed_domains=["example.com"])  # no SCM: nothing to read
    assert await domains_of(tenant, org["id"]) == {}
    answer = await tenant.http.patch(
        f"/v1/organizations/{org['id']}",
        json={"scm": scm_settings(scm_sandbox)},
        headers=tenant.as_("admin"),
    )
    assert answer.status_code == 200, answer.text
    await wait_for_domains(tenant, org["id"], {"example.com": "validated"})


async def test_refused_without_scm_or_scope(tenant: Tenant) -> None:
    org = await create_org(tenant, allowed_domains=["example.com"])
    answer = await tenant.http.post(
        f"/v1/organizations/{org['id']}/domains/sync", headers=tenant.as_("requester")
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "path.organization_id"
    reader = await tenant.http.post(
        f"/v1/organizations/{org['id']}/domains/sync", headers=tenant.as_("approver")
    )
    assert reader.status_code == 403
