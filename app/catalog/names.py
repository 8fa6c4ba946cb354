"""DNS names as the broker accepts them: normalised, checked, matched against allowed domains."""

from __future__ import annotations

import ipaddress
import re

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalise(name: str) -> str:
    """Lowercase, no trailing dot, IDNs as A-labels."""
    name = name.strip().rstrip(".").lower()
    try:
        return name.encode("idna").decode("ascii") if not name.isascii() else name
    except UnicodeError:
        return name


def name_problem(name: str) -> str | None:
    """Why `name` cannot be in a public TLS certificate, or None when it can."""
    if not name:
        return "empty name"
    if len(name) > 253:
        return "longer than 253 characters"
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        return "IP addresses are not supported; use a DNS name"
    labels = name.split(".")
    if len(labels) < 2:
        return "not a fully qualified domain name"
    for index, label in enumerate(labels):
        if label == "*" and index == 0:
            continue
        if "*" in label:
            return "a wildcard is only allowed as the whole leftmost label (*.example.com)"
        if not _LABEL.match(label):
            return f"label {label!r} is not a valid DNS label"
    if labels[-1].isdigit():
        return "the top-level label cannot be numeric"
    return None


def is_wildcard(name: str) -> bool:
    return name.startswith("*.")


def base_of(name: str) -> str:
    return name[2:] if is_wildcard(name) else name


def www_twin(name: str) -> str:
    return name[4:] if name.startswith("www.") else f"www.{name}"


def covered_by(name: str, domain: str) -> bool:
    """True when `name` (maybe a wildcard) is `domain` or lies under it."""
    base = base_of(name)
    domain = normalise(domain)
    return base == domain or base.endswith("." + domain)
