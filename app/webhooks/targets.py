"""Where webhooks may go: the URL rules, checked at registration and again before each attempt.

Addresses are checked after resolution, every one of them, because a name can point anywhere
and can change between registration and delivery; the delivery then connects to the address
that was checked, so a second lookup (DNS rebinding) cannot swap it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import httpx

from app.settings import WebhookSettings

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud instance metadata answers with credentials: never a target, whatever the settings say.
METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


class TargetRefused(Exception):
    """The URL or an address it resolves to is not allowed; the message says why."""


class TargetUnresolved(Exception):
    """The host name did not resolve (perhaps only for now)."""


@dataclass(frozen=True, slots=True)
class Target:
    url: httpx.URL
    addresses: list[IpAddress]  # every address of the host, all checked; connect to these


def address_problem(address: IpAddress, policy: WebhookSettings) -> str | None:
    """What kind of address `address` is, if webhooks may not go there ("a loopback
    address"), or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address in METADATA:
        return "a cloud metadata address"
    if address.is_unspecified or address.is_multicast:
        return "not a unicast address"
    if address.is_global or policy.allow_private_networks:
        return None
    for kind in ("loopback", "link_local", "private", "reserved"):
        if getattr(address, f"is_{kind}"):
            return f"a {kind.replace('_', '-')} address"
    return "not a public address"


def url_problem(url: str, policy: WebhookSettings) -> str | None:
    """Why `url` is not acceptable as written (before any lookup), or None."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        return f"not a valid URL: {exc}"
    allowed = ("https", "http") if policy.allow_http else ("https",)
    if parsed.scheme not in allowed:
        return "must use https" if parsed.scheme == "http" else f"must be {' or '.join(allowed)}"
    if not parsed.host:
        return "has no host"
    if parsed.userinfo:
        return "must not carry credentials; the signature authenticates the broker"
    return None


async def resolve(host: str, port: int) -> list[IpAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise TargetUnresolved(f"{host} does not resolve: {exc.strerror or exc}") from None
    found = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not found:
        raise TargetUnresolved(f"{host} does not resolve")
    return found


async def check_target(url: str, policy: WebhookSettings) -> Target:
    """The URL and the address to send to, if the URL and every address of its host pass."""
    problem = url_problem(url, policy)
    if problem:
        raise TargetRefused(problem)
    parsed = httpx.URL(url)
    addresses = await resolve(parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80))
    for address in addresses:
        kind = address_problem(address, policy)
        if kind is None:
            continue
        if parsed.host == str(address):
            raise TargetRefused(f"{address} is {kind}")
        raise TargetRefused(f"{parsed.host} resolves to {address}, {kind}")
    return Target(url=parsed, addresses=addresses)
