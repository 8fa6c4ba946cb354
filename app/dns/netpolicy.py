"""Which addresses DNS work may reach: the deployment's egress policy, seen as one callable.

Tenant settings name DNS servers, resolvers and provider API endpoints; every address the
broker would send to is first passed to `check(ip, port)`, which raises `EgressRefused`.
Until the shared egress policy (`runtime.egress`) is present, this module's own rule applies:
public addresses only, plus loopback outside production (the sandbox's and tests' servers).
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from app.dns.lexicon_http import EgressCheck, EgressRefused

log = logging.getLogger("certbroker.dns")


def _embedded_v4(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv4Address):
        return None
    return (
        address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
    )


def fallback_check(allow_loopback: bool) -> EgressCheck:
    def check(ip: str, port: int) -> None:
        try:
            address = ipaddress.ip_address(ip.split("%")[0])
        except ValueError:
            raise EgressRefused(f"{ip} is not an IP address") from None
        inner = _embedded_v4(address)
        judged = inner or address
        if judged.is_loopback and allow_loopback:
            return
        if (judged.is_global and address.is_global) or (inner is not None and inner.is_global):
            return
        log.warning("egress refused: %s port %s", ip, port, extra={"egress_target": ip})
        raise EgressRefused(f"{ip} port {port} is not an address DNS settings may reach")

    return check


def dns_egress_check(runtime: Any) -> EgressCheck:
    """The check for this deployment: the shared egress policy when present, else the rule above."""
    egress = getattr(runtime, "egress", None)
    if egress is not None and hasattr(egress, "check_ip"):
        shared = egress.check_ip

        def check(ip: str, port: int) -> None:
            try:
                shared(ip, port)
            except EgressRefused:
                raise
            except Exception as exc:
                raise EgressRefused(str(exc)) from None

        return check
    return fallback_check(allow_loopback=runtime.settings.env != "production")
