"""The one egress policy: which URLs and addresses the broker may connect to on a tenant's
behalf (CA endpoints, DNS servers, webhooks), checked after resolution, every refusal logged.

Operators widen it per deployment (`CERTBROKER_EGRESS__*`); nothing a tenant sends can.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import dns.asyncresolver
import dns.exception
import dns.resolver
import httpx

from app.egress.addresses import METADATA, PRIVATE_CLASSES, IpAddress, classify, parse_ip
from app.errors import Unprocessable
from app.settings import EgressSettings

log = logging.getLogger("certbroker.egress")

Resolver = Callable[[str], Awaitable[list[IpAddress]]]
UrlKind = Literal["ca", "webhook"]


class EgressRefused(Unprocessable):
    """The URL or an address it leads to is outside the egress policy (422 naming the field)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(
            f"{field}: refused: {reason}",
            errors=[
                {"loc": field.split("."), "field": field, "msg": f"refused: {reason}",
                 "type": "egress_refused"}
            ],
        )  # fmt: skip
        self.field, self.reason = field, reason


class EgressUnresolved(Unprocessable):
    """The host name did not resolve (perhaps only for now)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(
            f"{field}: {reason}",
            errors=[{"loc": field.split("."), "field": field, "msg": reason, "type": "unresolved"}],
        )
        self.field, self.reason = field, reason


@dataclass(frozen=True, slots=True)
class CheckedTarget:
    url: httpx.URL
    addresses: list[IpAddress]  # every address of the host, each one checked


async def system_resolver(host: str) -> list[IpAddress]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    found = (parse_ip(str(info[4][0])) for info in infos)
    return list(dict.fromkeys(a for a in found if a is not None))


async def server_resolver(server: str, host: str) -> list[IpAddress]:
    """`host`'s A and AAAA records from the DNS server `server` ("address:port")."""
    address, _, port = server.rpartition(":")
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [address.strip("[]")]
    resolver.port = int(port)
    found: list[IpAddress] = []
    for rdtype in ("A", "AAAA"):
        try:
            answer = await resolver.resolve(host, rdtype)
        except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
            continue
        except dns.exception.DNSException as exc:
            raise OSError(str(exc) or type(exc).__name__) from None
        found += [a for a in (parse_ip(rd.address) for rd in answer) if a is not None]
    return found


class EgressPolicy:
    """`check_url` (the URL as written), `resolve` (a host's addresses, every one checked) and
    `check_ip`. Refusals raise `EgressRefused`, a 422 naming `field`."""

    def __init__(self, settings: EgressSettings, resolver: Resolver | None = None) -> None:
        self.settings = settings
        self.resolver = resolver  # tests inject one; else settings.resolver, else the system's

    def problem(self, address: IpAddress) -> str | None:
        """Why `address` may not be connected to, or None."""
        if address in METADATA or (
            address.version == 6 and address.ipv4_mapped in METADATA  # type: ignore[union-attr]
        ):
            return f"{address} is a cloud metadata address"
        if any(address in network for network in self.settings.allowed_networks):
            return None
        verdict = classify(address)
        if verdict is None:
            return None
        private = verdict.kind in PRIVATE_CLASSES and verdict.carried is None
        if private and self.settings.allow_private_networks:
            return None
        # Say which operator setting would allow it (a tenant can change neither).
        allow = (
            "CERTBROKER_EGRESS__ALLOW_PRIVATE_NETWORKS=true"
            if private
            else f"CERTBROKER_EGRESS__ALLOWED_NETWORKS='[\"{address}/{address.max_prefixlen}\"]'"
        )
        return f"{address} is {verdict.describe()} (an operator may allow it: {allow})"

    def check_ip(self, address: IpAddress | str, *, field: str = "address") -> IpAddress:
        parsed = parse_ip(address) if isinstance(address, str) else address
        if parsed is None:
            raise self._refuse(field, f"{address!r} is not an IP address")
        if problem := self.problem(parsed):
            raise self._refuse(field, problem)
        return parsed

    async def resolve(self, host: str, *, field: str) -> list[IpAddress]:
        """The addresses of `host` (a name or an IP literal), all checked: one refused address
        refuses the host, since a later lookup could return just that one."""
        literal = parse_ip(host)
        if literal is not None:
            return [self.check_ip(literal, field=field)]
        name = host.rstrip(".").lower()
        if not name or name == "localhost" or name.endswith(".localhost"):
            raise self._refuse(field, f"{host!r} names this machine")
        try:
            async with asyncio.timeout(self.settings.resolve_timeout_seconds):
                addresses = await self._lookup(name)
        except TimeoutError:
            raise EgressUnresolved(field, f"{host} did not resolve in time") from None
        except OSError as exc:
            raise EgressUnresolved(field, f"{host} does not resolve: {exc}") from None
        if not addresses:
            raise EgressUnresolved(field, f"{host} does not resolve")
        for address in addresses:
            if problem := self.problem(address):
                raise self._refuse(field, f"{host} resolves to {problem}")
        return addresses

    async def _lookup(self, name: str) -> list[IpAddress]:
        if self.resolver is not None:
            return await self.resolver(name)
        if self.settings.resolver:
            return await server_resolver(self.settings.resolver, name)
        return await system_resolver(name)

    def check_url(
        self, url: str, *, field: str, kind: UrlKind = "ca", allow_http: bool = False
    ) -> httpx.URL:
        """The URL as written: scheme, port, no credentials, an allowed CA host, and an IP
        literal's class. (Names are judged by `resolve`, at registration and at connect.)"""
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise Unprocessable.field(field, f"not a valid URL: {exc}") from None
        if not parsed.host or parsed.scheme not in ("https", "http"):
            raise Unprocessable.field(field, "must be an absolute https URL")
        if parsed.userinfo:
            raise self._refuse(field, "a URL must not carry credentials")
        plain_ok = allow_http or (kind == "ca" and self.settings.ca_allow_http)
        if parsed.scheme == "http" and not plain_ok:
            setting = "WEBHOOKS__ALLOW_HTTP" if kind == "webhook" else "EGRESS__CA_ALLOW_HTTP"
            raise self._refuse(
                field, f"must use https (an operator may allow http: CERTBROKER_{setting}=true)"
            )
        host = parsed.host.lower()
        if kind == "ca":
            port = parsed.port or (443 if parsed.scheme == "https" else 80)
            if port != 443 and not self.settings.ca_any_port:
                raise self._refuse(field, f"port {port}: CA endpoints are reached on 443")
            patterns = self.settings.ca_host_allowlist
            if not any(fnmatch.fnmatchcase(host, p.lower()) for p in patterns):
                raise self._refuse(
                    field, f"host {host!r} is not an allowed CA endpoint ({', '.join(patterns)})"
                )
        if (literal := parse_ip(host)) is not None:
            self.check_ip(literal, field=field)
        return parsed

    async def check_target(
        self, url: str, *, field: str, kind: UrlKind = "ca", allow_http: bool = False
    ) -> CheckedTarget:
        """`check_url`, then every address of its host."""
        parsed = self.check_url(url, field=field, kind=kind, allow_http=allow_http)
        return CheckedTarget(parsed, await self.resolve(parsed.host, field=field))

    def _refuse(self, field: str, reason: str) -> EgressRefused:
        log.warning("egress refused", extra={"field": field, "reason": reason})
        return EgressRefused(field, reason)
