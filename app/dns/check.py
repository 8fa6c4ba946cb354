"""Try an organization's DNS settings: create a test TXT record, see it served, delete it.

Runs with no database connection held (the caller releases it first), within one overall
deadline, and reports each step in words a team can act on. Nothing is ordered.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import dns.exception

from app.dns.base import DnsProvider, DnsProviderRegistry
from app.dns.delegation import CnameDelegationProvider
from app.dns.errors import DnsProviderError
from app.dns.lexicon import LexiconProvider
from app.dns.rfc2136 import Rfc2136Provider
from app.dns.schemas import DnsCheckReport, DnsCheckStep

CLEANUP_SECONDS = 10.0


class _Report:
    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.steps: list[DnsCheckStep] = []
        self.record: str | None = None

    def add(self, step: str, ok: bool, detail: str) -> bool:
        self.steps.append(DnsCheckStep(step=step, ok=ok, detail=detail))  # type: ignore[arg-type]
        return ok

    def result(self) -> DnsCheckReport:
        ok = bool(self.steps) and all(s.ok for s in self.steps)
        return DnsCheckReport(ok=ok, provider=self.provider, record=self.record, steps=self.steps)


def _writer(provider: DnsProvider) -> DnsProvider:
    """The provider that writes records (the inner one behind a delegation)."""
    return provider.inner if isinstance(provider, CnameDelegationProvider) else provider


async def _zone_step(report: _Report, writer: DnsProvider, name: str) -> str | None:
    """Credentials and the zone, where the provider can tell them apart before writing."""
    try:
        if isinstance(writer, LexiconProvider):
            zone = writer.zone_for(name)
            await writer.authenticate(zone)
            report.add("credentials", True, "the provider API accepted the credentials")
            report.add("zone", True, f"zone {zone} found at the provider")
            return zone
        if isinstance(writer, Rfc2136Provider):
            server, zone = await writer.zone_of(name)
            report.add("zone", True, f"{server} is authoritative for zone {zone}")
            return zone
    except DnsProviderError as exc:
        message = str(exc)
        step = "credentials" if "credentials" in message else "zone"
        report.add(step, False, message)
        return None
    return name


async def run_check(
    registry: DnsProviderRegistry,
    kind: str,
    config: dict[str, Any],
    name: str,
    deadline_seconds: float,
) -> DnsCheckReport:
    """`name`: where to test (a name in the zone, or the validation zone for a delegation)."""
    report = _Report(kind)
    try:
        provider = registry.create(kind, config)
    except (LookupError, DnsProviderError) as exc:
        report.add("settings", False, str(exc))
        return report.result()
    report.add("settings", True, f"{kind} settings are complete")
    writer = _writer(provider)
    if isinstance(provider, CnameDelegationProvider):
        name = provider.validation_zone  # records live in the broker's validation zone
    record = f"_certbroker-check-{secrets.token_hex(6)}.{name.rstrip('.')}."
    report.record = record
    value = secrets.token_urlsafe(24)
    created = False
    try:
        async with asyncio.timeout(deadline_seconds):
            if await _zone_step(report, writer, record) is None:
                return report.result()
            try:
                await writer.present_txt(record, value)
            except DnsProviderError as exc:
                report.add("create", False, str(exc))
                return report.result()
            created = True
            report.add("create", True, f"TXT {record} created")
            try:
                await writer.wait_for_txt(record, value, timeout=max(1.0, deadline_seconds / 2))
            except DnsProviderError as exc:
                report.add("visible", False, str(exc))
            else:
                report.add("visible", True, "served by every authoritative server checked")
    except (dns.exception.DNSException, ValueError) as exc:
        report.add("settings", False, f"invalid name or address: {exc}")
    except TimeoutError:
        report.add(
            "visible" if created else "create",
            False,
            f"gave up after {deadline_seconds:g}s: the DNS servers or the provider API are slow"
            " or unreachable",
        )
    finally:
        if created:
            try:
                async with asyncio.timeout(CLEANUP_SECONDS):
                    await writer.cleanup_txt(record, value)
                report.add("delete", True, f"TXT {record} deleted")
            except (DnsProviderError, TimeoutError) as exc:
                report.add("delete", False, f"could not delete TXT {record}: {exc or 'timeout'}")
    return report.result()
