"""The broker's DNS provider registry with every built-in provider registered."""

from __future__ import annotations

from app.dns.base import DnsProviderRegistry
from app.dns.delegation import CnameDelegationProvider
from app.dns.rfc2136 import Rfc2136Provider


def default_dns_registry() -> DnsProviderRegistry:
    registry = DnsProviderRegistry()
    registry.register("rfc2136", Rfc2136Provider.from_config)
    # The wrapper builds its inner provider from this same registry, by name.
    registry.register(
        CnameDelegationProvider.name,
        lambda config: CnameDelegationProvider.from_config(config, registry),
    )
    return registry
