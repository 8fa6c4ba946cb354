"""Client ids and secrets: generation, hashing at rest, constant-time verification."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

CLIENT_ID_PREFIX = "cb_"
SECRET_PREFIX = "cbs_"
_SCHEME = "hmac-sha256"
# Compared against when the client id is unknown, so a miss costs what a hit costs.
_DUMMY_HASH = f"{_SCHEME}${'A' * 22}${'A' * 43}"


def new_client_id() -> str:
    return CLIENT_ID_PREFIX + secrets.token_urlsafe(16)


def new_client_secret() -> str:
    # 32 random bytes: far beyond brute force, so a fast salted MAC is enough at rest;
    # a slow KDF (scrypt) would only make the token endpoint an easy CPU sink.
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    return f"{_SCHEME}${_b64(salt)}${_b64(_mac(salt, secret))}"


def verify_secret(secret: str, stored: str | None) -> bool:
    scheme, salt, digest = (stored or _DUMMY_HASH).split("$")
    if scheme != _SCHEME:
        return False
    expected = _unb64(digest)
    matches = hmac.compare_digest(_mac(_unb64(salt), secret), expected)
    return matches and stored is not None


def _mac(salt: bytes, secret: str) -> bytes:
    return hmac.new(salt, secret.encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
