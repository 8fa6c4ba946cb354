"""A wildcard DV certificate over DNS-01 with CNAME delegation, through the public API: refused
with the CNAME to create while it is missing, issued once the tenant created it."""

from __future__ import annotations

import uuid

import dns.asyncquery
import dns.name
import dns.tsigkeyring
import dns.update

from tests.certificates.test_issuance_e2e import verify_chain
from tests.fixtures.e2e import Tenant, acme_settings, create_org, wait_for_status


async def add_cname(bind, host: str, target: str) -> None:
    keyring = dns.tsigkeyring.from_text({bind.key_name: bind.secret})
    update = dns.update.UpdateMessage(
        bind.tenant_zone, keyring=keyring, keyalgorithm=dns.name.from_text(bind.algorithm)
    )
    update.replace(host, 60, "CNAME", target)
    response = await dns.asyncquery.tcp(update, bind.host, port=bind.port, timeout=5)
    assert response.rcode() == 0


async def test_wildcard_over_delegated_dns01(
    tenant: Tenant,
    bind,
    bind_resolver,
    pebble_factory,
    live_api,
) -> None:
    pebble = pebble_factory(http_port=live_api.port, dns_server=bind_resolver.address)
    zone = bind.tenant_zone.rstrip(".")
    label = f"deleg{uuid.uuid4().hex[:6]}"  # BIND outlives one test: a fresh name each time
    config = bind.delegation_settings(resolver=bind.address)
    without_dns = await create_org(tenant, allowed_domains=[zone], acme=acme_settings(pebble))
    order = {
        "organization_id": without_dns["id"],
        "product": "positivessl-wildcard",
        "common_name": f"*.{label}.{zone}",
        "sans": [f"{label}.{zone}"],
    }
    refused = await tenant.http.post(
        "/v1/certificates", json=order, headers=tenant.as_("requester")
    )
    assert "needs dns-01, which organization" in refused.json()["errors"][0]["msg"]

    org = await create_org(
        tenant,
        allowed_domains=[zone],
        acme={**acme_settings(pebble), "challenge_types": ["dns-01"]},
        dns=config,
    )
    assert org["dns"]["inner"]["secrets_set"] == ["tsig_secret"]
    assert bind.secret not in str(org["dns"])
    order = {
        "organization_id": org["id"],
        "product": "positivessl-wildcard",
        "common_name": f"*.{label}.{zone}",
        "sans": [f"{label}.{zone}"],
    }
    refused = await tenant.http.post(
        "/v1/certificates", json=order, headers=tenant.as_("requester")
    )
    assert refused.status_code == 422, refused.text
    problem = refused.json()["errors"][0]
    assert problem["field"] == "body.common_name" and problem["type"] == "delegation_missing"
    assert problem["msg"].startswith(f"create CNAME _acme-challenge.{label}.{zone}. → ")
    target = problem["msg"].split("→ ")[1].split()[0]
    await add_cname(bind, f"_acme-challenge.{label}.{zone}.", target)

    accepted = await tenant.http.post(
        "/v1/certificates", json=order, headers=tenant.as_("requester")
    )
    assert accepted.status_code == 202, accepted.text
    cert = await wait_for_status(tenant, accepted.json()["id"], {"issued", "failed"}, timeout=90)
    assert cert["status"] == "issued", cert["status_reason"]
    leaf = await tenant.http.get(
        f"/v1/certificates/{cert['id']}/certificate.pem", headers=tenant.as_("requester")
    )
    chain = await tenant.http.get(
        f"/v1/certificates/{cert['id']}/chain.pem", headers=tenant.as_("requester")
    )
    verify_chain(leaf.text, chain.text, pebble.root())
