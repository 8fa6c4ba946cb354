"""The lexicon provider against a real PowerDNS through lexicon's `powerdns` provider."""

from __future__ import annotations

import logging
import secrets

import pytest

from app.dns.errors import DnsConfigError, DnsProviderError, DnsQueryFailed
from app.dns.lexicon import LexiconProvider
from app.dns.lexicon_http import EgressRefused
from app.dns.netpolicy import policy_check
from app.dns.registry import default_dns_registry
from app.egress.policy import EgressPolicy
from app.settings import EgressSettings
from tests.fixtures.powerdns import PDNS_ZONE, PowerDnsServer


def unique_name() -> str:
    return f"_acme-challenge.t{secrets.token_hex(6)}.{PDNS_ZONE}"


@pytest.fixture
def provider(powerdns: PowerDnsServer) -> LexiconProvider:
    created = default_dns_registry().create("lexicon", powerdns.provider_config())
    assert isinstance(created, LexiconProvider)
    return created


async def test_present_wait_cleanup_keeps_other_values(
    powerdns: PowerDnsServer, provider: LexiconProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fqdn = unique_name()
    # A wildcard and its base name share the name: both values must stand side by side.
    await provider.present_txt(fqdn, "token-wildcard")
    await provider.present_txt(fqdn, "token-base")
    await provider.wait_for_txt(fqdn, "token-base", timeout=10)
    assert powerdns.txt(fqdn) == {"token-wildcard", "token-base"}

    await provider.cleanup_txt(fqdn, "token-wildcard")
    assert powerdns.txt(fqdn) == {"token-base"}
    await provider.cleanup_txt(fqdn, "token-base")
    assert powerdns.txt(fqdn) == set()
    await provider.cleanup_txt(fqdn, "token-base")  # absent is fine
    assert powerdns.api_key not in caplog.text


async def test_wrong_token_is_a_config_error(powerdns: PowerDnsServer) -> None:
    config = powerdns.provider_config()
    config["options"]["auth_token"] = "wrong-token"
    provider = default_dns_registry().create("lexicon", config)
    with pytest.raises(DnsConfigError, match="credentials were refused"):
        await provider.present_txt(unique_name(), "x")


async def test_unknown_zone_is_named(powerdns: PowerDnsServer) -> None:
    provider = default_dns_registry().create(
        "lexicon", powerdns.provider_config(zone="absent.test")
    )
    assert isinstance(provider, LexiconProvider)
    with pytest.raises(DnsProviderError, match=r"absent\.test"):
        await provider.authenticate("absent.test")


async def test_egress_policy_refuses_the_api_address(powerdns: PowerDnsServer) -> None:
    registry = default_dns_registry(policy_check(EgressPolicy(EgressSettings())))
    provider = registry.create("lexicon", powerdns.provider_config())
    with pytest.raises(DnsQueryFailed, match=r"egress policy: 127\.0\.0\.1"):
        await provider.present_txt(unique_name(), "x")
    assert powerdns.txt(unique_name()) == set()


async def test_unix_socket_endpoint_is_refused(powerdns: PowerDnsServer, tmp_path) -> None:
    socket_path = tmp_path / "pdns.sock"
    socket_path.write_text("")
    config = powerdns.provider_config()
    config["options"]["pdns_server"] = str(socket_path)
    provider = default_dns_registry().create("lexicon", config)
    with pytest.raises(DnsQueryFailed, match="only http and https"):
        await provider.present_txt(unique_name(), "x")


def test_policy_check_judges_embedded_ipv4() -> None:
    check = policy_check(EgressPolicy(EgressSettings()))
    check("8.8.8.8", 53)
    for ip in ("127.0.0.1", "10.0.0.1", "169.254.169.254", "::ffff:10.0.0.1", "::1", "fe80::1"):
        with pytest.raises(EgressRefused):
            check(ip, 53)
