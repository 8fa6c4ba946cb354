"""The webhooks API over real HTTP: the secret shown once, CRUD, the URL policy at
registration, and tenant isolation."""

from __future__ import annotations

import base64

import httpx
import pytest

from app.runtime import Runtime
from app.settings import EgressSettings, WebhookSettings
from tests.auth.factories import TENANT_SCOPES, fetch_token, new_client, new_tenant
from tests.fixtures.e2e import LiveApi, Tenant
from tests.webhooks.conftest import create_webhook, wait_for_delivery
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.usefixtures("webhook_policy")


async def test_create_shows_the_secret_once_then_read_update_delete(
    tenant: Tenant, receiver: Receiver
) -> None:
    created, _ = await create_webhook(
        tenant, receiver, ["certificate.issued", "certificate.issued"], description="ops"
    )
    assert created["event_types"] == ["certificate.issued"]
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 32
    url = f"/v1/webhooks/{created['id']}"
    read = await tenant.http.get(url, headers=tenant.as_("admin"))
    assert read.status_code == 200 and "secret" not in read.json()
    listed = await tenant.http.get("/v1/webhooks", headers=tenant.as_("admin"))
    assert [w["id"] for w in listed.json()["items"]] == [created["id"]]
    assert all("secret" not in w for w in listed.json()["items"])

    changed = await tenant.http.patch(
        url,
        json={"event_types": ["domain.validated", "approval.pending"], "enabled": False},
        headers=tenant.as_("admin"),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["event_types"] == ["domain.validated", "approval.pending"]
    assert changed.json()["enabled"] is False and changed.json()["description"] == "ops"
    disabled_ping = await tenant.http.post(f"{url}/test", headers=tenant.as_("admin"))
    assert disabled_ping.status_code == 409

    unknown = await tenant.http.post(
        "/v1/webhooks",
        json={"url": created["url"], "event_types": ["certificate.exploded"]},
        headers=tenant.as_("admin"),
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"].startswith("body.event_types")

    not_admin = await tenant.http.get("/v1/webhooks", headers=tenant.as_("approver"))
    assert not_admin.status_code == 403

    gone = await tenant.http.delete(url, headers=tenant.as_("admin"))
    assert gone.status_code == 204
    missing = await tenant.http.get(url, headers=tenant.as_("admin"))
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("url", "policy", "reason"),
    [
        ("http://hooks.example.com/x", {}, "must use https"),
        ("https://127.0.0.1/x", {}, "127.0.0.1 is a loopback address"),
        ("https://localhost:9/x", {}, "names this machine"),
        ("https://10.1.2.3/x", {}, "10.1.2.3 is a private address"),
        ("https://[fe80::1]/x", {}, "is a link-local address"),
        ("https://169.254.169.254/latest", {"allow_private_networks": True}, "metadata"),
        ("https://[fd00:ec2::254]/", {"allow_private_networks": True}, "metadata"),
        ("https://user:pw@hooks.example.com/x", {}, "must not carry credentials"),
    ],
)
async def test_a_blocked_url_is_refused_at_registration(
    tenant: Tenant,
    webhook_policy: WebhookSettings,
    egress_settings: EgressSettings,
    url: str,
    policy: dict[str, bool],
    reason: str,
) -> None:
    webhook_policy.allow_http = False
    egress_settings.allowed_networks = []  # production's: not even the test receiver
    egress_settings.allow_private_networks = policy.get("allow_private_networks", False)
    answer = await tenant.http.post(
        "/v1/webhooks",
        json={"url": url, "event_types": ["certificate.issued"]},
        headers=tenant.as_("admin"),
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    (error,) = answer.json()["errors"]
    assert error["field"] == "body.url"
    assert reason in error["msg"], error


async def test_another_tenants_webhook_is_a_404(
    tenant: Tenant, receiver: Receiver, runtime: Runtime, live_api: LiveApi
) -> None:
    created, path = await create_webhook(tenant, receiver, ["certificate.issued"])
    ping = await tenant.http.post(f"/v1/webhooks/{created['id']}/test", headers=tenant.as_("admin"))
    assert ping.status_code == 202, ping.text
    await wait_for_delivery(tenant, created["id"], ping.json()["id"])

    other = await new_tenant(runtime, "other")
    _, client_id, secret = await new_client(runtime, other.id, TENANT_SCOPES)
    async with httpx.AsyncClient(base_url=live_api.url) as http:
        token = (await fetch_token(http, client_id, secret)).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        url = f"/v1/webhooks/{created['id']}"
        answers = [
            await http.get(url, headers=auth),
            await http.patch(url, json={"enabled": False}, headers=auth),
            await http.delete(url, headers=auth),
            await http.get(f"{url}/deliveries", headers=auth),
            await http.post(f"{url}/test", headers=auth),
            await http.post(f"/v1/webhooks/deliveries/{ping.json()['id']}/redeliver", headers=auth),
        ]
        assert [a.status_code for a in answers] == [404] * len(answers)
        listed = await http.get("/v1/webhooks", headers=auth)
        assert listed.json()["items"] == []
    still = await tenant.http.get(f"/v1/webhooks/{created['id']}", headers=tenant.as_("admin"))
    assert still.json()["enabled"] is True
    assert len(receiver.requests[path]) == 1
