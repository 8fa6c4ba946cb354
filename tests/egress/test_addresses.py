"""Every address class of the egress table, judged by literal through the policy: refused by
default, named in the reason; public addresses pass; the operator's widenings are narrow."""

from __future__ import annotations

import ipaddress

import pytest

from app.egress.addresses import classify, local_only_overlap
from app.egress.policy import EgressPolicy, EgressRefused
from app.settings import EgressSettings, Settings
from tests.egress.addresses import ALL_REFUSED, PUBLIC, REFUSED

# Words the refusal of each class may use (an IPv6 form is named by what it carries).
REASONS = {
    "loopback": ("loopback",),
    "unspecified": ("unspecified",),
    "link-local": ("link-local",),
    "metadata": ("metadata",),
    "private": ("private",),
    "shared": ("shared",),
    "multicast": ("multicast",),
    "reserved": ("reserved", "broadcast", "discard", "NAT64"),
    "deprecated": ("deprecated",),
    "documentation": ("documentation",),
    "benchmarking": ("benchmarking",),
    "teredo": ("teredo", "loopback", "private", "broadcast"),
}

STRICT = EgressPolicy(EgressSettings())


def test_the_table_covers_every_class_with_enough_addresses() -> None:
    assert set(REFUSED) == set(REASONS)
    assert len(ALL_REFUSED) >= 50


@pytest.mark.parametrize(("kind", "address"), ALL_REFUSED)
def test_a_refused_address_is_refused_with_its_class(kind: str, address: str) -> None:
    with pytest.raises(EgressRefused) as refused:
        STRICT.check_ip(address, field="body.url")
    assert refused.value.status == 422
    assert refused.value.errors[0]["field"] == "body.url"
    assert any(word in refused.value.reason for word in REASONS[kind]), refused.value.reason


@pytest.mark.parametrize("address", PUBLIC)
def test_a_public_address_passes(address: str) -> None:
    assert STRICT.check_ip(address) == ipaddress.ip_address(address)
    assert classify(ipaddress.ip_address(address)) is None


def test_an_embedded_address_is_judged_by_what_it_carries() -> None:
    for form in ("::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:a00:1::"):
        verdict = classify(ipaddress.ip_address(form))
        assert verdict is not None and verdict.kind == "private"
        assert str(verdict.carried) == "10.0.0.1"


def test_private_networks_open_only_the_private_class_as_written() -> None:
    policy = EgressPolicy(EgressSettings(allow_private_networks=True))
    for address in ("10.1.2.3", "192.168.0.1", "172.20.0.1", "fd12::1"):
        policy.check_ip(address)
    # Still refused: what a private range carries in an IPv6 form, and every other class.
    for address in ("::ffff:10.1.2.3", "64:ff9b::10.0.0.1", "127.0.0.1", "169.254.169.254",
                    "fd00:ec2::254", "100.64.0.1", "fe80::1"):  # fmt: skip
        with pytest.raises(EgressRefused):
            policy.check_ip(address)


def test_allowed_networks_match_the_address_itself() -> None:
    policy = EgressPolicy(EgressSettings(allowed_networks=["127.0.0.1/32"]))
    policy.check_ip("127.0.0.1")
    for address in ("127.0.0.2", "::ffff:127.0.0.1", "::1", "64:ff9b::127.0.0.1"):
        with pytest.raises(EgressRefused):
            policy.check_ip(address)
    with pytest.raises(EgressRefused, match="metadata"):
        EgressPolicy(EgressSettings(allowed_networks=["169.254.0.0/16"])).check_ip(
            "169.254.169.254"
        )


def test_a_zone_id_is_a_local_link() -> None:
    with pytest.raises(EgressRefused, match="link-local"):
        STRICT.check_ip("2606:4700:4700::1111%eth0")


@pytest.mark.parametrize(
    "network",
    ["127.0.0.0/8", "0.0.0.0/0", "169.254.169.254/32", "::1/128", "::/0", "::ffff:127.0.0.1/128"],
)
def test_production_refuses_to_open_local_ranges(network: str) -> None:
    assert local_only_overlap(ipaddress.ip_network(network))
    with pytest.raises(ValueError, match="ALLOWED_NETWORKS includes"):
        Settings(**_production(), egress={"allowed_networks": [network]})


def test_production_refuses_the_sandbox_conveniences() -> None:
    with pytest.raises(ValueError, match="SANDBOX_MODE") as refused:
        Settings(**_production(), sandbox_mode=True, egress={"ca_allow_http": True})
    assert "CA_ALLOW_HTTP" in str(refused.value)
    opened = {"allowed_networks": ["10.0.0.0/8"], "allow_private_networks": True}
    wide = Settings(**_production(), egress={**opened, "ca_any_port": True})
    assert wide.egress.allow_private_networks


def _production() -> dict[str, object]:
    import base64
    import os

    return {
        "env": "production",
        "database_url": "postgresql+asyncpg://db/certbroker",
        "data_keys": {"k": base64.b64encode(os.urandom(32)).decode()},
        "data_key_id": "k",
        "auth": {"issuer": "https://certbroker.example.com"},
    }
