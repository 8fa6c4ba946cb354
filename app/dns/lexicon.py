"""DNS-01 through any of dns-lexicon's provider APIs (Cloudflare, Azure, PowerDNS, ...).

Lexicon is synchronous: every call runs in a small, bounded thread pool with a deadline, its
HTTP under the egress policy (`app.dns.lexicon_http`), and at most `concurrency` calls per
configured provider at once, so a slow provider API never stalls the event loop or floods the
pool. The Lexicon `Client` is bypassed on purpose: it would guess the zone by downloading the
public suffix list and read LEXICON_* environment variables; the broker builds the provider
itself with exactly the tenant's options.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import dns.asyncresolver
import dns.exception
import dns.name
import tldextract
from lexicon._private.discovery import load_provider_module
from lexicon.config import ConfigResolver, DictConfigSource

from app.dns import lexicon_http
from app.dns.errors import DnsConfigError, DnsProviderError, DnsQueryFailed
from app.dns.lexicon_catalog import catalog
from app.dns.lexicon_http import EgressCheck
from app.dns.lookup import Server, resolve_server, split_endpoint, wait_until_served

log = logging.getLogger("certbroker.dns")

T = TypeVar("T")

# Shared by every lexicon provider in the process: a hung provider API holds one of these
# threads until its socket timeout, never an unbounded number of them.
_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="lexicon")
# The public suffix list bundled with tldextract; never fetched.
_EXTRACT = tldextract.TLDExtract(
    suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
)


@dataclass(frozen=True)
class LexiconConfig:
    lexicon_provider: str
    options: dict[str, str] = field(default_factory=dict, repr=False)  # credentials included
    zone: str | None = None
    ttl: int = 60
    timeout: float = 30.0
    poll_interval: float = 2.0
    concurrency: int = 4
    authoritative_servers: tuple[tuple[str, int], ...] = ()

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> LexiconConfig:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(config) - known)
        if unknown:
            raise DnsConfigError(f"lexicon: unknown config keys {unknown}; known: {sorted(known)}")
        name = config.get("lexicon_provider")
        if not name:
            raise DnsConfigError("lexicon: 'lexicon_provider' is required")
        if name not in catalog():
            raise DnsConfigError(f"lexicon: unknown provider {name!r}")
        try:
            zone = config.get("zone")
            return cls(
                lexicon_provider=str(name),
                options={str(k): str(v) for k, v in (config.get("options") or {}).items()},
                zone=dns.name.from_text(zone).to_text() if zone else None,
                ttl=int(config.get("ttl", 60)),
                timeout=float(config.get("timeout", 30.0)),
                poll_interval=float(config.get("poll_interval", 2.0)),
                concurrency=max(1, int(config.get("concurrency", 4))),
                authoritative_servers=tuple(
                    split_endpoint(str(e)) for e in config.get("authoritative_servers", ())
                ),
            )
        except (TypeError, ValueError, dns.exception.DNSException) as exc:
            raise DnsConfigError(f"lexicon: invalid config: {exc}") from None


def _absolute(fqdn: str) -> str:
    return dns.name.from_text(fqdn).to_text()


def guess_zone(fqdn: str) -> str:
    """The registered domain holding `fqdn` (offline public suffix list), absolute."""
    parts = _EXTRACT(fqdn.rstrip("."))
    if not parts.domain or not parts.suffix:
        raise DnsConfigError(f"cannot tell the zone of {fqdn}; set 'zone' in the DNS settings")
    return f"{parts.domain}.{parts.suffix}."


class LexiconProvider:
    """Adds and removes single TXT values through a lexicon provider, one zone per call."""

    name = "lexicon"

    def __init__(self, config: LexiconConfig, check: EgressCheck) -> None:
        self._config = config
        self._check = check
        self._slots = asyncio.Semaphore(config.concurrency)
        # Lexicon's providers read-modify-write an RRset: one change per name at a time.
        self._locks: dict[str, asyncio.Lock] = {}

    @classmethod
    def from_config(cls, config: dict[str, Any], check: EgressCheck) -> LexiconProvider:
        return cls(LexiconConfig.from_dict(config), check)

    def __repr__(self) -> str:
        return f"LexiconProvider({self._config.lexicon_provider}, zone={self._config.zone})"

    def zone_for(self, fqdn: str) -> str:
        fqdn = _absolute(fqdn)
        zone = self._config.zone or guess_zone(fqdn)
        if not dns.name.from_text(fqdn).is_subdomain(dns.name.from_text(zone)):
            raise DnsConfigError(f"{fqdn} is not in the configured zone {zone}")
        return zone

    # -- the three DnsProvider verbs ------------------------------------------------------

    async def present_txt(self, fqdn: str, value: str) -> None:
        fqdn = _absolute(fqdn)
        async with self._lock(fqdn):
            for _ in range(2):
                await self._call(fqdn, "create_record", "TXT", fqdn.rstrip("."), value)
                if value in await self.list_txt(fqdn):
                    log.info("dns lexicon: add TXT %s", fqdn, extra=self._log_extra(fqdn))
                    return
            raise DnsProviderError(
                f"{self._config.lexicon_provider} accepted TXT {fqdn} but does not list it"
            )

    async def cleanup_txt(self, fqdn: str, value: str) -> None:
        fqdn = _absolute(fqdn)
        async with self._lock(fqdn):
            if value not in await self.list_txt(fqdn):
                return  # absent is fine
            await self._call(fqdn, "delete_record", None, "TXT", fqdn.rstrip("."), value)
            log.info("dns lexicon: delete TXT %s", fqdn, extra=self._log_extra(fqdn))

    async def wait_for_txt(self, fqdn: str, value: str, timeout: float) -> None:  # noqa: ASYNC109
        fqdn = _absolute(fqdn)
        await wait_until_served(
            await self.authoritative_servers(fqdn),
            fqdn,
            value,
            timeout,
            poll_interval=self._config.poll_interval,
            query_cap=5.0,
        )

    # -- helpers also used by the settings check --------------------------------------------

    async def list_txt(self, fqdn: str) -> set[str]:
        fqdn = _absolute(fqdn)
        records = await self._call(fqdn, "list_records", "TXT", fqdn.rstrip("."))
        return {str(r.get("content", "")).strip('"') for r in records or ()}

    async def authenticate(self, zone: str) -> None:
        """Credentials accepted and the zone found at the provider (lexicon's authenticate)."""
        await self._call(_absolute(zone), None)

    async def authoritative_servers(self, fqdn: str) -> list[Server]:
        """Where to confirm a record: the configured servers, else the zone's NS addresses as
        the system resolver knows them, each allowed by the egress policy."""
        if self._config.authoritative_servers:
            servers = [await resolve_server(h, p) for h, p in self._config.authoritative_servers]
        else:
            servers = await self._ns_servers(self.zone_for(fqdn))
        allowed = []
        for server in servers:
            try:
                self._check(server.host, server.port)
            except OSError:
                continue
            allowed.append(server)
        if not allowed:
            raise DnsQueryFailed(
                f"no authoritative server of the zone of {fqdn} may be queried "
                "(none found, or the egress policy refuses their addresses)"
            )
        return allowed

    async def _ns_servers(self, zone: str) -> list[Server]:
        resolver = dns.asyncresolver.Resolver()
        resolver.lifetime = 5.0
        try:
            answer = await resolver.resolve(zone, "NS")
            names = [rd.target.to_text() for rd in answer]
            found: set[str] = set()
            for ns in names:
                for rdtype in ("A", "AAAA"):
                    try:
                        found.update(rd.address for rd in await resolver.resolve(ns, rdtype))
                    except dns.exception.DNSException:
                        continue
        except dns.exception.DNSException as exc:
            raise DnsQueryFailed(f"cannot find the name servers of {zone}: {exc}") from None
        return sorted(Server(address, 53) for address in found)

    # -- running lexicon --------------------------------------------------------------------

    def _lock(self, fqdn: str) -> asyncio.Lock:
        if len(self._locks) > 1024:
            self._locks = {k: v for k, v in self._locks.items() if v.locked()}
        return self._locks.setdefault(fqdn, asyncio.Lock())

    def _log_extra(self, fqdn: str) -> dict[str, Any]:
        return {"dns_provider": self._config.lexicon_provider, "dns_zone": self.zone_for(fqdn)}

    def _resolver(self, zone: str) -> ConfigResolver:
        name = self._config.lexicon_provider
        return ConfigResolver().with_config_source(
            DictConfigSource(
                {
                    "provider_name": name,
                    "domain": zone.rstrip("."),
                    "ttl": self._config.ttl,
                    name: dict(self._config.options),
                }
            )
        )

    def _run(self, zone: str, method: str | None, args: tuple[Any, ...]) -> Any:
        """In a pool thread: build the provider, authenticate, call `method`."""
        with lexicon_http.guarded(self._check, io_timeout=self._config.timeout):
            provider_class = load_provider_module(self._config.lexicon_provider).Provider
            provider = provider_class(self._resolver(zone))
            provider.authenticate()
            try:
                return getattr(provider, method)(*args) if method else None
            finally:
                provider.cleanup()

    async def _call(self, fqdn: str, method: str | None, *args: Any) -> Any:
        zone = self.zone_for(fqdn)
        loop = asyncio.get_running_loop()
        work: Callable[[], Any] = functools.partial(self._run, zone, method, args)
        async with self._slots:
            try:
                return await asyncio.wait_for(
                    loop.run_in_executor(_POOL, _capture(work)), self._config.timeout
                )
            except TimeoutError:
                raise DnsQueryFailed(
                    f"{self._config.lexicon_provider} did not answer within"
                    f" {self._config.timeout}s (zone {zone})"
                ) from None
            except _Failed as failed:
                raise self._error(zone, method, failed.error, failed.refusal) from None

    def _error(
        self, zone: str, method: str | None, exc: BaseException, refusal: str | None
    ) -> DnsProviderError:
        name = self._config.lexicon_provider
        if refusal:
            return DnsQueryFailed(f"{name}: egress policy: {refusal}")
        if isinstance(exc, DnsProviderError):
            return exc
        status = getattr(getattr(exc, "response", None), "status_code", None)
        step = "authentication / zone lookup" if method is None else method.replace("_", " ")
        if status in (401, 403):
            return DnsConfigError(f"{name}: the credentials were refused (HTTP {status})")
        if status == 404 and method is None:
            return DnsConfigError(f"{name}: zone {zone} not found at the provider")
        kind = type(exc).__name__
        detail = f"HTTP {status}" if status else _safe(str(exc), self._config.options.values())
        return DnsQueryFailed(f"{name}: {step} for zone {zone} failed: {kind}: {detail}")


class _Failed(Exception):
    def __init__(self, error: BaseException, refusal: str | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.refusal = refusal


def _capture(work: Callable[[], T]) -> Callable[[], T]:
    """Run `work`; a failure comes back with the egress refusal seen in that same thread."""

    def run() -> T:
        try:
            return work()
        except Exception as exc:
            raise _Failed(exc, lexicon_http.last_refusal()) from None

    return run


def _safe(message: str, secrets: Any) -> str:
    """An exception message fit to show: no option value, no query string, short."""
    for secret in secrets:
        if len(secret) >= 4:
            message = message.replace(secret, "***")
    message = re.sub(r"\?[^\s'\"),]*", "?…", message)
    return " ".join(message.split())[:300]
