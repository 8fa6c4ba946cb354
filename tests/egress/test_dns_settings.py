"""Organization DNS settings under the egress table: every refused address, as a literal and
through a BIND name, is a 422 naming the field (update server, resolver, provider API URL);
a name rebound after saving is refused at use, before any packet is sent."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

import pytest

from app.dns.errors import DnsProviderError
from app.runtime import Runtime
from app.settings import EgressSettings
from tests.egress.addresses import ALL_REFUSED, REFUSED
from tests.fixtures.e2e import Tenant
from tests.fixtures.egress import EgressNames

pytestmark = pytest.mark.usefixtures("app_resolves_bind_names")


@pytest.fixture
def production_egress(egress_settings: EgressSettings) -> EgressSettings:
    egress_settings.allowed_networks = []
    return egress_settings


def url_host(address: str) -> str:
    return address if ipaddress.ip_address(address.split("%")[0]).version == 4 else f"[{address}]"


async def refused(tenant: Tenant, dns: dict[str, Any], field: str) -> dict:
    answer = await tenant.http.post(
        "/v1/organizations",
        json={"name": f"egress-{uuid.uuid4().hex[:8]}", "dns": dns},
        headers=tenant.as_("admin"),
    )
    assert answer.status_code == 422, answer.text
    (error,) = answer.json()["errors"]
    assert error["field"] == field and error["type"] == "egress_refused", error
    return error


@pytest.mark.usefixtures("production_egress")
async def test_every_refused_address_is_refused_as_update_server(
    tenant: Tenant, egress_names: EgressNames
) -> None:
    count = 0
    for _kind, address in ALL_REFUSED:
        if "%" in address:
            continue
        await refused(tenant, {"provider": "rfc2136", "server": address}, "body.dns.server")
        name = await egress_names.name_for([address], "ns")
        error = await refused(tenant, {"provider": "rfc2136", "server": name}, "body.dns.server")
        assert error["msg"].startswith(f"refused: {name} resolves to"), error
        count += 2
    assert count >= 100


@pytest.mark.usefixtures("production_egress")
async def test_each_class_is_refused_as_resolver_and_provider_api(
    tenant: Tenant, egress_names: EgressNames
) -> None:
    for _kind, addresses in REFUSED.items():
        address = addresses[0]
        name = await egress_names.name_for([address], "api")
        for host in (address, name):
            delegation = {
                "provider": "cname-delegation",
                "validation_zone": "validation.example.com",
                "resolver": host,
                "inner": {"provider": "rfc2136", "server": "8.8.8.8"},
            }
            await refused(tenant, delegation, "body.dns.resolver")
            target = url_host(host) if host == address else host
            lexicon = {
                "provider": "lexicon",
                "lexicon_provider": "powerdns",
                "options": {"pdns_server": f"https://{target}:8081"},
                "credentials": {"auth_token": "t"},
            }
            await refused(tenant, lexicon, "body.dns.options.pdns_server")


async def test_a_name_rebound_after_saving_is_refused_at_use(
    runtime: Runtime, egress_names: EgressNames
) -> None:
    name = await egress_names.name_for(["127.0.0.1"], "ns")
    provider = runtime.dns_providers.create("rfc2136", {"server": name, "port": 53, "timeout": 1})
    await egress_names.point(name, ["10.0.0.53"])
    with pytest.raises(DnsProviderError, match=r"10\.0\.0\.53"):
        await provider.present_txt(f"_acme-challenge.x.{name}.", "v")
