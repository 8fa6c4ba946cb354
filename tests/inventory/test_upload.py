"""Uploading a third-party CA's certificate for monitoring, and what is refused."""

from __future__ import annotations

import datetime as dt
import uuid

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.certificates.models import Certificate
from app.runtime import Runtime
from tests.auth.factories import new_actor
from tests.fixtures.e2e import Tenant, create_org
from tests.inventory.conftest import TinyCa, pem


async def upload(tenant: Tenant, org_id: str, body_pem: str, **extra) -> dict:
    answer = await tenant.http.post(
        "/v1/inventory/certificates",
        json={"organization_id": org_id, "pem": body_pem, **extra},
        headers=tenant.as_("requester"),
    )
    return {"status": answer.status_code, "body": answer.json(), "headers": answer.headers}


async def test_uploaded_certificate_is_monitored(tenant: Tenant, runtime: Runtime) -> None:
    org = await create_org(tenant, alert_thresholds=[30, 14, 7])
    ca = TinyCa()
    name = f"shop-{uuid.uuid4().hex[:8]}.example.net"
    leaf = ca.leaf(name, days_left=20)
    answer = await upload(tenant, org["id"], pem(leaf, ca.cert), labels={"ca": "tiny"})
    assert answer["status"] == 201, answer
    cert = answer["body"]
    assert answer["headers"]["location"] == f"/v1/certificates/{cert['id']}"
    assert cert["source"] == "upload" and cert["backend"] == "external"
    assert cert["status"] == "issued" and cert["product"] == "external"
    assert cert["common_name"] == name and cert["names"] == [name]
    assert cert["key_type"] == "EC-P384" and cert["labels"] == {"ca": "tiny"}
    assert cert["issuer_dn"] == "CN=Tiny Test CA" and cert["auto_renew"] is False
    assert cert["serial"] == format(leaf.serial_number, "x")

    shown = await tenant.http.get(f"/v1/certificates/{cert['id']}", headers=tenant.as_("requester"))
    assert shown.status_code == 200 and shown.json()["source"] == "upload"
    chain = await tenant.http.get(
        f"/v1/certificates/{cert['id']}/chain.pem", headers=tenant.as_("requester")
    )
    assert chain.status_code == 200 and "BEGIN CERTIFICATE" in chain.text
    async with runtime.sessions() as session:
        row = await session.get(Certificate, cert["id"])
        assert row is not None and row.next_alert_at is not None
        # 20 days left with thresholds 30/14/7: the 30-day mark is already behind it.
        assert row.next_alert_at == leaf.not_valid_after_utc - dt.timedelta(days=30)

    again = await upload(tenant, org["id"], pem(leaf))
    assert again["status"] == 409 and again["body"]["certificate_id"] == cert["id"]


async def test_expired_upload_is_expired(tenant: Tenant) -> None:
    org = await create_org(tenant)
    ca = TinyCa()
    answer = await upload(tenant, org["id"], pem(ca.leaf("old.example.net", days_left=-3)))
    assert answer["status"] == 201, answer
    assert answer["body"]["status"] == "expired"


async def test_bad_pem_is_refused_naming_the_field(tenant: Tenant) -> None:
    org = await create_org(tenant)
    ca, other = TinyCa(), TinyCa("Unrelated CA")
    key = ec.generate_private_key(ec.SECP256R1())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    leaf = ca.leaf("x.example.net", days_left=30)
    cases = {
        "not a certificate": "no PEM certificate found",
        "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n": "cannot be "
        "decoded",
        pem(leaf) + key_pem: "private key",
        pem(ca.cert): "CA certificate",
        pem(leaf, other.cert): "not in the first certificate's issuer chain",
    }
    for body_pem, reason in cases.items():
        answer = await upload(tenant, org["id"], body_pem)
        assert answer["status"] == 422, answer
        (error,) = answer["body"]["errors"]
        assert error["field"] == "body.pem" and reason in error["msg"], (reason, error)


async def test_uploads_and_summaries_stay_in_their_tenant(tenant: Tenant, runtime: Runtime) -> None:
    org = await create_org(tenant)
    answer = await upload(tenant, org["id"], pem(TinyCa().leaf("t.example.net", days_left=50)))
    cert = answer["body"]
    stranger = await new_actor(runtime, tenant.http)

    shown = await tenant.http.get(f"/v1/certificates/{cert['id']}", headers=stranger.headers)
    assert shown.status_code == 404
    into_foreign_org = await tenant.http.post(
        "/v1/inventory/certificates",
        json={
            "organization_id": org["id"],
            "pem": pem(TinyCa().leaf("u.example.net", days_left=9)),
        },
        headers=stranger.headers,
    )
    assert into_foreign_org.status_code == 404
    summary = await tenant.http.get("/v1/inventory/summary", headers=stranger.headers)
    assert summary.status_code == 200 and summary.json()["total"] == 0
    foreign_filter = await tenant.http.get(
        "/v1/inventory/summary", params={"organization_id": org["id"]}, headers=stranger.headers
    )
    assert foreign_filter.status_code == 404
