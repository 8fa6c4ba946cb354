"""OAuth access tokens: HS256 JWTs signed with the simulator's saved secret (survive restarts)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(secret: str, client_id: str, lifetime_seconds: int) -> str:
    now = time.time()
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    # RFC 7519 allows fractional NumericDates; a whole-second exp would cut short-lived tokens.
    claims = {
        "sub": client_id,
        "azp": client_id,
        "iat": int(now),
        "exp": round(now + lifetime_seconds, 3),
        "jti": secrets.token_hex(8),
    }
    payload = _b64(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def verify_token(secret: str, token: str) -> dict | None:
    """The token's claims when it is ours and unexpired, else None."""
    try:
        header, payload, signature = token.split(".")
        expected = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256)
        if not hmac.compare_digest(_b64(expected.digest()), signature):
            return None
        claims = json.loads(_unb64(payload))
    except ValueError:
        return None
    return claims if claims.get("exp", 0) > time.time() else None
