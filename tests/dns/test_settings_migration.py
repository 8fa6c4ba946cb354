"""The migration that types organization DNS settings converts what earlier versions stored."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from pydantic import TypeAdapter

from app.dns.schemas import DnsSettingsOut

PATH = Path(__file__).parents[2] / "alembic/versions/20261203_issue13-dns_typed_dns_settings.py"
spec = importlib.util.spec_from_file_location("typed_dns_migration", PATH)
assert spec and spec.loader
migration = importlib.util.module_from_spec(spec)
spec.loader.exec_module(migration)


def shown(provider: str, dns: dict) -> object:
    """What the API would show for the converted row (secrets_set as to_public fills it)."""
    data = {k: v for k, v in dns.items() if k != "_secret_keys"}
    if provider == "cname-delegation":
        data["inner"] = {**data["inner"], "secrets_set": ["tsig_secret"]}
    else:
        data["secrets_set"] = []
    return TypeAdapter(DnsSettingsOut).validate_python({**data, "provider": provider})


def test_rfc2136_keeps_known_keys_within_bounds() -> None:
    provider, dns = migration.convert(
        "rfc2136",
        {"server": "ns1.example.com", "port": "5353", "timeout": 600, "color": "x",
         "tsig_key_name": "k.", "_secret_keys": ["tsig_secret"]},
    )  # fmt: skip
    assert provider == "rfc2136"
    assert dns == {"server": "ns1.example.com", "port": 5353, "timeout": 30,
                   "tsig_key_name": "k.", "_secret_keys": ["tsig_secret"]}  # fmt: skip
    shown(provider, dns)


def test_delegation_nests_its_inner_provider() -> None:
    provider, dns = migration.convert(
        "cname-delegation",
        {
            "inner_provider": "rfc2136",
            "inner_config": {"server": "192.0.2.1", "tsig_key_name": "k."},
            "validation_zone": "v.example.com",
            "resolver": "192.0.2.53",
            "resolver_port": 53,
            "_secret_keys": ["inner_config.tsig_secret"],
        },
    )
    assert provider == "cname-delegation"
    assert dns["inner"] == {"provider": "rfc2136", "server": "192.0.2.1", "tsig_key_name": "k."}
    assert dns["_secret_keys"] == ["inner.tsig_secret"]
    shown(provider, dns)


def test_unknown_providers_are_dropped() -> None:
    assert migration.convert("route66", {"x": 1}) == (None, None)
    assert migration.convert("rfc2136", {"port": 53}) == (None, None)
