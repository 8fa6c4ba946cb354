"""CNAME delegation against a real BIND serving both the tenant zone and the validation zone."""

from __future__ import annotations

import secrets

import dns.asyncquery
import dns.message
import dns.rdatatype
import dns.tsig
import dns.update
import pytest

from app.dns.delegation import (
    CnameDelegationProvider,
    DelegationState,
    delegation_label,
    expected_delegation,
)
from app.dns.errors import DelegationError, DnsConfigError
from app.dns.registry import default_dns_registry
from tests.fixtures.bind import BindServer
from tests.fixtures.bind_resolver import BindResolver


def unique_host(zone: str) -> str:
    return f"www-{secrets.token_hex(6)}.{zone}"


async def set_cname(bind: BindServer, owner: str, target: str) -> None:
    """What the tenant does once in their own DNS (here: the fixture's tenant zone)."""
    update = dns.update.UpdateMessage(
        bind.tenant_zone, keyring=dns.tsig.Key(bind.key_name, bind.secret, bind.algorithm)
    )
    update.replace(owner, 60, "CNAME", target)
    response = await dns.asyncquery.tcp(update, bind.host, port=bind.port, timeout=2)
    assert response.rcode() == 0


async def answer(server: BindServer | BindResolver, fqdn: str) -> dict[str, set[str]]:
    """The answer section of a TXT query to the server, as {owner: {record text}}."""
    response = await dns.asyncquery.udp(
        dns.message.make_query(fqdn, "TXT"), server.host, port=server.port, timeout=2
    )
    return {rrset.name.to_text(): {rd.to_text() for rd in rrset} for rrset in response.answer}


@pytest.fixture
def delegation(bind: BindServer) -> CnameDelegationProvider:
    provider = default_dns_registry().create("cname-delegation", bind.delegation_config())
    assert isinstance(provider, CnameDelegationProvider)
    return provider


def test_expected_delegation_is_deterministic_and_shared_by_wildcard() -> None:
    host, target = expected_delegation("*.WWW.example.com", "acme.broker.internal")
    assert host == "_acme-challenge.www.example.com."
    assert (host, target) == expected_delegation("www.example.com.", "acme.broker.internal.")
    label = delegation_label("www.example.com")
    assert target == f"{label}.acme.broker.internal."
    assert len(label) == 32 and label.isalnum()
    assert delegation_label("a-b.example.com") != delegation_label("a.b-example.com")


async def test_missing_cname_tells_what_to_create(
    bind: BindServer, delegation: CnameDelegationProvider
) -> None:
    name = unique_host(bind.tenant_zone)
    host, target = delegation.expected_delegation(name)
    status = await delegation.check_delegation(name)
    assert status.state is DelegationState.MISSING and not status.ok
    assert f"create CNAME {host} → {target}" in status.message

    with pytest.raises(DelegationError) as caught:
        await delegation.present_txt(host, "value")
    assert caught.value.status == status


async def test_wrong_target_is_flagged(
    bind: BindServer, delegation: CnameDelegationProvider
) -> None:
    name = unique_host(bind.tenant_zone)
    host, target = delegation.expected_delegation(name)
    elsewhere = f"someone-else.{bind.validation_zone}"
    await set_cname(bind, host, elsewhere)

    status = await delegation.check_delegation(name)
    assert status.state is DelegationState.WRONG_TARGET
    assert status.actual_target == elsewhere
    assert f"change it to CNAME {host} → {target}" in status.message
    with pytest.raises(DelegationError):
        await delegation.present_txt(host, "value")


async def test_present_through_delegation(
    bind: BindServer, bind_resolver: BindResolver, delegation: CnameDelegationProvider
) -> None:
    name = unique_host(bind.tenant_zone)
    host, target = delegation.expected_delegation(f"*.{name}")
    await set_cname(bind, host, target)
    assert (await delegation.check_delegation(name)).ok

    await delegation.present_txt(host, "wildcard-token")
    await delegation.present_txt(host, "apex-token")
    await delegation.wait_for_txt(host, "wildcard-token", timeout=5)

    # The TXT lives in the broker's validation zone, never in the tenant's zone.
    assert await answer(bind, target) == {target: {'"wildcard-token"', '"apex-token"'}}
    # BIND, authoritative-only, does not chase a CNAME into another zone even though it serves
    # both: the answer at the tenant's name holds just the CNAME. A recursive resolver chases
    # it, which is what a CA's lookup (pebble's included) needs.
    assert await answer(bind, host) == {host: {target}}
    chased = {host: {target}, target: {'"wildcard-token"', '"apex-token"'}}
    assert await answer(bind_resolver, host) == chased

    await delegation.cleanup_txt(host, "wildcard-token")
    assert await answer(bind, target) == {target: {'"apex-token"'}}
    await delegation.cleanup_txt(host, "apex-token")
    assert await answer(bind, target) == {}


async def test_not_a_challenge_name(delegation: CnameDelegationProvider) -> None:
    with pytest.raises(DnsConfigError, match="not an _acme-challenge name"):
        await delegation.present_txt("www.example.test.", "x")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"validation_zone": "v.", "resolver": "127.0.0.1"}, "'inner_provider' is required"),
        ({"inner_provider": "nope", "validation_zone": "v.", "resolver": "::1"}, "nope"),
        (
            {"inner_provider": "cname-delegation", "validation_zone": "v.", "resolver": "::1"},
            "cannot be another delegation",
        ),
    ],
)
def test_config_errors(config: dict, message: str) -> None:
    with pytest.raises(DnsConfigError, match=message):
        default_dns_registry().create("cname-delegation", config)
