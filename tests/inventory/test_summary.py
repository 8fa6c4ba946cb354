"""GET /v1/inventory/summary: counts by status, product, backend, issuer, source and expiry."""

from __future__ import annotations

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
