"""DNS-01 through dns-lexicon against a second real DNS server, PowerDNS (its HTTP API driven by
lexicon's `powerdns` provider), with pebble validating: a wildcard and its base name (two TXT
values at one name), cleanup after success and after a failed validation, and a CNAME-
delegated validation whose target zone lives in PowerDNS while the tenant's zone is in BIND."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.certificates.test_dns_delegation_e2e import add_cname
from tests.certificates.test_issuance_e2e import verify_chain
from tests.fixtures.bind import BindServer, answers_marker, launch_named, stop_named
from tests.fixtures.e2e import Tenant, acme_settings, create_org, wait_for_status
from tests.fixtures.powerdns import PDNS_ZONE, PowerDnsServer

DELEGATED_ZONE = "validation-pdns.test."


def dns01(pebble) -> dict:
    return {**acme_settings(pebble), "challenge_types": ["dns-01"]}


async def order(tenant: Tenant, org_id: str, label: str, zone: str) -> dict:
    zone = zone.rstrip(".")
    accepted = await tenant.http.post(
        "/v1/certificates",
        json={
            "organization_id": org_id,
            "product": "positivessl-wildcard",
            "common_name": f"*.{label}.{zone}",
            "sans": [f"{label}.{zone}"],
        },
        headers=tenant.as_("requester"),
    )
    assert accepted.status_code == 202, accepted.text
    return await wait_for_status(tenant, accepted.json()["id"], {"issued", "failed"}, timeout=90)


async def test_wildcard_and_base_through_lexicon_powerdns(
    tenant: Tenant, powerdns: PowerDnsServer, pebble_factory, live_api
) -> None:
    pebble = pebble_factory(http_port=live_api.port, dns_server=powerdns.address)
    org = await create_org(
        tenant,
        allowed_domains=[PDNS_ZONE.rstrip(".")],
        acme=dns01(pebble),
        dns=powerdns.lexicon_settings(),
    )
    label = f"lx{uuid.uuid4().hex[:6]}"
    cert = await order(tenant, org["id"], label, PDNS_ZONE)
    assert cert["status"] == "issued", cert["status_reason"]
    leaf = await tenant.http.get(
        f"/v1/certificates/{cert['id']}/certificate.pem", headers=tenant.as_("requester")
    )
    chain = await tenant.http.get(
        f"/v1/certificates/{cert['id']}/chain.pem", headers=tenant.as_("requester")
    )
    verify_chain(leaf.text, chain.text, pebble.root())
    # Both values (wildcard and base) were the broker's; both are gone.
    assert powerdns.txt(f"_acme-challenge.{label}.{PDNS_ZONE}") == set()


async def test_failed_validation_cleans_up(
    tenant: Tenant, powerdns: PowerDnsServer, pebble_factory, live_api
) -> None:
    # This pebble asks challtestsrv, which never has the record: validation fails.
    pebble = pebble_factory(http_port=live_api.port)
    org = await create_org(
        tenant,
        allowed_domains=[PDNS_ZONE.rstrip(".")],
        acme=dns01(pebble),
        dns=powerdns.lexicon_settings(),
    )
    label = f"lf{uuid.uuid4().hex[:6]}"
    cert = await order(tenant, org["id"], label, PDNS_ZONE)
    assert cert["status"] == "failed"
    assert powerdns.txt(f"_acme-challenge.{label}.{PDNS_ZONE}") == set()


def _resolver_conf(workdir: Path, port: int, forwards: dict[str, str]) -> str:
    zones = "".join(
        f'zone "{zone}" {{ type forward; forward only; '
        f"forwarders {{ {address.replace(':', ' port ')}; }}; }};\n"
        for zone, address in forwards.items()
    )
    return f"""
controls {{ }};
options {{
    directory "{workdir}";
    pid-file "{workdir}/named.pid";
    session-keyfile "{workdir}/session.key";
    managed-keys-directory "{workdir}";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion yes;
    allow-recursion {{ 127.0.0.1; }};
    reuseport no;
    dnssec-validation no;
    max-cache-ttl 0;
    max-ncache-ttl 0;
}};
{zones}"""


@pytest.fixture(scope="module")
def split_resolver(
    bind: BindServer, powerdns: PowerDnsServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A recursive named: the tenant zone from BIND, the validation zone from PowerDNS."""
    if DELEGATED_ZONE not in powerdns.zones:
        powerdns.create_zone(DELEGATED_ZONE)
    workdir = tmp_path_factory.mktemp("split-resolver")
    forwards = {bind.tenant_zone: bind.address, DELEGATED_ZONE: powerdns.address}

    def write_config(port: int) -> None:
        (workdir / "named.conf").write_text(_resolver_conf(workdir, port, forwards))

    process, port = launch_named(
        workdir,
        write_config,
        lambda port: answers_marker(bind.host, port, bind.tenant_zone, bind.marker),
        bind.host,
        5,
        15.0,
    )
    yield f"{bind.host}:{port}"
    stop_named(process)


async def test_delegated_into_a_powerdns_zone(
    tenant: Tenant,
    bind: BindServer,
    powerdns: PowerDnsServer,
    split_resolver: str,
    pebble_factory,
    live_api,
) -> None:
    pebble = pebble_factory(http_port=live_api.port, dns_server=split_resolver)
    # The broker reads tenants' CNAMEs at BIND itself (a resolver would cache the first miss).
    settings = {
        "provider": "cname-delegation",
        "validation_zone": DELEGATED_ZONE,
        "resolver": bind.host,
        "resolver_port": bind.port,
        "inner": powerdns.lexicon_settings(zone=DELEGATED_ZONE.rstrip(".")),
    }
    zone = bind.tenant_zone.rstrip(".")
    org = await create_org(tenant, allowed_domains=[zone], acme=dns01(pebble), dns=settings)
    assert org["dns"]["inner"]["secrets_set"] == ["auth_token"]
    label = f"dp{uuid.uuid4().hex[:6]}"
    refused = await tenant.http.post(
        "/v1/certificates",
        json={
            "organization_id": org["id"],
            "product": "positivessl-wildcard",
            "common_name": f"*.{label}.{zone}",
            "sans": [f"{label}.{zone}"],
        },
        headers=tenant.as_("requester"),
    )
    assert refused.status_code == 422, refused.text
    target = refused.json()["errors"][0]["msg"].split("→ ")[1].split()[0]
    assert target.endswith(DELEGATED_ZONE)
    await add_cname(bind, f"_acme-challenge.{label}.{zone}.", target)

    cert = await order(tenant, org["id"], label, zone)
    assert cert["status"] == "issued", cert["status_reason"]
    assert powerdns.txt(target) == set()
