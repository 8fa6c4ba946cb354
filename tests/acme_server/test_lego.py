"""lego, unmodified, orders through the broker's directory: the broker checks lego's HTTP-01
answer itself, then orders at pebble on its own ordering path, and the certificate is in the
inventory with its events and audit entries."""

from __future__ import annotations

import uuid
from pathlib import Path

from cryptography import x509

from tests.acme_server.clients import lego
from tests.acme_server.conftest import AcmeEnv


async def inventory_entry(env: AcmeEnv, org_id: str, name: str) -> dict:
    listed = await env.http.get(
        "/v1/certificates",
        params={"organization_id": org_id, "name": name},
        headers=env.as_("requester"),
    )
    assert listed.status_code == 200, listed.text
    (cert,) = listed.json()["items"]
    return cert


async def test_lego_gets_a_dv_certificate_over_http01(acme_env: AcmeEnv, tmp_path: Path) -> None:
    org = await acme_env.create_org(allowed_domains=["example.com"], acme=acme_env.acme_settings())
    key = await acme_env.credential(org["id"])
    name = f"dv-{uuid.uuid4().hex[:8]}.example.com"

    run = await lego(acme_env, org["id"], key, tmp_path, [name])
    assert run.returncode == 0, run.stdout + run.stderr

    pem = (tmp_path / "lego" / "certificates" / f"{name}.crt").read_bytes()
    leaf = x509.load_pem_x509_certificates(pem)[0]
    assert leaf.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == name
    cert = await inventory_entry(acme_env, org["id"], name)
    assert cert["status"] == "issued" and cert["backend"] == "acme"
    assert cert["serial"] == format(leaf.serial_number, "x")
    assert cert["requested_by"].startswith("acme-account:")
    events = await acme_env.http.get(
        f"/v1/certificates/{cert['id']}/events", headers=acme_env.as_("requester")
    )
    assert [e["to_status"] for e in events.json()][-1] == "issued"
    audit = await acme_env.http.get(
        "/v1/audit", params={"object_id": cert["id"]}, headers=acme_env.as_("admin")
    )
    assert "acme.order.finalize" in [e["action"] for e in audit.json()["items"]]

    # A name outside the organization's domains is refused before anything is ordered.
    outside = await lego(acme_env, org["id"], key, tmp_path, ["www.example.net"])
    assert outside.returncode != 0
    assert "rejectedIdentifier" in outside.stdout + outside.stderr
