"""What of a request body may be kept in the audit log: everything but secrets."""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[redacted]"
MAX_STRING = 2000

# Compared against the field name lower-cased with everything but letters and digits removed,
# so `client_secret`, `clientSecret` and `client-secret` are one name.
_SECRET_PARTS = (
    "password",
    "passphrase",
    "secret",
    "hmac",
    "privatekey",
    "apikey",
    "authorization",
    "credential",
    "keypem",  # scm.client_key_pem; a PEM key is also caught by its BEGIN line below
)
_SECRET_ENDINGS = ("token",)
_PRIVATE_KEY_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")


def is_secret_name(name: str) -> bool:
    folded = re.sub(r"[^a-z0-9]", "", name.lower())
    return any(part in folded for part in _SECRET_PARTS) or folded.endswith(_SECRET_ENDINGS)


def redact(value: Any) -> Any:
    """A copy of a JSON value with secret fields (at any depth) and private keys replaced,
    and very long strings cut short."""
    if isinstance(value, dict):
        return {
            key: REDACTED if is_secret_name(str(key)) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    if isinstance(value, str):
        if _PRIVATE_KEY_PEM.search(value):
            return REDACTED
        return value if len(value) <= MAX_STRING else value[:MAX_STRING] + "…"
    return value
