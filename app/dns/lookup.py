"""Plain DNS reads against one named server: zone apex, NS addresses, TXT values, CNAME target."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

from app.dns.errors import DnsConfigError, DnsPropagationTimeout, DnsQueryFailed


@dataclass(frozen=True, order=True)
class Server:
    """A DNS server endpoint; `host` is always an IP address (dnspython needs one)."""

    host: str
    port: int = 53

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


async def resolve_server(host: str, port: int, check: Any = None) -> Server:
    """Turn a configured host (IP or hostname) into a `Server`. With `check` (the egress
    policy, `app.dns.netpolicy`), the address must pass it, and a name is resolved through the
    policy's resolver; without, names resolve via the OS."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        if check is not None:
            check(host, port)
        return Server(host, port)
    if check is not None and hasattr(check, "resolve"):
        addresses = await check.resolve(host)
        return Server(addresses[0], port)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except OSError as exc:
        raise DnsConfigError(f"DNS server host {host!r} does not resolve: {exc}") from None
    server = Server(str(infos[0][4][0]), port)
    if check is not None:
        check(server.host, server.port)
    return server


async def query(
    server: Server, name: str, rdtype: str, query_timeout: float, *, recursion: bool = False
) -> dns.message.Message:
    """One query, UDP with TCP fallback on truncation; failures become `DnsQueryFailed`."""
    message = dns.message.make_query(name, rdtype)
    if not recursion:
        # Authoritative reads: a server that recursed would not prove it serves the record.
        message.flags &= ~dns.flags.RD
    try:
        response, _ = await dns.asyncquery.udp_with_fallback(
            message, server.host, timeout=query_timeout, port=server.port
        )
    except dns.exception.Timeout:
        raise DnsQueryFailed(
            f"{server} did not answer {name} {rdtype} within {query_timeout}s"
        ) from None
    except (OSError, dns.exception.DNSException) as exc:
        raise DnsQueryFailed(f"{server} failed on {name} {rdtype}: {exc}") from None
    return response


def _rrsets(response: dns.message.Message, owner: dns.name.Name, rdtype: str) -> list:
    wanted = dns.rdatatype.from_text(rdtype)
    return [r for r in response.answer if r.name == owner and r.rdtype == wanted]


async def find_zone(server: Server, fqdn: str, query_timeout: float) -> str:
    """The apex of the zone `server` serves that holds `fqdn`, by asking SOA up the tree.

    Only an SOA in the answer for the exact candidate counts: the SOA in the authority section
    of a negative answer can belong to a CNAME target's zone, not to the name's own zone.
    """
    name = dns.name.from_text(fqdn)
    while name != dns.name.root:
        response = await query(server, name.to_text(), "SOA", query_timeout)
        if response.rcode() == dns.rcode.NOERROR and _rrsets(response, name, "SOA"):
            return name.to_text()
        name = name.parent()
    raise DnsConfigError(
        f"{server} is authoritative for no zone containing {fqdn}; set 'zone' in the config"
    )


async def ns_addresses(server: Server, zone: str, port: int, query_timeout: float) -> list[Server]:
    """Addresses of the zone's NS names as `server` knows them (glue or in-zone A/AAAA)."""
    response = await query(server, zone, "NS", query_timeout)
    targets = [
        rd.target for rrset in _rrsets(response, dns.name.from_text(zone), "NS") for rd in rrset
    ]
    addresses: set[str] = set()
    for target in targets:
        for rdtype in ("A", "AAAA"):
            try:
                answer = await query(server, target.to_text(), rdtype, query_timeout)
            except DnsQueryFailed:
                continue
            addresses.update(
                rd.address for rrset in _rrsets(answer, target, rdtype) for rd in rrset
            )
    return sorted(Server(address, port) for address in addresses)


def split_endpoint(text: str, default_port: int = 53) -> tuple[str, int]:
    """'host', 'host:port' or '[v6]:port' -> (host, port)."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, default_port


async def txt_values(server: Server, fqdn: str, query_timeout: float) -> set[str]:
    """The TXT strings `server` serves at exactly `fqdn` (multi-string records joined)."""
    response = await query(server, fqdn, "TXT", query_timeout)
    rcode = response.rcode()
    if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        raise DnsQueryFailed(f"{server} answered {dns.rcode.to_text(rcode)} for {fqdn} TXT")
    owner = dns.name.from_text(fqdn)
    return {
        b"".join(rd.strings).decode(errors="replace")
        for rrset in _rrsets(response, owner, "TXT")
        for rd in rrset
    }


async def wait_until_served(
    servers: list[Server],
    fqdn: str,
    value: str,
    timeout: float,  # noqa: ASYNC109
    *,
    poll_interval: float,
    query_cap: float,
) -> None:
    """Poll each of `servers` until every one serves `value` in the TXT at `fqdn`, or raise
    DnsPropagationTimeout naming those that do not after `timeout` seconds. A server that
    fails to answer is simply not serving the value yet."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    pending = list(servers)
    while True:
        per_query = max(0.1, min(query_cap, deadline - loop.time()))
        results = await asyncio.gather(
            *(txt_values(server, fqdn, per_query) for server in pending),
            return_exceptions=True,
        )
        pending = [
            server
            for server, values in zip(pending, results, strict=True)
            if isinstance(values, BaseException) or value not in values
        ]
        if not pending:
            return
        remaining = deadline - loop.time()
        if remaining <= 0:
            missing = [str(server) for server in pending]
            raise DnsPropagationTimeout(
                f"TXT {fqdn} not served by {', '.join(missing)} after {timeout}s",
                fqdn=fqdn,
                missing_on=missing,
            )
        await asyncio.sleep(min(poll_interval, remaining))


async def cname_target(server: Server, fqdn: str, query_timeout: float) -> str | None:
    """The CNAME target at `fqdn` (absolute, lower-case), or None when there is no CNAME."""
    response = await query(server, fqdn, "CNAME", query_timeout, recursion=True)
    rcode = response.rcode()
    if rcode == dns.rcode.NXDOMAIN:
        return None
    if rcode != dns.rcode.NOERROR:
        raise DnsQueryFailed(f"{server} answered {dns.rcode.to_text(rcode)} for {fqdn} CNAME")
    for rrset in _rrsets(response, dns.name.from_text(fqdn), "CNAME"):
        for rd in rrset:
            return rd.target.to_text().lower()
    return None
