"""The DnsProvider protocol: the three verbs DNS-01 needs (present, wait, clean up)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class DnsProvider(Protocol):
    """A way to publish `_acme-challenge` TXT records. Built once per configuration."""

    name: str

    async def present_txt(self, fqdn: str, value: str) -> None:
        """Add a TXT record `fqdn` (absolute, trailing dot) holding `value`; keep other values."""
        ...

    async def wait_for_txt(self, fqdn: str, value: str, timeout: float) -> None:  # noqa: ASYNC109
        """Return once every authoritative server of the zone serves `value` at `fqdn`."""
        ...

    async def cleanup_txt(self, fqdn: str, value: str) -> None:
        """Remove exactly that value at `fqdn`; absent is fine."""
        ...


class DnsProviderFactory(Protocol):
    def __call__(self, config: dict[str, Any]) -> DnsProvider: ...


class DnsProviderRegistry:
    """Provider factories by name ("rfc2136", ...); an organization's settings pick one."""

    def __init__(self) -> None:
        self._factories: dict[str, DnsProviderFactory] = {}

    def register(self, name: str, factory: DnsProviderFactory) -> None:
        self._factories[name] = factory

    def create(self, name: str, config: dict[str, Any]) -> DnsProvider:
        try:
            factory = self._factories[name]
        except KeyError:
            raise LookupError(f"no DNS provider named {name!r}") from None
        return factory(config)

    def names(self) -> list[str]:
        return sorted(self._factories)
