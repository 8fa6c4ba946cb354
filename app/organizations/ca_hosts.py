"""Which CA endpoints an organization may point the broker at.

Organization settings come from tenants; a URL there makes the broker's workers send requests
(with credentials) to it. Lemur's SSRF through the ACME directory URL is the lesson: only hosts
on the deployment's allow-list, https in production, loopback only outside production.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from urllib.parse import urlsplit

from app.errors import Unprocessable
from app.settings import Settings


def check_ca_url(url: str, field: str, settings: Settings, *, https_only: bool = False) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise Unprocessable.field(field, "must be an absolute http(s) URL")
    host = parts.hostname.lower()
    loopback = _is_loopback(host)
    if parts.scheme != "https" and (https_only or settings.env == "production" or not loopback):
        raise Unprocessable.field(field, "must use https")
    if loopback and settings.env != "production":
        return
    if not any(fnmatch.fnmatch(host, pattern) for pattern in settings.egress.ca_host_allowlist):
        allowed = ", ".join(settings.egress.ca_host_allowlist)
        raise Unprocessable.field(
            field, f"host {host!r} is not an allowed CA endpoint (allowed: {allowed})"
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
