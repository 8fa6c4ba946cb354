"""The broker's DNS provider registry with every built-in provider registered."""

from __future__ import annotations

from app.dns.base import DnsProviderRegistry
from app.dns.delegation import CnameDelegationProvider
from app.dns.lexicon import LexiconProvider
from app.dns.lexicon_http import EgressCheck
from app.dns.netpolicy import loopback_check
from app.dns.rfc2136 import Rfc2136Provider


def default_dns_registry(check: EgressCheck | None = None) -> DnsProviderRegistry:
    """`check` is the egress policy every server, resolver and API address passes first
    (default: the default policy plus 127.0.0.1, for tests and tools outside the service)."""
    policy = check or loopback_check()
    registry = DnsProviderRegistry()
    registry.register("rfc2136", lambda config: Rfc2136Provider.from_config(config, policy))
    registry.register("lexicon", lambda config: LexiconProvider.from_config(config, policy))
    # The wrapper builds its inner provider from this same registry, by name.
    registry.register(
        CnameDelegationProvider.name,
        lambda config: CnameDelegationProvider.from_config(config, registry, policy),
    )
    return registry
