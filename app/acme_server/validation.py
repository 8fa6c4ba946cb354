"""The broker's own checks of a requester's control: HTTP-01 (RFC 8555 §8.3), DNS-01 (§8.4).

Both return None when the answer is right, else an ACME problem kind and a reason. Lookups go
to the configured resolvers (`acme_server.resolvers`), or the system's when none are set.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import socket

import dns.asyncresolver
import dns.exception
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver
import httpx

from app.acme_server.jws import b64url
from app.dns.errors import DnsQueryFailed
from app.dns.lookup import Server, query
from app.egress.policy import EgressPolicy, EgressRefused
from app.settings import AcmeServerSettings

MAX_BODY = 8192
Failure = tuple[str, str] | None


def dns01_value(key_authorization: str) -> str:
    return b64url(hashlib.sha256(key_authorization.encode()).digest())


def _servers(settings: AcmeServerSettings) -> list[Server]:
    servers = []
    for entry in settings.resolvers:
        host, _, port = entry.rpartition(":")
        servers.append(Server(host.strip("[]"), int(port)))
    return servers


async def _records(settings: AcmeServerSettings, name: str, rdtype: str) -> list[str]:
    """Values of `name`'s `rdtype` records (TXT strings joined), CNAMEs followed by the server."""
    servers = _servers(settings)
    timeout = settings.validation_timeout_seconds
    if not servers:
        resolver = dns.asyncresolver.Resolver()
        try:
            answer = await resolver.resolve(name, rdtype, lifetime=timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as exc:
            raise DnsQueryFailed(f"{name} {rdtype}: {exc}") from None
        return [_text(rd) for rd in answer]
    response = await query(servers[0], name, rdtype, timeout, recursion=True)
    if response.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        raise DnsQueryFailed(f"{name} {rdtype}: {dns.rcode.to_text(response.rcode())}")
    wanted = dns.rdatatype.from_text(rdtype)
    return [_text(rd) for rrset in response.answer if rrset.rdtype == wanted for rd in rrset]


def _text(rdata: object) -> str:
    strings = getattr(rdata, "strings", None)
    if strings is not None:
        return b"".join(strings).decode(errors="replace")
    return str(getattr(rdata, "address", rdata))


async def check_dns01(settings: AcmeServerSettings, name: str, key_authorization: str) -> Failure:
    fqdn = f"_acme-challenge.{name}."
    try:
        values = await _records(settings, fqdn, "TXT")
    except DnsQueryFailed as exc:
        return "dns", f"could not look up TXT {fqdn}: {exc}"
    if dns01_value(key_authorization) in values:
        return None
    if not values:
        return "unauthorized", f"no TXT record at {fqdn}"
    return "unauthorized", f"the TXT records at {fqdn} do not hold the expected value"


async def _address(settings: AcmeServerSettings, name: str) -> str:
    if _servers(settings):
        for rdtype in ("A", "AAAA"):
            found = await _records(settings, name, rdtype)
            if found:
                return found[0]
        raise DnsQueryFailed(f"{name} has no A or AAAA record")
    infos = await asyncio.get_running_loop().getaddrinfo(
        name, settings.http01_port, type=socket.SOCK_STREAM
    )
    return str(infos[0][4][0])


async def check_http01(
    settings: AcmeServerSettings,
    egress: EgressPolicy,
    name: str,
    token: str,
    key_authorization: str,
) -> Failure:
    """GET the token from the name's address, if the egress policy lets the broker go there
    (the same policy as every other outbound connection of the broker)."""
    try:
        address = await _address(settings, name)
        egress.check_ip(address, field="http-01")
    except (DnsQueryFailed, OSError) as exc:
        return "dns", f"could not resolve {name}: {exc}"
    except EgressRefused as exc:
        return "connection", f"the broker may not connect to {name}: {exc.detail}"
    host = f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    port = settings.http01_port
    url = f"http://{host}:{port}/.well-known/acme-challenge/{token}"
    host_header = name if port == 80 else f"{name}:{port}"
    try:
        async with (
            httpx.AsyncClient(timeout=settings.validation_timeout_seconds) as http,
            http.stream("GET", url, headers={"Host": host_header}) as answer,
        ):
            body = b""
            async for chunk in answer.aiter_bytes():
                body += chunk
                if len(body) > MAX_BODY:
                    break
    except httpx.HTTPError as exc:
        return "connection", f"fetching http://{name}/.well-known/acme-challenge/{token}: {exc}"
    if answer.status_code != 200:
        return (
            "unauthorized",
            f"http://{name}/.well-known/acme-challenge/{token} answered {answer.status_code}",
        )
    if body.decode(errors="replace").strip() != key_authorization:
        return (
            "incorrectResponse",
            f"http://{name}/.well-known/acme-challenge/{token} is not the key authorization",
        )
    return None
