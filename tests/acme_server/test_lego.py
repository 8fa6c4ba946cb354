"""lego, unmodified, orders through the broker's directory: the broker checks lego's HTTP-01 or
DNS-01 answer itself, orders upstream on its own ordering path (policy, approvals), and the
certificates are in the inventory with their events and audit entries."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from tests.acme_server.clients import lego
from tests.acme_server.conftest import AcmeEnv, wildcard_org
from tests.fixtures.e2e import scm_settings

# Each test runs lego (several times) against a broker that orders upstream: minutes, not seconds.
pytestmark = pytest.mark.timeout(600)


async def inventory_entry(env: AcmeEnv, org_id: str, name: str, **filters: Any) -> list[dict]:
    listed = await env.http.get(
        "/v1/certificates",
        params={"organization_id": org_id, "name": name, **filters},
        headers=env.as_("requester"),
    )
    assert listed.status_code == 200, listed.text
    return listed.json()["items"]


async def wait_for(env: AcmeEnv, cert_id: str, status: str, timeout: float = 60) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        cert = (
            await env.http.get(f"/v1/certificates/{cert_id}", headers=env.as_("requester"))
        ).json()
        if cert["status"] == status:
            return cert
        assert asyncio.get_running_loop().time() < deadline, cert
        await asyncio.sleep(0.2)


def leaf_of(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificates(path.read_bytes())[0]


async def test_lego_dv_over_http01_renews_and_revokes(acme_env: AcmeEnv, tmp_path: Path) -> None:
    org = await acme_env.create_org(allowed_domains=["example.com"], acme=acme_env.acme_settings())
    key = await acme_env.credential(org["id"])
    name = f"dv-{uuid.uuid4().hex[:8]}.example.com"

    run = await lego(acme_env, org["id"], key, tmp_path, [name])
    assert run.returncode == 0, run.stdout + run.stderr
    leaf = leaf_of(tmp_path / "lego" / "certificates" / f"{name}.crt")
    assert leaf.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == name
    (cert,) = await inventory_entry(acme_env, org["id"], name)
    assert cert["status"] == "issued" and cert["backend"] == "acme"
    assert cert["serial"] == format(leaf.serial_number, "x")
    assert cert["requested_by"].startswith("acme-account:")
    events = await acme_env.http.get(
        f"/v1/certificates/{cert['id']}/events", headers=acme_env.as_("requester")
    )
    assert [e["to_status"] for e in events.json()["items"]][-1] == "issued"
    audit = await acme_env.http.get(
        "/v1/audit", params={"object_id": cert["id"]}, headers=acme_env.as_("admin")
    )
    assert "acme.order.finalize" in [e["action"] for e in audit.json()["items"]]

    renewed = await lego(
        acme_env,
        org["id"],
        key,
        tmp_path,
        [name],
        command=["renew", "--days", "100000", "--no-random-sleep"],
    )
    assert renewed.returncode == 0, renewed.stdout + renewed.stderr
    new_leaf = leaf_of(tmp_path / "lego" / "certificates" / f"{name}.crt")
    assert new_leaf.serial_number != leaf.serial_number
    assert len(await inventory_entry(acme_env, org["id"], name, status="issued")) == 2

    revoked = await lego(acme_env, org["id"], key, tmp_path, [name], command=["revoke"])
    assert revoked.returncode == 0, revoked.stdout + revoked.stderr
    (latest,) = [
        c
        for c in await inventory_entry(acme_env, org["id"], name)
        if c["serial"] == format(new_leaf.serial_number, "x")
    ]
    await wait_for(acme_env, latest["id"], "revoked")
    assert acme_env.pebble.cert_status(latest["serial"])["Status"] == "Revoked"

    # A name outside the organization's domains is refused before anything is ordered.
    outside = await lego(acme_env, org["id"], key, tmp_path, ["www.example.net"])
    assert outside.returncode != 0
    assert "rejectedIdentifier" in outside.stdout + outside.stderr


async def test_lego_wildcard_over_dns01(
    acme_env: AcmeEnv, tmp_path: Path, bind: Any, bind_pebble: Any
) -> None:
    org = await wildcard_org(acme_env, bind, bind_pebble)
    key = await acme_env.credential(org["id"], product="positivessl-wildcard")
    name = f"*.wc-{uuid.uuid4().hex[:8]}.{bind.tenant_zone.rstrip('.')}"

    run = await lego(acme_env, org["id"], key, tmp_path, [name], dns=True)
    assert run.returncode == 0, run.stdout + run.stderr
    (cert,) = await inventory_entry(acme_env, org["id"], name[2:])
    assert cert["status"] == "issued" and cert["names"] == [name]
    assert cert["product"] == "positivessl-wildcard"


async def test_lego_ov_through_scm(acme_env: AcmeEnv, tmp_path: Path, scm_sandbox: Any) -> None:
    org = await acme_env.create_org(allowed_domains=["example.com"], scm=scm_settings(scm_sandbox))
    key = await acme_env.credential(org["id"], product="instantssl")
    name = f"ov-{uuid.uuid4().hex[:8]}.example.com"
    run = await lego(acme_env, org["id"], key, tmp_path, [name])
    assert run.returncode == 0, run.stdout + run.stderr
    (cert,) = await inventory_entry(acme_env, org["id"], name)
    assert cert["status"] == "issued" and cert["validation_level"] == "OV"
    assert cert["backend"] == "scm"


async def _approval_for(env: AcmeEnv, org_id: str, timeout: float = 60) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        listed = await env.http.get("/v1/approvals", headers=env.as_("approver"))
        assert listed.status_code == 200, listed.text
        body = listed.json()
        items = body["items"] if isinstance(body, dict) else body
        found = [a for a in items if a["organization_id"] == org_id and a["status"] == "pending"]
        if found:
            return found[0]
        assert asyncio.get_running_loop().time() < deadline, "no approval appeared"
        await asyncio.sleep(0.2)


async def ev_org(env: AcmeEnv, scm_sandbox: Any) -> tuple[dict, dict]:
    org = await env.create_org(
        allowed_domains=["example.com"],
        scm=scm_settings(scm_sandbox),
        approvers={"EV": [env.ids["approver"]]},
    )
    return org, await env.credential(org["id"], product="ev-ssl")


async def test_an_ev_order_waits_for_its_approver(
    acme_env: AcmeEnv, tmp_path: Path, scm_sandbox: Any
) -> None:
    org, key = await ev_org(acme_env, scm_sandbox)
    name = f"ev-{uuid.uuid4().hex[:8]}.example.com"
    running = asyncio.create_task(lego(acme_env, org["id"], key, tmp_path, [name]))
    approval = await _approval_for(acme_env, org["id"])
    assert not running.done()  # the ACME order stays processing while nobody decided
    decided = await acme_env.http.post(
        f"/v1/approvals/{approval['id']}/approve",
        json={"comment": "vetted"},
        headers=acme_env.as_("approver"),
    )
    assert decided.status_code == 200, decided.text
    run = await running
    assert run.returncode == 0, run.stdout + run.stderr
    (cert,) = await inventory_entry(acme_env, org["id"], name)
    assert cert["status"] == "issued" and cert["validation_level"] == "EV"


async def test_a_rejected_ev_order_is_invalid_with_the_reason(
    acme_env: AcmeEnv, tmp_path: Path, scm_sandbox: Any
) -> None:
    org, key = await ev_org(acme_env, scm_sandbox)
    name = f"ev-{uuid.uuid4().hex[:8]}.example.com"
    running = asyncio.create_task(lego(acme_env, org["id"], key, tmp_path, [name]))
    approval = await _approval_for(acme_env, org["id"])
    decided = await acme_env.http.post(
        f"/v1/approvals/{approval['id']}/reject",
        json={"comment": "not our brand"},
        headers=acme_env.as_("approver"),
    )
    assert decided.status_code == 200, decided.text
    run = await running
    assert run.returncode != 0
    assert "not our brand" in run.stdout + run.stderr
    (cert,) = await inventory_entry(acme_env, org["id"], name)
    assert cert["status"] == "rejected"
