"""RFC 2136 dynamic updates signed with TSIG: the provider for BIND, Knot, PowerDNS and kin."""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass, field
from typing import Any

import dns.asyncquery
import dns.exception
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.tsig
import dns.update

from app.dns.errors import (
    DnsConfigError,
    DnsQueryFailed,
    DnsUpdateRefused,
)
from app.dns.lexicon_http import EgressCheck
from app.dns.lookup import (
    Server,
    find_zone,
    ns_addresses,
    resolve_server,
    split_endpoint,
    wait_until_served,
)

log = logging.getLogger("certbroker.dns")

ZONE_CACHE_SIZE = 1024

ALGORITHMS = {
    "hmac-sha1": dns.tsig.HMAC_SHA1,
    "hmac-sha224": dns.tsig.HMAC_SHA224,
    "hmac-sha256": dns.tsig.HMAC_SHA256,
    "hmac-sha384": dns.tsig.HMAC_SHA384,
    "hmac-sha512": dns.tsig.HMAC_SHA512,
}
# The TSIG error a server put in its reply, as dnspython raises it while reading that reply.
PEER_TSIG_ERRORS = {
    dns.tsig.PeerBadKey: "NOTAUTH (BADKEY)",
    dns.tsig.PeerBadSignature: "NOTAUTH (BADSIG)",
    dns.tsig.PeerBadTime: "NOTAUTH (BADTIME)",
    dns.tsig.PeerBadTruncation: "NOTAUTH (BADTRUNC)",
}


class _RedactedKey(dns.tsig.Key):
    # dnspython's Key.__repr__ prints the secret; tracebacks with locals must not.
    def __repr__(self) -> str:
        return f"<TSIG key {self.name} {self.algorithm} secret=***>"


@dataclass(frozen=True)
class Rfc2136Config:
    """Validated provider settings. Without a TSIG key, updates go unsigned (IP-based ACLs)."""

    server: str
    port: int = 53
    zone: str | None = None
    tsig_key_name: str | None = None
    tsig_secret: str | None = field(default=None, repr=False)
    tsig_algorithm: str = "hmac-sha256"
    ttl: int = 60
    timeout: float = 10.0
    poll_interval: float = 1.0
    authoritative_servers: tuple[tuple[str, int], ...] = ()

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> Rfc2136Config:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(config) - known)
        if unknown:
            raise DnsConfigError(f"rfc2136: unknown config keys {unknown}; known: {sorted(known)}")
        if not config.get("server"):
            raise DnsConfigError("rfc2136: 'server' is required")
        if bool(config.get("tsig_key_name")) != bool(config.get("tsig_secret")):
            raise DnsConfigError("rfc2136: set both 'tsig_key_name' and 'tsig_secret', or neither")
        algorithm = str(config.get("tsig_algorithm", "hmac-sha256")).lower().rstrip(".")
        if algorithm not in ALGORITHMS:
            raise DnsConfigError(f"rfc2136: 'tsig_algorithm' must be one of {sorted(ALGORITHMS)}")
        try:
            port = int(config.get("port", 53))
            zone = config.get("zone")
            return cls(
                server=str(config["server"]),
                port=port,
                zone=dns.name.from_text(zone).to_text() if zone else None,
                tsig_key_name=config.get("tsig_key_name"),
                tsig_secret=config.get("tsig_secret"),
                tsig_algorithm=algorithm,
                ttl=int(config.get("ttl", 60)),
                timeout=float(config.get("timeout", 10.0)),
                poll_interval=float(config.get("poll_interval", 1.0)),
                authoritative_servers=tuple(
                    split_endpoint(str(entry), port)
                    for entry in config.get("authoritative_servers", ())
                ),
            )
        except (TypeError, ValueError, dns.exception.DNSException) as exc:
            # The message names the bad key or value; tsig_secret is never parsed here.
            raise DnsConfigError(f"rfc2136: invalid config: {exc}") from None


def _tsig_key(config: Rfc2136Config) -> _RedactedKey | None:
    if not config.tsig_key_name or not config.tsig_secret:
        return None
    text = "".join(config.tsig_secret.split())
    try:
        # BIND writes secrets padded; tolerate a copy that lost its '='.
        secret = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise DnsConfigError("rfc2136: 'tsig_secret' is not valid base64") from None
    return _RedactedKey(config.tsig_key_name, secret, ALGORITHMS[config.tsig_algorithm])


def _txt_rdata(value: str) -> dns.rdtypes.ANY.TXT.TXT:
    raw = value.encode()
    # One TXT string holds at most 255 octets; longer values are split, resolvers rejoin them.
    chunks = [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]
    return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, chunks)


def _absolute(fqdn: str) -> str:
    return dns.name.from_text(fqdn).to_text()


class Rfc2136Provider:
    """Adds and removes single TXT rdatas, so several values at one name coexist."""

    name = "rfc2136"

    def __init__(self, config: Rfc2136Config, check: EgressCheck | None = None) -> None:
        self._config = config
        self._check = check
        self._key = _tsig_key(config)
        self._zones: dict[str, str] = {}

    @classmethod
    def from_config(
        cls, config: dict[str, Any], check: EgressCheck | None = None
    ) -> Rfc2136Provider:
        return cls(Rfc2136Config.from_dict(config), check)

    def __repr__(self) -> str:
        c = self._config
        return f"Rfc2136Provider(server={c.server}:{c.port}, zone={c.zone}, key={c.tsig_key_name})"

    async def present_txt(self, fqdn: str, value: str) -> None:
        await self._update(_absolute(fqdn), value, add=True)

    async def cleanup_txt(self, fqdn: str, value: str) -> None:
        # Deleting an absent rdata is a no-op NOERROR in RFC 2136, so cleanup is idempotent.
        await self._update(_absolute(fqdn), value, add=False)

    async def wait_for_txt(self, fqdn: str, value: str, timeout: float) -> None:  # noqa: ASYNC109
        fqdn = _absolute(fqdn)
        await wait_until_served(
            await self._authoritative_servers(fqdn),
            fqdn,
            value,
            timeout,
            poll_interval=self._config.poll_interval,
            query_cap=self._config.timeout,
        )

    async def zone_of(self, fqdn: str) -> tuple[Server, str]:
        """The update server and the zone it is authoritative for that holds `fqdn`."""
        server = await self._server()
        return server, await self._zone_for(server, _absolute(fqdn))

    async def _server(self) -> Server:
        return await resolve_server(self._config.server, self._config.port, self._check)

    def _allowed(self, servers: list[Server]) -> list[Server]:
        if self._check is None:
            return servers
        allowed = []
        for server in servers:
            try:
                self._check(server.host, server.port)
            except OSError:
                continue  # an NS address the zone's data points at, not allowed: not queried
            allowed.append(server)
        return allowed

    async def _zone_for(self, server: Server, fqdn: str) -> str:
        if self._config.zone:
            return self._config.zone
        if fqdn not in self._zones:
            if len(self._zones) >= ZONE_CACHE_SIZE:
                self._zones.clear()  # a long-lived provider sees ever new names; stay bounded
            self._zones[fqdn] = await find_zone(server, fqdn, self._config.timeout)
        return self._zones[fqdn]

    async def _authoritative_servers(self, fqdn: str) -> list[Server]:
        if self._config.authoritative_servers:
            listed = [await resolve_server(h, p) for h, p in self._config.authoritative_servers]
            return self._allowed(listed) or [await self._server()]
        server = await self._server()
        zone = await self._zone_for(server, fqdn)
        # NS addresses get the configured port: it differs from 53 only in labs and tests,
        # where every server of the zone listens on it. A hidden primary whose NS names it
        # cannot resolve (out-of-zone names, recursion off) is checked itself instead.
        found = await ns_addresses(server, zone, self._config.port, self._config.timeout)
        return self._allowed(found) or [server]

    async def _update(self, fqdn: str, value: str, *, add: bool) -> None:
        server = await self._server()
        zone = await self._zone_for(server, fqdn)
        update = dns.update.UpdateMessage(zone, keyring=self._key)
        if add:
            update.add(fqdn, self._config.ttl, _txt_rdata(value))
        else:
            update.delete(fqdn, _txt_rdata(value))
        verb = "add" if add else "delete"
        try:
            # TCP: an update is not idempotent-safe to retransmit blindly the way UDP would.
            response = await dns.asyncquery.tcp(
                update, server.host, timeout=self._config.timeout, port=server.port
            )
        except tuple(PEER_TSIG_ERRORS) as exc:
            raise self._refused(PEER_TSIG_ERRORS[type(exc)], zone, server) from None
        except dns.exception.Timeout:
            raise DnsQueryFailed(
                f"{server} did not answer the update ({verb} TXT {fqdn}) in {self._config.timeout}s"
            ) from None
        except dns.tsig.PeerError as exc:
            raise self._refused(f"NOTAUTH ({type(exc).__name__})", zone, server) from None
        except (OSError, dns.exception.DNSException) as exc:
            # Includes a reply whose TSIG we cannot verify: the exception never holds the secret.
            raise DnsQueryFailed(f"update ({verb} TXT {fqdn}) to {server} failed: {exc}") from None
        rcode = response.rcode()
        if rcode != dns.rcode.NOERROR:
            raise self._refused(dns.rcode.to_text(rcode), zone, server)
        log.info(
            "dns update: %s TXT %s",
            verb,
            fqdn,
            extra={
                "dns_server": str(server),
                "dns_zone": zone,
                "tsig_key": self._config.tsig_key_name,
            },
        )

    def _refused(self, rcode: str, zone: str, server: Server) -> DnsUpdateRefused:
        key = self._config.tsig_key_name
        if rcode == "REFUSED" and key is None:
            hint = "the server wants a TSIG key for updates to this zone and none is configured"
        elif rcode == "REFUSED":
            hint = f"the TSIG key {key} is not allowed to update this zone"
        elif rcode == "NOTAUTH":
            hint = "the server is not authoritative for this zone, or rejects the TSIG key"
        elif rcode.startswith("NOTAUTH"):
            hint = f"the server does not accept the TSIG key {key} (unknown name or wrong secret)"
        elif rcode == "NOTZONE":
            hint = "the name is outside the configured zone"
        else:
            hint = "see the server's log"
        return DnsUpdateRefused(
            f"{server} refused the update to zone {zone}: {rcode}: {hint}",
            rcode=rcode,
            zone=zone,
            server=str(server),
        )
