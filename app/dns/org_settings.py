"""An organization's DNS settings between the API, the database and the provider registry.

Stored as three columns: `dns_provider` (the kind), `dns` (the non-secret fields, plus the
names of the secrets set under `_secret_keys`) and `dns_secret` (the secrets, encrypted, as
a JSON object keyed by dotted path: `tsig_secret`, `credentials.auth_token`,
`inner.tsig_secret`, ...). `runtime_config` turns them into what the registry's factories take.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from app.crypto.secretbox import SecretBox
from app.dns.lexicon_catalog import URL_OPTIONS, option_problems
from app.dns.lookup import split_endpoint
from app.dns.schemas import (
    CnameDelegationSettingsIn,
    DnsSettingsIn,
    DnsSettingsOut,
    LexiconSettingsIn,
    Rfc2136SettingsIn,
)
from app.egress.policy import EgressPolicy
from app.errors import Unprocessable

log = logging.getLogger("certbroker.dns")

SECRET_KEYS = "_secret_keys"
_OUT: TypeAdapter[Any] = TypeAdapter(DnsSettingsOut)
# Secret paths stored before the settings were typed.
_LEGACY_PREFIXES = {"inner_config.": "inner."}


def _context(org_id: str) -> str:
    return f"org:{org_id}:dns"


def _secrets_of(model: BaseModel, prefix: str = "") -> dict[str, str]:
    """Dotted path -> plain value of every secret the request carries."""
    found: dict[str, str] = {}
    if isinstance(model, Rfc2136SettingsIn) and model.tsig_secret is not None:
        found[f"{prefix}tsig_secret"] = model.tsig_secret.get_secret_value()
    if isinstance(model, LexiconSettingsIn):
        for key, value in model.credentials.items():
            found[f"{prefix}credentials.{key}"] = value.get_secret_value()
    if isinstance(model, CnameDelegationSettingsIn):
        found |= _secrets_of(model.inner, f"{prefix}inner.")
    return found


def _public_of(model: BaseModel) -> dict[str, Any]:
    data = model.model_dump(mode="json", exclude={"tsig_secret", "credentials"})
    if isinstance(model, CnameDelegationSettingsIn):
        data["inner"] = _public_of(model.inner)
    return data


def stored_secrets(
    dns: dict[str, Any] | None, dns_secret: str | None, org_id: str, box: SecretBox
) -> dict[str, str]:
    if not dns_secret:
        return {}
    plain = json.loads(box.decrypt_str(dns_secret, context=_context(org_id)))
    return {_normalize_key(key): value for key, value in plain.items()}


def _normalize_key(key: str) -> str:
    for old, new in _LEGACY_PREFIXES.items():
        if key.startswith(old):
            return new + key[len(old) :]
    return key


def _same_account(old: dict[str, Any] | None, new: dict[str, Any], prefix: str = "") -> set[str]:
    """Secret path prefixes whose stored values still belong with the new settings."""
    if not old or old.get("provider") != new.get("provider"):
        return set()
    kind = new["provider"]
    if kind == "rfc2136":
        return {f"{prefix}tsig_secret"}
    if kind == "lexicon":
        same = old.get("lexicon_provider") == new.get("lexicon_provider")
        return {f"{prefix}credentials."} if same else set()
    return _same_account(old.get("inner"), new["inner"], f"{prefix}inner.")


def _check_ports(endpoints: list[str], where: str) -> None:
    for index, text in enumerate(endpoints):
        _, port = split_endpoint(text)
        if not 1 <= port <= 65535:
            raise Unprocessable.field(f"{where}.{index}", f"port {port} is not 1-65535")


def _targets(model: BaseModel, where: str) -> list[tuple[str, str]]:
    """(field, host or URL) of every place these settings make the broker connect to."""
    found: list[tuple[str, str]] = []
    if isinstance(model, Rfc2136SettingsIn | LexiconSettingsIn):
        found += [
            (f"{where}.authoritative_servers.{i}", split_endpoint(text)[0])
            for i, text in enumerate(model.authoritative_servers)
        ]
    if isinstance(model, Rfc2136SettingsIn):
        found.append((f"{where}.server", model.server))
    elif isinstance(model, LexiconSettingsIn):
        for key, value in model.options.items():
            if key in URL_OPTIONS or value.lower().startswith(("http://", "https://")):
                found.append((f"{where}.options.{key}", value))
    elif isinstance(model, CnameDelegationSettingsIn):
        found.append((f"{where}.resolver", model.resolver))
        found += _targets(model.inner, f"{where}.inner")
    return found


async def check_targets(model: BaseModel, egress: EgressPolicy, where: str = "body.dns") -> None:
    """Refuse at the door what the egress policy would refuse at use: every server, resolver
    and provider API these settings name, literal or by name (resolved now, each address
    checked). They are checked again, and the connection pinned, each time they are used."""
    for field, target in _targets(model, where):
        if ".options." in field:
            if not target.lower().startswith(("http://", "https://")):
                raise Unprocessable.field(field, "must be an http(s) URL")
            await egress.check_target(target, field=field, kind="webhook", allow_http=True)
        else:
            await egress.resolve(target, field=field)


def _validate(model: BaseModel, secrets: dict[str, str], where: str, prefix: str = "") -> None:
    if isinstance(model, Rfc2136SettingsIn):
        has_secret = f"{prefix}tsig_secret" in secrets
        if bool(model.tsig_key_name) != has_secret:
            missing = "tsig_secret" if model.tsig_key_name else "tsig_key_name"
            raise Unprocessable.field(
                f"{where}.{missing}", "set both tsig_key_name and tsig_secret, or neither"
            )
        _check_ports(model.authoritative_servers, f"{where}.authoritative_servers")
    elif isinstance(model, LexiconSettingsIn):
        credentials = {
            key[len(f"{prefix}credentials.") :]: value
            for key, value in secrets.items()
            if key.startswith(f"{prefix}credentials.")
        }
        _check_ports(model.authoritative_servers, f"{where}.authoritative_servers")
        problems = option_problems(model.lexicon_provider, dict(model.options), credentials)
        if problems:
            path, message = problems[0]
            raise Unprocessable.field(f"{where}.{path}", message)
    elif isinstance(model, CnameDelegationSettingsIn):
        _validate(model.inner, secrets, f"{where}.inner", f"{prefix}inner.")


async def apply_dns(
    org: Any, settings: Any, box: SecretBox, egress: EgressPolicy | None, where: str = "body.dns"
) -> None:
    """Validate `settings` (a DnsSettingsIn member) and store it on `org`, secrets encrypted.
    Secrets left out keep their stored values while they still fit (same provider account)."""
    public = _public_of(settings)
    given = _secrets_of(settings)
    old_public = dict(org.dns or {}, provider=org.dns_provider) if org.dns_provider else None
    keep = _same_account(old_public, public)
    secrets = {
        key: value
        for key, value in stored_secrets(org.dns, org.dns_secret, org.id, box).items()
        if any(key == k or (k.endswith(".") and key.startswith(k)) for k in keep)
    }
    secrets |= given
    _validate(settings, secrets, where)
    if egress is not None:
        await check_targets(settings, egress, where)
    org.dns_provider = public.pop("provider")
    org.dns = {**public, SECRET_KEYS: sorted(secrets)}
    org.dns_secret = box.encrypt(json.dumps(secrets), context=_context(org.id)) if secrets else None


def public_settings(org: Any) -> Any:
    """The settings as the API shows them (a DnsSettingsOut member), or None."""
    if not org.dns_provider:
        return None
    stored = dict(org.dns or {})
    secret_keys = [_normalize_key(k) for k in stored.pop(SECRET_KEYS, [])]
    data = {**stored, "provider": org.dns_provider}

    def attach(node: dict[str, Any], prefix: str) -> None:
        mine = [k[len(prefix) :] for k in secret_keys if k.startswith(prefix)]
        node["secrets_set"] = sorted(
            k.removeprefix("credentials.") for k in mine if not k.startswith("inner.")
        )

    if data["provider"] != "cname-delegation":
        attach(data, "")
    elif isinstance(data.get("inner"), dict):
        data["inner"] = dict(data["inner"])
        attach(data["inner"], "inner.")
    try:
        return _OUT.validate_python(data)
    except ValidationError as exc:
        log.error("organization %s: stored DNS settings do not validate: %s", org.id, exc)
        return None


def _runtime(
    kind: str, data: dict[str, Any], secrets: dict[str, str], prefix: str
) -> dict[str, Any]:
    data = {k: v for k, v in data.items() if k not in ("provider", SECRET_KEYS)}
    if kind == "rfc2136":
        if f"{prefix}tsig_secret" in secrets:
            data["tsig_secret"] = secrets[f"{prefix}tsig_secret"]
        return data
    if kind == "lexicon":
        credentials = {
            key[len(f"{prefix}credentials.") :]: value
            for key, value in secrets.items()
            if key.startswith(f"{prefix}credentials.")
        }
        data["options"] = {**data.get("options", {}), **credentials}
        return data
    inner = dict(data.pop("inner"))
    return {
        **data,
        "inner_provider": inner["provider"],
        "inner_config": _runtime(inner["provider"], inner, secrets, f"{prefix}inner."),
    }


def runtime_config(org: Any, box: SecretBox) -> dict[str, Any]:
    """What the provider registry's factory for `org.dns_provider` takes, secrets included."""
    secrets = stored_secrets(org.dns, org.dns_secret, org.id, box)
    return _runtime(org.dns_provider, dict(org.dns or {}), secrets, "")


DNS_SETTINGS_IN: TypeAdapter[Any] = TypeAdapter(DnsSettingsIn)
