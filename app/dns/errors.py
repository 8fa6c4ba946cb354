"""The one error tree DNS providers raise; messages are safe to show users (never a secret)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.dns.delegation import DelegationStatus


class DnsProviderError(Exception):
    """Base of every DNS provider failure."""


class DnsConfigError(DnsProviderError):
    """The provider configuration is incomplete or invalid (names the key, never its value)."""


class DnsQueryFailed(DnsProviderError):
    """A server did not answer usefully (timeout, unreachable, SERVFAIL, bad TSIG on a reply)."""


class DnsUpdateRefused(DnsProviderError):
    """The server rejected an RFC 2136 update; `rcode` is the DNS or TSIG error name."""

    def __init__(self, message: str, *, rcode: str, zone: str, server: str) -> None:
        super().__init__(message)
        self.rcode = rcode
        self.zone = zone
        self.server = server


class DnsPropagationTimeout(DnsProviderError):
    """Not every authoritative server served the value before the deadline."""

    def __init__(self, message: str, *, fqdn: str, missing_on: list[str]) -> None:
        super().__init__(message)
        self.fqdn = fqdn
        self.missing_on = missing_on


class DelegationError(DnsProviderError):
    """`_acme-challenge.<name>` is not CNAME-delegated to the broker as expected.

    `status` is the `DelegationStatus` whose message says exactly which CNAME to create.
    """

    def __init__(self, status: DelegationStatus) -> None:
        super().__init__(status.message)
        self.status = status
