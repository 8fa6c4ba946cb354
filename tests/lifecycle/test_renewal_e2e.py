"""Renewals through the public API, the real worker and pebble: automatic renewal of a due
certificate (the check driven with a chosen `now`), manual renew, and a failing renewal."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from app.catalog.products import KeyType
from app.crypto.csr import build_csr
from app.crypto.keys import generate_key
from app.lifecycle.jobs import check_expiry_all
from app.lifecycle.scheduler import schedule_renewals
from app.runtime import Runtime
from tests.fixtures.e2e import Tenant, acme_settings, create_org, wait_for_status
from tests.fixtures.pebble import PebbleServer
from tests.lifecycle.conftest import SHORT_LIFETIME, other_tenant_headers

SECOND = dt.timedelta(seconds=1)


async def issue(tenant: Tenant, org: dict[str, Any], **order: Any) -> dict[str, Any]:
    name = f"lc-{uuid.uuid4().hex[:8]}.example.com"
    body = {"organization_id": org["id"], "product": "positivessl", "common_name": name, **order}
    answer = await tenant.http.post("/v1/certificates", json=body, headers=tenant.as_("requester"))
    assert answer.status_code == 202, answer.text
    cert = await wait_for_status(tenant, answer.json()["id"], {"issued", "failed"})
    assert cert["status"] == "issued", cert
    return cert


async def alerts(tenant: Tenant, **params: Any) -> list[dict[str, Any]]:
    answer = await tenant.http.get("/v1/alerts", params=params, headers=tenant.as_("requester"))
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


async def public_key(tenant: Tenant, cert_id: str) -> bytes:
    pem = await tenant.http.get(
        f"/v1/certificates/{cert_id}/certificate.pem", headers=tenant.as_("requester")
    )
    assert pem.status_code == 200, pem.text
    leaf = x509.load_pem_x509_certificate(pem.content)
    return leaf.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def when(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


async def test_a_due_certificate_is_renewed_by_the_worker(
    runtime: Runtime, tenant: Tenant, short_pebble: PebbleServer
) -> None:
    org = await create_org(
        tenant, allowed_domains=["example.com"], acme=acme_settings(short_pebble)
    )
    old = await issue(tenant, org)
    not_before, not_after = when(old["not_before"]), when(old["not_after"])
    lifetime = not_after - not_before
    assert abs(lifetime.total_seconds() - SHORT_LIFETIME) < 120
    # One hour is shorter than any default window: it opens after a third of the lifetime.
    renew_after = when(old["renew_after"])
    assert abs(renew_after - (not_after - lifetime * 2 / 3)) < SECOND

    assert await schedule_renewals(runtime, renew_after - SECOND, tenant.id) == 0
    # Under 7 days left from the start: one critical alert, not three.
    await check_expiry_all(runtime, renew_after, tenant.id)
    (alert,) = await alerts(tenant, certificate_id=old["id"])
    assert (alert["threshold"], alert["severity"], alert["status"]) == (7, "critical", "open")

    assert await schedule_renewals(runtime, renew_after + SECOND, tenant.id) == 1
    assert await schedule_renewals(runtime, renew_after + SECOND, tenant.id) == 0
    superseded = await wait_for_status(tenant, old["id"], {"superseded"})
    new = await wait_for_status(tenant, superseded["superseded_by"], {"issued", "failed"})
    assert new["status"] == "issued", new
    assert new["renewal_of"] == old["id"]
    assert (new["organization_id"], new["product"], new["names"]) == (
        old["organization_id"],
        old["product"],
        old["names"],
    )
    assert new["key_source"] == "generated"
    assert await public_key(tenant, new["id"]) != await public_key(tenant, old["id"])
    assert when(new["renew_after"]) >= renew_after  # pebble's dates are whole seconds
    (resolved,) = await alerts(tenant, certificate_id=old["id"])
    assert resolved["status"] == "resolved" and resolved["resolved_at"]
    # The superseded certificate is off the scheduler's index.
    assert superseded["renew_after"] is None


async def test_manual_renew_reuses_the_csr_and_refuses_twice(
    runtime: Runtime, tenant: Tenant, broker_pebble: PebbleServer
) -> None:
    org = await create_org(
        tenant, allowed_domains=["example.com"], acme=acme_settings(broker_pebble)
    )
    name = f"lc-{uuid.uuid4().hex[:8]}.example.com"
    csr = build_csr(generate_key(KeyType.EC_P256), [name])
    old = await issue(tenant, org, common_name=name, csr=csr, auto_renew=False)
    path = f"/v1/certificates/{old['id']}/renew"

    stranger = await other_tenant_headers(runtime, tenant.http)
    assert (await tenant.http.post(path, headers=stranger)).status_code == 404
    denied = await tenant.http.post(path, headers=tenant.as_("approver"))
    assert denied.status_code == 403

    answer = await tenant.http.post(path, headers=tenant.as_("requester"))
    assert answer.status_code == 202, answer.text
    new = answer.json()
    assert answer.headers["location"] == f"/v1/certificates/{new['id']}"
    assert new["renewal_of"] == old["id"] and new["key_source"] == "csr"
    again = await tenant.http.post(path, headers=tenant.as_("requester"))
    assert again.status_code == 409, again.text

    issued = await wait_for_status(tenant, new["id"], {"issued", "failed"})
    assert issued["status"] == "issued", issued
    retired = await wait_for_status(tenant, old["id"], {"superseded"})
    assert retired["superseded_by"] == new["id"]
    # The same CSR, so the key the caller holds fits the new certificate.
    assert await public_key(tenant, new["id"]) == await public_key(tenant, old["id"])
    after = await tenant.http.post(path, headers=tenant.as_("requester"))
    assert after.status_code == 409


async def test_a_failing_renewal_raises_an_alert(
    runtime: Runtime, tenant: Tenant, short_pebble: PebbleServer
) -> None:
    org = await create_org(
        tenant, allowed_domains=["example.com"], acme=acme_settings(short_pebble)
    )
    old = await issue(tenant, org)
    # The organization no longer allows the name: the replacement order is refused.
    changed = await tenant.http.patch(
        f"/v1/organizations/{org['id']}",
        json={"allowed_domains": ["example.net"]},
        headers=tenant.as_("admin"),
    )
    assert changed.status_code == 200, changed.text
    due = when(old["renew_after"]) + SECOND
    assert await schedule_renewals(runtime, due, tenant.id) == 1

    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    found: list[dict[str, Any]] = []
    while not found and dt.datetime.now(dt.UTC) < deadline:
        found = await alerts(tenant, certificate_id=old["id"], kind="renewal_failed")
    (alert,) = found
    assert alert["severity"] == "warning" and alert["status"] == "open"
    assert "example.com" in alert["message"] and "attempt 1" in alert["message"]
    cert = await tenant.http.get(f"/v1/certificates/{old['id']}", headers=tenant.as_("requester"))
    assert cert.json()["status"] == "issued" and cert.json()["superseded_by"] is None
    # It is being retried (with backoff): neither the scheduler nor a person starts another.
    assert await schedule_renewals(runtime, due, tenant.id) == 0
    busy = await tenant.http.post(
        f"/v1/certificates/{old['id']}/renew", headers=tenant.as_("requester")
    )
    assert busy.status_code == 409


async def test_manual_renew_can_keep_a_generated_key(
    tenant: Tenant, broker_pebble: PebbleServer
) -> None:
    org = await create_org(
        tenant, allowed_domains=["example.com"], acme=acme_settings(broker_pebble)
    )
    old = await issue(tenant, org, auto_renew=False)
    answer = await tenant.http.post(
        f"/v1/certificates/{old['id']}/renew",
        json={"reuse_key": True},
        headers=tenant.as_("requester"),
    )
    assert answer.status_code == 202, answer.text
    new = await wait_for_status(tenant, answer.json()["id"], {"issued", "failed"})
    assert new["status"] == "issued" and new["key_source"] == "generated"
    assert await public_key(tenant, new["id"]) == await public_key(tenant, old["id"])
    keys = [
        await tenant.http.get(f"/v1/certificates/{c}/private-key.pem", headers=tenant.as_("admin"))
        for c in (old["id"], new["id"])
    ]
    assert [k.status_code for k in keys] == [200, 200]
    assert keys[0].content == keys[1].content  # re-sealed for the new certificate's row
