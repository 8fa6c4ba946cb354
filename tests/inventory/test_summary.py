"""GET /v1/inventory/summary and /expiry-timeline: counts by group, by expiry bucket and week."""

from __future__ import annotations

from app.runtime import Runtime
from tests.auth.factories import TENANT_SCOPES, fetch_token, new_client, new_tenant
from tests.fixtures.e2e import Tenant, create_org
from tests.inventory.conftest import TinyCa, pem


async def test_summary_counts_by_group_and_expiry_bucket(tenant: Tenant) -> None:
    first, second = await create_org(tenant), await create_org(tenant)
    ca = TinyCa("Summary CA")
    for org, name, days_left in [
        (first, "a.example.net", -1),
        (first, "b.example.net", 5),
        (first, "c.example.net", 10),
        (first, "d.example.net", 60),
        (second, "e.example.net", 200),
    ]:
        answer = await tenant.http.post(
            "/v1/inventory/certificates",
            json={"organization_id": org["id"], "pem": pem(ca.leaf(name, days_left=days_left))},
            headers=tenant.as_("requester"),
        )
        assert answer.status_code == 201, answer.text

    everything = await tenant.http.get("/v1/inventory/summary", headers=tenant.as_("approver"))
    assert everything.status_code == 200, everything.text
    body = everything.json()
    assert body["total"] == 5
    assert body["by_status"] == {"expired": 1, "issued": 4}
    assert body["by_product"] == {"external": 5}
    assert body["by_backend"] == {"external": 5}
    assert body["by_source"] == {"upload": 5}
    assert body["by_validation_level"] == {"unknown": 5}  # another CA's leaf names no level
    assert body["by_issuer"] == {"CN=Summary CA": 4}
    assert body["by_expiry"] == {
        "expired": 1,
        "lt_7d": 1,
        "lt_14d": 1,
        "lt_30d": 0,
        "lt_90d": 1,
        "later": 1,
    }

    one = await tenant.http.get(
        "/v1/inventory/summary",
        params={"organization_id": second["id"]},
        headers=tenant.as_("approver"),
    )
    assert one.json()["total"] == 1 and one.json()["by_expiry"]["later"] == 1


async def _other_tenant(runtime: Runtime, owner: Tenant) -> dict[str, str]:
    row = await new_tenant(runtime, "timeline-other")
    _, client_id, secret = await new_client(runtime, row.id, TENANT_SCOPES)
    token = (await fetch_token(owner.http, client_id, secret)).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


async def test_expiry_timeline_counts_weeks_with_their_alert_band(
    tenant: Tenant, runtime: Runtime
) -> None:
    org, other_org = await create_org(tenant), await create_org(tenant)
    ca = TinyCa("Timeline CA")
    for target, name, days_left in [
        (org, "gone.example.net", -3),
        (org, "w0a.example.net", 2),
        (org, "w0b.example.net", 6.5),
        (org, "w1.example.net", 9),
        (org, "w3.example.net", 25),
        (org, "w12.example.net", 88),
        (org, "late.example.net", 120),
        (other_org, "elsewhere.example.net", 2),
    ]:
        answer = await tenant.http.post(
            "/v1/inventory/certificates",
            json={"organization_id": target["id"], "pem": pem(ca.leaf(name, days_left=days_left))},
            headers=tenant.as_("requester"),
        )
        assert answer.status_code == 201, answer.text

    answer = await tenant.http.get(
        "/v1/inventory/expiry-timeline",
        params={"organization_id": org["id"]},
        headers=tenant.as_("approver"),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    counts = [week["count"] for week in body["weeks"]]
    assert counts == [2, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    assert [week["severity"] for week in body["weeks"][:5]] == [
        "critical",
        "high",
        "warning",
        "warning",
        "warning",
    ]
    assert body["weeks"][5]["severity"] == "ok"
    assert body["expired"] == 1 and body["later"] == 1

    whole = await tenant.http.get(
        "/v1/inventory/expiry-timeline", params={"weeks": 2}, headers=tenant.as_("approver")
    )
    assert [week["count"] for week in whole.json()["weeks"]] == [3, 1]
    assert whole.json()["later"] == 3

    other = await _other_tenant(runtime, tenant)
    hidden = await tenant.http.get(
        "/v1/inventory/expiry-timeline",
        params={"organization_id": org["id"]},
        headers=other,
    )
    assert hidden.status_code == 404
    too_far = await tenant.http.get(
        "/v1/inventory/expiry-timeline", params={"weeks": 53}, headers=tenant.as_("approver")
    )
    assert too_far.status_code == 422


async def test_certificates_filter_by_source(tenant: Tenant) -> None:
    org = await create_org(tenant)
    ca = TinyCa("Source CA")
    answer = await tenant.http.post(
        "/v1/inventory/certificates",
        json={"organization_id": org["id"], "pem": pem(ca.leaf("src.example.net", days_left=40))},
        headers=tenant.as_("requester"),
    )
    assert answer.status_code == 201, answer.text
    uploaded = await tenant.http.get(
        "/v1/certificates",
        params={"source": "upload", "organization_id": org["id"]},
        headers=tenant.as_("approver"),
    )
    assert [c["common_name"] for c in uploaded.json()["items"]] == ["src.example.net"]
    imported = await tenant.http.get(
        "/v1/certificates",
        params={"source": "scm_import", "organization_id": org["id"]},
        headers=tenant.as_("approver"),
    )
    assert imported.json()["items"] == []
    wrong = await tenant.http.get(
        "/v1/certificates", params={"source": "elsewhere"}, headers=tenant.as_("approver")
    )
    assert wrong.status_code == 422
