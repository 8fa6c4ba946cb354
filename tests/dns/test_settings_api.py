"""Organization DNS settings through the API: closed shapes, 422s naming the field, secrets
write-only, the provider catalog, and the settings check against real PowerDNS and BIND."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from app.dns.tenant_slots import tenant_slots
from app.runtime import Runtime
from tests.auth.factories import Actor, new_actor
from tests.fixtures.bind import BindServer
from tests.fixtures.powerdns import PowerDnsServer


@pytest.fixture
async def admin(runtime: Runtime, api: httpx.AsyncClient) -> Actor:
    return await new_actor(runtime, api)


async def create(api: httpx.AsyncClient, admin: Actor, dns: Any) -> httpx.Response:
    return await api.post(
        "/v1/organizations",
        headers=admin.headers,
        json={"name": f"dns-{uuid.uuid4().hex[:8]}", "allowed_domains": ["pdns.test"], "dns": dns},
    )


def fields(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 422, answer.text
    return [error["field"] for error in answer.json()["errors"]]


async def test_unknown_provider_kind_is_refused(api: httpx.AsyncClient, admin: Actor) -> None:
    answer = await create(api, admin, {"provider": "route66", "server": "192.0.2.1"})
    assert fields(answer)[0].startswith("body.dns")
    assert "route66" in answer.text


async def test_unknown_field_is_refused(api: httpx.AsyncClient, admin: Actor) -> None:
    answer = await create(api, admin, {"provider": "rfc2136", "server": "192.0.2.1", "x": 1})
    assert any(f.endswith(".x") for f in fields(answer))


async def test_bounds(api: httpx.AsyncClient, admin: Actor) -> None:
    answer = await create(
        api, admin, {"provider": "rfc2136", "server": "192.0.2.1", "timeout": 3600}
    )
    assert any(f.endswith(".timeout") for f in fields(answer))


async def test_unknown_lexicon_provider(api: httpx.AsyncClient, admin: Actor) -> None:
    answer = await create(api, admin, {"provider": "lexicon", "lexicon_provider": "nope"})
    assert fields(answer) == ["body.dns.lexicon_provider"]


async def test_required_and_misplaced_options(api: httpx.AsyncClient, admin: Actor) -> None:
    missing = await create(api, admin, {"provider": "lexicon", "lexicon_provider": "cloudflare"})
    assert fields(missing) == ["body.dns.credentials.auth_token"]
    misplaced = await create(
        api,
        admin,
        {"provider": "lexicon", "lexicon_provider": "cloudflare", "options": {"auth_token": "t"}},
    )
    assert fields(misplaced) == ["body.dns.options.auth_token"]
    unknown = await create(
        api,
        admin,
        {
            "provider": "lexicon",
            "lexicon_provider": "cloudflare",
            "options": {"colour": "blue"},
            "credentials": {"auth_token": "t"},
        },
    )
    assert fields(unknown) == ["body.dns.options.colour"]
    google_file = await create(
        api,
        admin,
        {
            "provider": "lexicon",
            "lexicon_provider": "googleclouddns",
            "credentials": {"auth_service_account_info": "file::/etc/shadow"},
        },
    )
    assert fields(google_file) == ["body.dns.credentials.auth_service_account_info"]


async def test_private_server_address_is_refused(api: httpx.AsyncClient, admin: Actor) -> None:
    answer = await create(api, admin, {"provider": "rfc2136", "server": "10.1.2.3"})
    assert fields(answer) == ["body.dns.server"]
    delegated = await create(
        api,
        admin,
        {
            "provider": "cname-delegation",
            "validation_zone": "v.example",
            "resolver": "169.254.169.254",
            "inner": {"provider": "rfc2136", "server": "192.0.2.1"},
        },
    )
    assert fields(delegated) == ["body.dns.resolver"]


async def test_credentials_are_write_only_and_kept(
    api: httpx.AsyncClient, admin: Actor, powerdns: PowerDnsServer
) -> None:
    answer = await create(api, admin, powerdns.lexicon_settings())
    assert answer.status_code == 201, answer.text
    org = answer.json()
    assert org["dns"]["secrets_set"] == ["auth_token"]
    assert powerdns.api_key not in answer.text
    assert "credentials" not in org["dns"]
    # An update without credentials keeps them (same provider)...
    settings = powerdns.lexicon_settings(ttl=120)
    del settings["credentials"]
    patched = await api.patch(
        f"/v1/organizations/{org['id']}", headers=admin.headers, json={"dns": settings}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["dns"]["secrets_set"] == ["auth_token"]
    assert patched.json()["dns"]["ttl"] == 120
    # ...another provider does not inherit them.
    other = await api.patch(
        f"/v1/organizations/{org['id']}",
        headers=admin.headers,
        json={"dns": {"provider": "lexicon", "lexicon_provider": "digitalocean"}},
    )
    assert fields(other) == ["body.dns.credentials.auth_token"]


async def test_provider_catalog(api: httpx.AsyncClient, admin: Actor) -> None:
    answer = await api.get("/v1/dns/providers", headers=admin.headers)
    assert answer.status_code == 200
    providers = {p["name"]: p for p in answer.json()["providers"]}
    assert providers["rfc2136"]["kind"] == "native"
    for name in ("powerdns", "cloudflare", "azure", "googleclouddns", "route53"):
        assert providers[name]["kind"] == "lexicon"
    options = {o["name"]: o for o in providers["powerdns"]["options"]}
    assert options["auth_token"]["secret"] and options["auth_token"]["required"]
    assert options["pdns_server"]["required"] and not options["pdns_server"]["secret"]
    assert {"auth_client_secret", "resource_group"} <= {
        o["name"] for o in providers["azure"]["options"]
    }
    assert "localzone" not in providers and "auto" not in providers


async def check(api: httpx.AsyncClient, admin: Actor, org_id: str) -> httpx.Response:
    return await api.post(f"/v1/organizations/{org_id}/dns/check", headers=admin.headers, json={})


async def test_check_with_good_and_bad_credentials(
    api: httpx.AsyncClient, admin: Actor, powerdns: PowerDnsServer
) -> None:
    org = (await create(api, admin, powerdns.lexicon_settings())).json()
    answer = await check(api, admin, org["id"])
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["ok"], report
    assert [s["step"] for s in report["steps"]] == [
        "settings",
        "credentials",
        "zone",
        "create",
        "visible",
        "delete",
    ]
    assert powerdns.txt(report["record"]) == set()  # cleaned up

    bad = powerdns.lexicon_settings(credentials={"auth_token": "wrong"})
    org = (await create(api, admin, bad)).json()
    report = (await check(api, admin, org["id"])).json()
    assert not report["ok"]
    failed = [s for s in report["steps"] if not s["ok"]]
    assert failed[0]["step"] == "credentials" and "refused" in failed[0]["detail"]

    absent = powerdns.lexicon_settings(zone="absent.test")
    org = (await create(api, admin, absent)).json()
    report = (await check(api, admin, org["id"])).json()
    failed = [s for s in report["steps"] if not s["ok"]]
    assert failed[0]["step"] == "zone" and "absent.test" in failed[0]["detail"]


async def test_check_rfc2136_and_delegation_over_bind(
    api: httpx.AsyncClient, admin: Actor, bind: BindServer
) -> None:
    org = (await create(api, admin, bind.rfc2136_settings(zone=bind.tenant_zone))).json()
    report = (await check(api, admin, org["id"])).json()
    assert report["ok"], report
    org = (await create(api, admin, bind.delegation_settings())).json()
    report = (await check(api, admin, org["id"])).json()
    assert report["ok"], report
    assert report["record"].endswith(bind.validation_zone)
    wrong_key = bind.rfc2136_settings(zone=bind.tenant_zone, tsig_secret=bind.denied_secret)
    org = (await create(api, admin, wrong_key)).json()
    report = (await check(api, admin, org["id"])).json()
    failed = [s for s in report["steps"] if not s["ok"]]
    assert failed[0]["step"] == "create" and "TSIG" in failed[0]["detail"]


async def test_check_without_settings_is_409(api: httpx.AsyncClient, admin: Actor) -> None:
    org = (await create(api, admin, None)).json()
    assert (await check(api, admin, org["id"])).status_code == 409


async def test_checks_per_tenant_are_capped(
    api: httpx.AsyncClient, admin: Actor, runtime: Runtime, powerdns: PowerDnsServer
) -> None:
    org = (await create(api, admin, powerdns.lexicon_settings())).json()
    slots = tenant_slots(runtime)
    limit = runtime.settings.dns.checks_per_tenant
    held = [slots.slot(admin.tenant.id) for _ in range(limit)]
    await asyncio.gather(*(h.__aenter__() for h in held))
    try:
        answer = await check(api, admin, org["id"])
        assert answer.status_code == 429
        assert answer.headers["Retry-After"].isdigit()
    finally:
        for h in held:
            await h.__aexit__(None, None, None)
    assert (await check(api, admin, org["id"])).json()["ok"]
