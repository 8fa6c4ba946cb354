"""Webhooks under the egress table: every refused address, as a literal and through a BIND
name, is a 422 naming body.url at registration; a name rebound to one after registration is
refused at delivery without a packet sent and without retries."""

from __future__ import annotations

import ipaddress

import pytest

from app.settings import EgressSettings, WebhookSettings
from tests.egress.addresses import ALL_REFUSED, REFUSED
from tests.fixtures.e2e import Tenant
from tests.fixtures.egress import EgressNames
from tests.webhooks.conftest import create_webhook, wait_for_delivery
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.usefixtures("webhook_policy", "app_resolves_bind_names")


def literal_url(address: str) -> str:
    host = address if ipaddress.ip_address(address.split("%")[0]).version == 4 else f"[{address}]"
    return f"https://{host}/hook"


async def refused_at_registration(tenant: Tenant, url: str) -> dict:
    answer = await tenant.http.post(
        "/v1/webhooks",
        json={"url": url, "event_types": ["certificate.issued"]},
        headers=tenant.as_("admin"),
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    (error,) = answer.json()["errors"]
    assert error["field"] == "body.url" and error["type"] == "egress_refused", error
    return error


@pytest.fixture
def production_egress(egress_settings: EgressSettings) -> EgressSettings:
    egress_settings.allowed_networks = []  # not even the test receiver's 127.0.0.1
    return egress_settings


@pytest.mark.usefixtures("production_egress")
async def test_every_refused_address_is_refused_at_registration(
    tenant: Tenant, egress_names: EgressNames
) -> None:
    refused = 0
    for _kind, address in ALL_REFUSED:
        await refused_at_registration(tenant, literal_url(address))
        refused += 1
        if "%" in address:
            continue
        name = await egress_names.name_for([address], "hook")
        error = await refused_at_registration(tenant, f"https://{name}/hook")
        assert error["msg"].startswith(f"refused: {name} resolves to"), error
        refused += 1
    assert refused >= 100


async def test_a_name_rebound_after_registration_is_refused_at_delivery(
    tenant: Tenant,
    receiver: Receiver,
    egress_names: EgressNames,
    webhook_policy: WebhookSettings,
) -> None:
    """One address of each class; the receiver's own address is what the name starts at."""
    port = receiver.base_url.rsplit(":", 1)[1]
    for kind, addresses in REFUSED.items():
        address = next(a for a in addresses if a != "127.0.0.1")  # that one is allowed here
        name = await egress_names.name_for(["127.0.0.1"], "hook")
        webhook, path = await create_webhook(tenant, receiver, ["certificate.issued"])
        url = f"http://{name}:{port}/{path}"
        changed = await tenant.http.patch(
            f"/v1/webhooks/{webhook['id']}", json={"url": url}, headers=tenant.as_("admin")
        )
        assert changed.status_code == 200, changed.text
        await egress_names.point(name, [address])  # the rebinding
        ping = await tenant.http.post(
            f"/v1/webhooks/{webhook['id']}/test", headers=tenant.as_("admin")
        )
        assert ping.status_code == 202, ping.text
        done = await wait_for_delivery(tenant, webhook["id"], ping.json()["id"])
        assert done["status"] == "failed" and done["attempts"] == 1, (kind, done)
        assert done["last_error"].startswith(f"refused: {name} resolves to {address}"), done
        assert receiver.requests[path] == []
