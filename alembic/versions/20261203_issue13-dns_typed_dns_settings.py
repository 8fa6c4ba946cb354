"""typed DNS settings: convert free-form organization DNS settings to the closed shapes

Before: `dns_provider` any string, `dns` the provider's config as given (a delegation's inner
provider under `inner_provider` / `inner_config`). After: `rfc2136`, `lexicon` or
`cname-delegation`, unknown keys dropped, numbers within the API's bounds, a delegation's
inner settings under `inner` with their own `provider`. Settings naming a provider that never
existed are removed (they could not have worked). Encrypted secrets stay as they are: the
old `inner_config.` secret paths are read as `inner.`.

Revision ID: c13d0a5e7f21
Revises: c11e0a7b5d21
Create Date: 2026-12-03 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from alembic import op

revision: str = "c13d0a5e7f21"
down_revision: str | None = "c11e0a7b5d21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RFC2136_KEYS = {
    "server",
    "port",
    "zone",
    "tsig_key_name",
    "tsig_algorithm",
    "ttl",
    "timeout",
    "poll_interval",
    "authoritative_servers",
}
BOUNDS = {
    "port": (1, 65535),
    "resolver_port": (1, 65535),
    "ttl": (1, 86400),
    "timeout": (0.1, 30),
    "poll_interval": (0.1, 30),
}
ALGORITHMS = {"hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"}


def _bounded(key: str, value: Any) -> Any:
    low, high = BOUNDS[key]
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    number = min(max(number, low), high)
    return int(number) if key in ("port", "resolver_port", "ttl") else number


def _rfc2136(config: dict[str, Any]) -> dict[str, Any] | None:
    if not config.get("server"):
        return None
    out: dict[str, Any] = {"provider": "rfc2136"}
    for key in RFC2136_KEYS & set(config):
        value = config[key]
        if key in BOUNDS:
            value = _bounded(key, value)
        elif key == "tsig_algorithm":
            value = str(value).lower().rstrip(".")
            value = value if value in ALGORITHMS else None
        elif key == "authoritative_servers":
            value = [str(v) for v in value or []][:10] if isinstance(value, list) else None
        elif value is not None:
            value = str(value)[:253]
        if value is not None:
            out[key] = value
    return out


def convert(provider: str | None, dns: dict[str, Any] | None) -> tuple[str | None, dict | None]:
    """(provider, dns) in the typed form, or (None, None) when the settings cannot be kept."""
    if not provider:
        return None, None
    dns = dict(dns or {})
    secret_keys = [str(k) for k in dns.pop("_secret_keys", [])]
    if provider == "rfc2136":
        converted = _rfc2136(dns)
        if converted is None:
            return None, None
        converted.pop("provider")
        return "rfc2136", {**converted, "_secret_keys": secret_keys}
    if provider in ("cname-delegation", "delegation"):
        if "inner" in dns and isinstance(dns["inner"], dict):
            return "cname-delegation", {**dns, "_secret_keys": secret_keys}  # already typed
        if dns.get("inner_provider") != "rfc2136":
            return None, None
        inner = _rfc2136(dict(dns.get("inner_config") or {}))
        if inner is None or not dns.get("validation_zone") or not dns.get("resolver"):
            return None, None
        converted = {
            "validation_zone": str(dns["validation_zone"])[:253],
            "resolver": str(dns["resolver"])[:253],
            "inner": inner,
        }
        for key in ("resolver_port", "timeout"):
            if key in dns and (value := _bounded(key, dns[key])) is not None:
                converted[key] = value
        keys = [
            "inner." + k.removeprefix("inner_config.") if k.startswith("inner_config.") else k
            for k in secret_keys
        ]
        return "cname-delegation", {**converted, "_secret_keys": keys}
    if provider == "lexicon":
        return "lexicon", {**dns, "_secret_keys": secret_keys}
    return None, None


organization = sa.table(
    "organization",
    sa.column("id", sa.String),
    sa.column("dns_provider", sa.String),
    sa.column("dns", sa.JSON),
    sa.column("dns_secret", sa.String),
)


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(organization.c.id, organization.c.dns_provider, organization.c.dns).where(
            organization.c.dns_provider.is_not(None)
        )
    ).all()
    for row in rows:
        provider, dns = convert(row.dns_provider, row.dns)
        values: dict[str, Any] = {"dns_provider": provider, "dns": dns}
        if provider is None:
            values["dns_secret"] = None
        bind.execute(organization.update().where(organization.c.id == row.id).values(**values))


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(organization.c.id, organization.c.dns).where(
            organization.c.dns_provider == "cname-delegation"
        )
    ).all()
    for row in rows:
        dns = dict(row.dns or {})
        inner = dict(dns.pop("inner", {}) or {})
        dns["inner_provider"] = inner.pop("provider", "rfc2136")
        dns["inner_config"] = inner
        dns["_secret_keys"] = [
            "inner_config." + k.removeprefix("inner.") if k.startswith("inner.") else k
            for k in dns.get("_secret_keys", [])
        ]
        bind.execute(organization.update().where(organization.c.id == row.id).values(dns=dns))
