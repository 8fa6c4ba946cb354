"""The RFC 2136 provider against a real BIND: add, wait, delete, refusals, timeouts."""

from __future__ import annotations

import base64
import logging
import secrets
import socket

import dns.asyncquery
import dns.message
import dns.rcode
import dns.update
import pytest

from app.dns.base import DnsProvider
from app.dns.errors import (
    DnsConfigError,
    DnsPropagationTimeout,
    DnsQueryFailed,
    DnsUpdateRefused,
)
from app.dns.registry import default_dns_registry
from app.dns.rfc2136 import Rfc2136Provider
from tests.fixtures.bind import BindFactory, BindServer


def unique_name(zone: str) -> str:
    return f"_acme-challenge.t{secrets.token_hex(6)}.{zone}"


async def served_txt(bind: BindServer, fqdn: str) -> set[str]:
    """What a plain (dig-like) query to the server returns, independent of the provider."""
    response = await dns.asyncquery.udp(
        dns.message.make_query(fqdn, "TXT"), bind.host, port=bind.port, timeout=2
    )
    return {b"".join(rd.strings).decode() for rrset in response.answer for rd in rrset}


@pytest.fixture
def provider(bind: BindServer) -> DnsProvider:
    return default_dns_registry().create("rfc2136", bind.provider_config())


async def test_present_wait_cleanup(
    bind: BindServer, provider: DnsProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fqdn = unique_name(bind.tenant_zone)
    await provider.present_txt(fqdn, "token-one")
    await provider.wait_for_txt(fqdn, "token-one", timeout=5)
    assert await served_txt(bind, fqdn) == {"token-one"}

    await provider.cleanup_txt(fqdn, "token-one")
    assert await served_txt(bind, fqdn) == set()
    await provider.cleanup_txt(fqdn, "token-one")  # absent is fine
    assert f"add TXT {fqdn}" in caplog.text
    assert bind.secret not in caplog.text


async def test_two_values_coexist_and_cleanup_removes_one(
    bind: BindServer, provider: DnsProvider
) -> None:
    # A wildcard+apex order: both authorizations use the same _acme-challenge name.
    fqdn = unique_name(bind.tenant_zone)
    await provider.present_txt(fqdn, "for-apex")
    await provider.present_txt(fqdn, "for-wildcard")
    await provider.wait_for_txt(fqdn, "for-apex", timeout=5)
    await provider.wait_for_txt(fqdn, "for-wildcard", timeout=5)
    assert await served_txt(bind, fqdn) == {"for-apex", "for-wildcard"}

    await provider.cleanup_txt(fqdn, "for-apex")
    assert await served_txt(bind, fqdn) == {"for-wildcard"}
    await provider.cleanup_txt(fqdn, "for-wildcard")


async def test_explicit_zone_and_authoritative_servers(bind: BindServer) -> None:
    provider = Rfc2136Provider.from_config(
        bind.provider_config(zone=bind.validation_zone, authoritative_servers=[bind.address])
    )
    fqdn = unique_name(bind.validation_zone)
    long_value = "x" * 300  # more than one TXT string
    await provider.present_txt(fqdn, long_value)
    await provider.wait_for_txt(fqdn, long_value, timeout=5)
    await provider.cleanup_txt(fqdn, long_value)
    assert await served_txt(bind, fqdn) == set()


async def test_key_without_rights_is_refused(bind: BindServer) -> None:
    provider = Rfc2136Provider.from_config(
        bind.provider_config(tsig_key_name=bind.denied_key_name, tsig_secret=bind.denied_secret)
    )
    with pytest.raises(DnsUpdateRefused) as caught:
        await provider.present_txt(unique_name(bind.tenant_zone), "nope")
    assert caught.value.rcode == "REFUSED"
    assert caught.value.zone == bind.tenant_zone
    assert "is not allowed to update this zone" in str(caught.value)
    assert bind.denied_secret not in str(caught.value)


async def test_wrong_secret_is_refused_without_leaking_it(bind: BindServer) -> None:
    wrong = base64.b64encode(secrets.token_bytes(32)).decode()
    provider = Rfc2136Provider.from_config(bind.provider_config(tsig_secret=wrong))
    with pytest.raises(DnsUpdateRefused) as caught:
        await provider.present_txt(unique_name(bind.tenant_zone), "nope")
    assert caught.value.rcode == "NOTAUTH (BADSIG)"
    assert wrong not in str(caught.value)
    assert wrong not in repr(provider)
    assert bind.secret not in repr(Rfc2136Provider.from_config(bind.provider_config()))


async def test_unknown_key_name_is_refused(bind: BindServer) -> None:
    provider = Rfc2136Provider.from_config(bind.provider_config(tsig_key_name="nobody.example."))
    with pytest.raises(DnsUpdateRefused) as caught:
        await provider.present_txt(unique_name(bind.tenant_zone), "nope")
    assert caught.value.rcode == "NOTAUTH (BADKEY)"


async def test_unsigned_update_is_refused(bind: BindServer) -> None:
    provider = Rfc2136Provider.from_config(
        bind.provider_config(tsig_key_name=None, tsig_secret=None)
    )
    with pytest.raises(DnsUpdateRefused) as caught:
        await provider.present_txt(unique_name(bind.tenant_zone), "nope")
    assert caught.value.rcode == "REFUSED"
    assert "none is configured" in str(caught.value)


async def test_wait_times_out_with_a_clear_error(bind: BindServer, provider: DnsProvider) -> None:
    fqdn = unique_name(bind.tenant_zone)
    with pytest.raises(DnsPropagationTimeout) as caught:
        await provider.wait_for_txt(fqdn, "never-published", timeout=0.5)
    assert caught.value.missing_on == [bind.address]
    assert fqdn in str(caught.value)


async def test_name_outside_every_served_zone(bind: BindServer, provider: DnsProvider) -> None:
    with pytest.raises(DnsConfigError, match="authoritative for no zone"):
        await provider.present_txt("_acme-challenge.elsewhere.invalid.", "x")


async def test_unreachable_server_fails_fast(bind: BindServer) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        unused_port = probe.getsockname()[1]
    provider = Rfc2136Provider.from_config(
        bind.provider_config(port=unused_port, zone=bind.tenant_zone, timeout=0.5)
    )
    with pytest.raises(DnsQueryFailed):
        await provider.present_txt(unique_name(bind.tenant_zone), "x")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "'server' is required"),
        ({"server": "127.0.0.1", "tsig_key_name": "k."}, "or neither"),
        ({"server": "127.0.0.1", "tsig_algorithm": "hmac-md4"}, "tsig_algorithm"),
        ({"server": "127.0.0.1", "colour": "blue"}, "unknown config keys"),
        ({"server": "127.0.0.1", "port": "fifty-three"}, "invalid config"),
        ({"server": "127.0.0.1", "tsig_key_name": "k.", "tsig_secret": "s3cr3t!!"}, "base64"),
    ],
)
def test_config_errors(config: dict, message: str) -> None:
    with pytest.raises(DnsConfigError, match=message) as caught:
        Rfc2136Provider.from_config(config)
    assert "s3cr3t" not in str(caught.value)


def test_unpadded_secret_is_accepted(bind: BindServer) -> None:
    Rfc2136Provider.from_config(bind.provider_config(tsig_secret=bind.secret.rstrip("=")))


async def test_wait_needs_every_authoritative_server(
    bind: BindServer, bind_factory: BindFactory
) -> None:
    # A second named with the same zone stands in for a secondary that has not caught up.
    lagging = bind_factory()
    servers = [bind.address, lagging.address]
    primary = Rfc2136Provider.from_config(bind.provider_config(authoritative_servers=servers))
    fqdn = unique_name(bind.tenant_zone)
    await primary.present_txt(fqdn, "v")
    with pytest.raises(DnsPropagationTimeout) as caught:
        await primary.wait_for_txt(fqdn, "v", timeout=0.3)
    assert caught.value.missing_on == [lagging.address]

    await Rfc2136Provider.from_config(lagging.provider_config()).present_txt(fqdn, "v")
    await primary.wait_for_txt(fqdn, "v", timeout=2)
