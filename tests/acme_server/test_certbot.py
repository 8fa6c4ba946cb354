"""certbot, unmodified: a DV certificate over HTTP-01 (standalone), renewed, revoked with the
certificate's own key, ARI answers from the broker's renewal window, and a wildcard over
DNS-01 (manual hooks into the suite's test DNS)."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from app.acme_server.ari import cert_id
from tests.acme_server.clients import certbot, txt_hook
from tests.acme_server.conftest import AcmeEnv, wildcard_org
from tests.acme_server.test_lego import inventory_entry, wait_for

pytestmark = pytest.mark.timeout(600)


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_certbot_dv_over_http01_renewed_then_revoked_by_its_key(
    acme_env: AcmeEnv, tmp_path: Path
) -> None:
    org = await acme_env.create_org(allowed_domains=["example.com"], acme=acme_env.acme_settings())
    key = await acme_env.credential(org["id"])
    name = f"cb-{uuid.uuid4().hex[:8]}.example.com"
    run = await certbot(
        acme_env, org["id"], key, tmp_path,
        ["certonly", "--standalone", "--http-01-address", "127.0.0.1",
         "--http-01-port", str(acme_env.http01_port), "-d", name],
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    live = tmp_path / "certbot" / "config" / "live" / name
    leaf = x509.load_pem_x509_certificate((live / "cert.pem").read_bytes())
    (cert,) = await inventory_entry(acme_env, org["id"], name)
    assert cert["status"] == "issued" and cert["serial"] == format(leaf.serial_number, "x")

    # ARI: the broker's own window for this certificate.
    ari = await acme_env.http.get(f"{acme_env.url}/acme/{org['id']}/renewal-info/{cert_id(leaf)}")
    assert ari.status_code == 200, ari.text
    assert int(ari.headers["Retry-After"]) > 0
    window = ari.json()["suggestedWindow"]
    assert _at(window["start"]) < _at(window["end"]) <= leaf.not_valid_after_utc
    assert _at(window["start"]) > dt.datetime.now(dt.UTC)

    renewed = await certbot(
        acme_env, org["id"], key, tmp_path,
        ["renew", "--force-renewal", "--no-random-sleep-on-renew", "--cert-name", name],
    )  # fmt: skip
    assert renewed.returncode == 0, renewed.stdout + renewed.stderr
    leaf = x509.load_pem_x509_certificate((live / "cert.pem").read_bytes())
    issued = await inventory_entry(acme_env, org["id"], name, status="issued")
    assert format(leaf.serial_number, "x") in [c["serial"] for c in issued] and len(issued) == 2
    (cert,) = [c for c in issued if c["serial"] == format(leaf.serial_number, "x")]

    revoked = await certbot(
        acme_env, org["id"], key, tmp_path,
        ["revoke", "--cert-path", str(live / "cert.pem"), "--key-path", str(live / "privkey.pem"),
         "--reason", "keycompromise", "--no-delete-after-revoke"],
    )  # fmt: skip
    assert revoked.returncode == 0, revoked.stdout + revoked.stderr
    done = await wait_for(acme_env, cert["id"], "revoked")
    assert done["revocation_reason"] == 1
    # A revoked certificate's window has opened already: ARI clients replace it at once.
    after = await acme_env.http.get(f"{acme_env.url}/acme/{org['id']}/renewal-info/{cert_id(leaf)}")
    assert _at(after.json()["suggestedWindow"]["end"]) <= dt.datetime.now(dt.UTC)
    audit = await acme_env.http.get(
        "/v1/audit",
        params={"object_id": cert["id"], "action": "acme.certificate.revoke"},
        headers=acme_env.as_("admin"),
    )
    assert audit.json()["items"][0]["actor"] == f"acme-certificate-key:{cert['id']}"


async def test_certbot_wildcard_over_dns01(
    acme_env: AcmeEnv, tmp_path: Path, bind: Any, bind_pebble: Any
) -> None:
    org = await wildcard_org(acme_env, bind, bind_pebble)
    key = await acme_env.credential(org["id"], product="positivessl-wildcard")
    name = f"*.cbw-{uuid.uuid4().hex[:8]}.{bind.tenant_zone.rstrip('.')}"
    hook = txt_hook(acme_env, tmp_path)
    run = await certbot(
        acme_env, org["id"], key, tmp_path,
        ["certonly", "--manual", "--preferred-challenges", "dns",
         "--manual-auth-hook", str(hook), "-d", name],
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    (cert,) = await inventory_entry(acme_env, org["id"], name[2:])
    assert cert["status"] == "issued" and cert["names"] == [name]
