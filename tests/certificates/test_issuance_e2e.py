"""Ordering through the public API with a real worker: DV via ACME (pebble), OV and EV via the
SCM simulator, approvals, idempotency, downloads and revocation."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from app.catalog.products import KeyType
from app.crypto.csr import build_csr
from app.crypto.keys import generate_key
from tests.fixtures.e2e import (
    Tenant,
    acme_settings,
    create_org,
    scm_settings,
    wait_for_status,
)
from tests.fixtures.pebble import PebbleServer
from tests.fixtures.scm_sandbox import ScmSandbox


def verify_chain(leaf_pem: str, chain_pem: str, root: x509.Certificate) -> None:
    """Each certificate is signed by the next, the last by the root."""
    certs = [x509.load_pem_x509_certificate(leaf_pem.encode())]
    certs += x509.load_pem_x509_certificates(chain_pem.encode()) if chain_pem.strip() else []
    certs = [c for c in certs if c != root]
    for child, parent in zip(certs, [*certs[1:], root], strict=True):
        child.verify_directly_issued_by(parent)


async def test_dv_certificate_through_acme(tenant: Tenant, broker_pebble: PebbleServer) -> None:
    org = await create_org(
        tenant, allowed_domains=["example.com"], acme=acme_settings(broker_pebble)
    )
    order = {
        "organization_id": org["id"],
        "product": "positivessl",
        "common_name": "www.dv-e2e.example.com",
        "sans": ["dv-e2e.example.com"],
    }
    # positivessl covers a name and its www. twin.
    order["common_name"], order["sans"] = "dv-e2e.example.com", ["www.dv-e2e.example.com"]
    answer = await tenant.http.post("/v1/certificates", json=order, headers=tenant.as_("requester"))
    assert answer.status_code == 202, answer.text
    assert answer.headers["location"] == f"/v1/certificates/{answer.json()['id']}"
    cert = await wait_for_status(tenant, answer.json()["id"], {"issued", "failed"})
    assert cert["status"] == "issued", cert
    assert cert["backend"] == "acme" and cert["key_source"] == "generated"
    full = await tenant.http.get(
        f"/v1/certificates/{cert['id']}/fullchain.pem", headers=tenant.as_("requester")
    )
    assert full.status_code == 200
    leaf = x509.load_pem_x509_certificates(full.content)[0]
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(names.get_values_for_type(x509.DNSName)) == set(cert["names"])
    chain = await tenant.http.get(
        f"/v1/certificates/{cert['id']}/chain.pem", headers=tenant.as_("requester")
    )
    leaf_pem = await tenant.http.get(
        f"/v1/certificates/{cert['id']}/certificate.pem", headers=tenant.as_("requester")
    )
    verify_chain(leaf_pem.text, chain.text, broker_pebble.root())
    # Every revoke field has a default, so no body at all revokes (reason unspecified).
    revoke = await tenant.http.post(
        f"/v1/certificates/{cert['id']}/revoke", headers=tenant.as_("requester")
    )
    assert revoke.status_code == 202, revoke.text
    revoked = await wait_for_status(tenant, cert["id"], {"revoked"})
    assert revoked["revocation_reason"] == 0


async def test_ov_certificate_through_scm_with_a_csr(
    tenant: Tenant, scm_sandbox: ScmSandbox
) -> None:
    org = await create_org(tenant, allowed_domains=["example.com"], scm=scm_settings(scm_sandbox))
    key = generate_key(KeyType.RSA_2048)
    csr = build_csr(key, ["ov-e2e.example.com", "www.ov-e2e.example.com"])
    order = {
        "organization_id": org["id"],
        "product": "instantssl",
        "common_name": "ov-e2e.example.com",
        "sans": ["www.ov-e2e.example.com"],
        "csr": csr,
    }
    answer = await tenant.http.post("/v1/certificates", json=order, headers=tenant.as_("requester"))
    assert answer.status_code == 202, answer.text
    cert = await wait_for_status(tenant, answer.json()["id"], {"issued", "failed"})
    assert cert["status"] == "issued", cert
    assert cert["backend"] == "scm" and cert["key_source"] == "csr"
    leaf = await tenant.http.get(
        f"/v1/certificates/{cert['id']}/certificate.pem", headers=tenant.as_("requester")
    )
    chain = await tenant.http.get(
        f"/v1/certificates/{cert['id']}/chain.pem", headers=tenant.as_("requester")
    )
    root = x509.load_pem_x509_certificate(scm_sandbox.root_pem.encode())
    verify_chain(leaf.text, chain.text, root)
    issued = x509.load_pem_x509_certificate(leaf.content)
    assert issued.public_key() == key.public_key()
    # The caller holds the key: the broker has nothing to export.
    export = await tenant.http.post(
        f"/v1/certificates/{cert['id']}/pkcs12",
        json={"passphrase": "correct horse"},
        headers=tenant.as_("admin"),
    )
    assert export.status_code == 409
    assert "does not hold" in export.json()["detail"]
    events = await tenant.http.get(
        f"/v1/certificates/{cert['id']}/events", headers=tenant.as_("requester")
    )
    statuses = [e["to_status"] for e in events.json()["items"]]
    assert statuses[0] in ("submitted", "pending_validation") and statuses[-1] == "issued"


async def test_ev_waits_for_a_listed_approver(tenant: Tenant, scm_sandbox: ScmSandbox) -> None:
    org = await create_org(
        tenant,
        allowed_domains=["example.com"],
        scm=scm_settings(scm_sandbox),
        approvers={"EV": [tenant.ids["approver"], tenant.ids["requester"]]},
    )
    order = {"organization_id": org["id"], "product": "ev-ssl", "common_name": "ev-e2e.example.com"}
    answer = await tenant.http.post("/v1/certificates", json=order, headers=tenant.as_("requester"))
    assert answer.status_code == 202, answer.text
    cert_id = answer.json()["id"]
    assert answer.json()["status"] == "pending_approval"
    deadline = await tenant.http.get(
        f"/v1/jobs/{answer.json()['job_id']}", headers=tenant.as_("requester")
    )
    assert deadline.status_code == 200 and deadline.json()["kind"] == "approval.expire"
    pending = await tenant.http.get("/v1/approvals", headers=tenant.as_("approver"))
    (approval,) = [a for a in pending.json()["items"] if a["certificate_id"] == cert_id]

    # The requester is listed as an approver too, and still may not approve its own request.
    own = await tenant.http.post(
        f"/v1/approvals/{approval['id']}/approve", json={}, headers=tenant.as_("admin")
    )
    assert own.status_code == 403
    assert own.headers["content-type"].startswith("application/problem+json")
    self_approval = await tenant.http.post(
        f"/v1/approvals/{approval['id']}/approve",
        json={"comment": "mine"},
        headers=tenant.as_("requester"),
    )
    assert self_approval.status_code == 403  # lacks approvals:write, and is the requester

    decided = await tenant.http.post(
        f"/v1/approvals/{approval['id']}/approve",
        json={"comment": "vetted"},
        headers=tenant.as_("approver"),
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["approval"]["status"] == "approved"
    cert = await wait_for_status(tenant, cert_id, {"issued", "failed"})
    assert cert["status"] == "issued", cert
    again = await tenant.http.post(
        f"/v1/approvals/{approval['id']}/reject", json={}, headers=tenant.as_("approver")
    )
    assert again.status_code == 409


async def test_generated_key_pkcs12_idempotency_and_revocation(
    tenant: Tenant, scm_sandbox: ScmSandbox
) -> None:
    org = await create_org(tenant, allowed_domains=["example.com"], scm=scm_settings(scm_sandbox))
    order = {
        "organization_id": org["id"],
        "product": "instantssl",
        "common_name": "p12-e2e.example.com",
        "key": {"type": "RSA-2048"},
    }
    headers = {**tenant.as_("requester"), "Idempotency-Key": "order-p12-1"}
    first = await tenant.http.post("/v1/certificates", json=order, headers=headers)
    second = await tenant.http.post("/v1/certificates", json=order, headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    other_body = await tenant.http.post(
        "/v1/certificates", json={**order, "comments": "changed"}, headers=headers
    )
    assert other_body.status_code == 409
    assert "Idempotency-Key" in other_body.json()["detail"]

    cert = await wait_for_status(tenant, first.json()["id"], {"issued", "failed"})
    assert cert["status"] == "issued", cert
    denied = await tenant.http.post(
        f"/v1/certificates/{cert['id']}/pkcs12",
        json={"passphrase": "correct horse"},
        headers=tenant.as_("approver"),
    )
    assert denied.status_code == 403
    export = await tenant.http.post(
        f"/v1/certificates/{cert['id']}/pkcs12",
        json={"passphrase": "correct horse"},
        headers=tenant.as_("admin"),
    )
    assert export.status_code == 200
    bundle = pkcs12.load_pkcs12(export.content, b"correct horse")
    assert bundle.key is not None and bundle.cert is not None
    assert bundle.cert.certificate.public_key() == bundle.key.public_key()
    assert bundle.cert.certificate.serial_number == int(cert["serial"], 16)

    revoke = await tenant.http.post(
        f"/v1/certificates/{cert['id']}/revoke",
        json={"reason": "keyCompromise", "comment": "test"},
        headers=tenant.as_("requester"),
    )
    assert revoke.status_code == 202, revoke.text
    revoked = await wait_for_status(tenant, cert["id"], {"revoked"})
    assert revoked["revocation_reason"] == 1
    # No body at all is a revoke with every default (here refused only as already revoked).
    again = await tenant.http.post(
        f"/v1/certificates/{cert['id']}/revoke", headers=tenant.as_("requester")
    )
    assert again.status_code == 409, again.text
    assert dt.datetime.fromisoformat(revoked["revoked_at"]) <= dt.datetime.now(dt.UTC)


async def test_dv_with_eab_fetched_from_scm(
    tenant: Tenant,
    scm_sandbox: ScmSandbox,
    pebble_factory,
    live_api,
) -> None:
    """The organization names no EAB: the worker fetches it from the organization's ACME
    account in SCM, keeps it encrypted, and pebble (which knows only that key) accepts it."""
    from app.issuers.scm.auth import HeaderAuth
    from app.issuers.scm.client import ScmClient

    # The account SCM keeps for the organization on Sectigo's DV server; pebble stands in for
    # that server here, so the directory URL differs from SCM's name for it.
    server_name = "https://acme.sectigo.com/v2/DV"
    async with ScmClient(
        scm_sandbox.base_url,
        HeaderAuth(scm_sandbox.login, scm_sandbox.password, scm_sandbox.customer_uri),
    ) as scm:
        credentials = await scm.eab_credentials(1234, server_name)
    pebble = pebble_factory(
        http_port=live_api.port,
        eab_keys={credentials.kid: credentials.hmac_key.get_secret_value()},
    )
    acme = {k: v for k, v in acme_settings(pebble).items() if k not in ("eab_kid", "eab_hmac_key")}
    org = await create_org(
        tenant,
        allowed_domains=["example.com"],
        scm=scm_settings(scm_sandbox),
        acme={**acme, "eab_from_scm": True, "scm_acme_server": server_name},
    )
    assert org["acme"]["eab_hmac_key_set"] is False
    answer = await tenant.http.post(
        "/v1/certificates",
        json={
            "organization_id": org["id"],
            "product": "positivessl",
            "common_name": "eab.example.com",
        },
        headers=tenant.as_("requester"),
    )
    assert answer.status_code == 202, answer.text
    cert = await wait_for_status(tenant, answer.json()["id"], {"issued", "failed"})
    assert cert["status"] == "issued", cert["status_reason"]
    org_now = await tenant.http.get(f"/v1/organizations/{org['id']}", headers=tenant.as_("admin"))
    assert org_now.json()["acme"]["eab_kid"] == credentials.kid
    assert org_now.json()["acme"]["eab_hmac_key_set"] is True


async def test_http01_tokens_also_written_to_a_webroot(
    tenant: Tenant,
    broker_pebble: PebbleServer,
    settings,
    tmp_path,
) -> None:
    """With the deployment's webroot set, tokens are also written where a web server in front
    of the names can serve them (and removed afterwards); the API still answers them."""
    settings.acme_http01_webroot = str(tmp_path)
    try:
        org = await create_org(
            tenant, allowed_domains=["example.com"], acme=acme_settings(broker_pebble)
        )
        answer = await tenant.http.post(
            "/v1/certificates",
            json={
                "organization_id": org["id"],
                "product": "positivessl",
                "common_name": "webroot.example.com",
            },
            headers=tenant.as_("requester"),
        )
        cert = await wait_for_status(tenant, answer.json()["id"], {"issued", "failed"})
    finally:
        settings.acme_http01_webroot = None
    assert cert["status"] == "issued", cert["status_reason"]
    challenge_dir = tmp_path / ".well-known" / "acme-challenge"
    assert challenge_dir.is_dir()
    assert list(challenge_dir.iterdir()) == []  # cleaned up after validation
