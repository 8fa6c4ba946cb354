"""The DNS provider APIs dns-lexicon speaks, and the options each takes, read from lexicon itself.

Lexicon describes a provider's options through its `configure_parser(ArgumentParser)`; it has
no notion of a required option, so the few the broker knows to be required for popular
providers are listed here (REQUIRED) and checked when an organization is saved. Options whose
names say they hold a secret (`auth_*`, `*token*`, `*secret*`, `*password*`, `*key*`) are
credentials: given as such, stored encrypted, never returned.
"""

from __future__ import annotations

import argparse
import functools
import logging
import re
from dataclasses import dataclass

from lexicon._private.discovery import find_providers, load_provider_module

log = logging.getLogger("certbroker.dns")

# Providers the broker does not offer: they read local files, run programs or send traffic
# outside the HTTP client the egress policy guards (the native rfc2136 provider covers DDNS).
EXCLUDED = frozenset({"auto", "localzone", "ddns", "valuedomain", "transip", "inwx"})

# Options without which these providers cannot work at all (lexicon raises at first use).
REQUIRED: dict[str, tuple[str, ...]] = {
    "powerdns": ("pdns_server", "auth_token"),
    "cloudflare": ("auth_token",),
    "azure": (
        "auth_client_id",
        "auth_client_secret",
        "auth_tenant_id",
        "auth_subscription_id",
        "resource_group",
    ),
    "googleclouddns": ("auth_service_account_info",),
    "route53": ("auth_access_key", "auth_access_secret"),
    "digitalocean": ("auth_token",),
    "gandi": ("auth_token",),
    "hetzner": ("auth_token",),
    "linode4": ("auth_token",),
    "ovh": ("auth_entrypoint", "auth_application_key", "auth_application_secret"),
    "nsone": ("auth_token",),
}

SECRET_NAME = re.compile(r"^auth_|token|secret|password|passwd|key$|_key_|^key", re.I)
# Options that name a different API endpoint; checked by the egress policy like any URL.
URL_OPTIONS = frozenset({"pdns_server", "auth_entrypoint", "api_endpoint", "endpoint"})


@dataclass(frozen=True)
class LexiconOption:
    name: str
    help: str
    secret: bool
    required: bool


@dataclass(frozen=True)
class LexiconProviderInfo:
    name: str
    available: bool  # False: its extra Python dependencies are not installed here
    options: tuple[LexiconOption, ...]

    def option(self, name: str) -> LexiconOption | None:
        return next((o for o in self.options if o.name == name), None)


def is_secret_option(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


def _options(name: str) -> tuple[LexiconOption, ...]:
    parser = argparse.ArgumentParser(add_help=False)
    load_provider_module(name).Provider.configure_parser(parser)
    required = set(REQUIRED.get(name, ()))
    return tuple(
        LexiconOption(
            name=action.dest,
            help=" ".join((action.help or "").split())[:500],
            secret=is_secret_option(action.dest),
            required=action.dest in required,
        )
        for action in parser._actions
        if action.dest and action.dest != "help"
    )


@functools.cache
def catalog() -> dict[str, LexiconProviderInfo]:
    """Every offered provider by name (loaded once: importing all of them takes a moment)."""
    found: dict[str, LexiconProviderInfo] = {}
    for name, available in find_providers().items():
        if name in EXCLUDED:
            continue
        try:
            options = _options(name)
        except Exception:  # a provider module that does not import is not offered
            log.warning("lexicon provider %s does not load; not offered", name)
            continue
        found[name] = LexiconProviderInfo(name=name, available=available, options=options)
    return found


def option_problems(
    provider: str, options: dict[str, str], credentials: dict[str, str]
) -> list[tuple[str, str]]:
    """(field path under the DNS settings, message) for every problem with these options."""
    info = catalog().get(provider)
    if info is None:
        return [
            (
                "lexicon_provider",
                f"unknown lexicon provider {provider!r}; see GET /v1/dns/providers",
            )
        ]
    if not info.available:
        return [
            (
                "lexicon_provider",
                f"provider {provider!r} needs Python packages this deployment does not have"
                f" (dns-lexicon[{provider}])",
            )
        ]
    problems: list[tuple[str, str]] = []
    known = {o.name for o in info.options}
    for key in sorted(options):
        if key not in known:
            problems.append(
                (f"options.{key}", f"{provider} has no option {key!r}; known: {sorted(known)}")
            )
        elif is_secret_option(key):
            problems.append(
                (f"options.{key}", f"{key!r} is a credential: give it in 'credentials'")
            )
    for key in sorted(credentials):
        if key not in known:
            problems.append(
                (f"credentials.{key}", f"{provider} has no option {key!r}; known: {sorted(known)}")
            )
    given = set(options) | set(credentials)
    for option in info.options:
        if option.required and option.name not in given:
            where = "credentials" if option.secret else "options"
            problems.append((f"{where}.{option.name}", f"{provider} requires {option.name!r}"))
    for where, values in (("options", options), ("credentials", credentials)):
        for key, value in values.items():
            if value.startswith("file::"):
                problems.append(
                    (f"{where}.{key}", "file references are not accepted; give the content")
                )
    return problems
