"""JSON Web Signatures for ACME (RFC 7515/8555): account keys, JWKs, thumbprints and EAB."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json_b64(obj: Any) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def _uint(value: int, length: int | None = None) -> bytes:
    length = length or (value.bit_length() + 7) // 8
    return value.to_bytes(length, "big")


class AccountKey:
    """An ACME account key: ES256 (P-256, the default) or RS256 (RSA)."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
        if isinstance(private_key, ec.EllipticCurvePrivateKey):
            if not isinstance(private_key.curve, ec.SECP256R1):
                raise ValueError("only P-256 EC account keys are supported (ES256)")
            self.alg = "ES256"
        elif isinstance(private_key, rsa.RSAPrivateKey):
            self.alg = "RS256"
        else:
            raise ValueError("account keys must be EC P-256 or RSA")
        self._key = private_key
        self.jwk = self._public_jwk()
        # RFC 7638: the required members only, sorted, no whitespace.
        canonical = json.dumps(self.jwk, sort_keys=True, separators=(",", ":")).encode()
        self.thumbprint = b64url(hashlib.sha256(canonical).digest())

    @classmethod
    def generate(cls, kind: str = "ec256") -> AccountKey:
        if kind == "rsa2048":
            return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_pem(cls, pem: str | bytes) -> AccountKey:
        data = pem.encode() if isinstance(pem, str) else pem
        key = serialization.load_pem_private_key(data, password=None)
        return cls(key)  # type: ignore[arg-type]

    def to_pem(self) -> str:
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def _public_jwk(self) -> dict[str, str]:
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            numbers = self._key.public_key().public_numbers()
            return {
                "crv": "P-256",
                "kty": "EC",
                "x": b64url(_uint(numbers.x, 32)),
                "y": b64url(_uint(numbers.y, 32)),
            }
        numbers = self._key.public_key().public_numbers()
        return {"e": b64url(_uint(numbers.e)), "kty": "RSA", "n": b64url(_uint(numbers.n))}

    def sign(self, data: bytes) -> bytes:
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            # JWS wants raw r||s, cryptography gives DER.
            r, s = decode_dss_signature(self._key.sign(data, ec.ECDSA(hashes.SHA256())))
            return _uint(r, 32) + _uint(s, 32)
        return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def key_authorization(self, token: str) -> str:
        return f"{token}.{self.thumbprint}"


def sign_jws(
    key: AccountKey,
    payload: Any | None,
    url: str,
    nonce: str | None = None,
    kid: str | None = None,
) -> dict[str, str]:
    """A flattened JWS. `payload=None` is POST-as-GET (empty payload); without `kid` the
    public JWK goes in the header (newAccount, revocation by certificate key, keyChange inner)."""
    protected: dict[str, Any] = {"alg": key.alg, "url": url}
    if nonce is not None:
        protected["nonce"] = nonce
    if kid is not None:
        protected["kid"] = kid
    else:
        protected["jwk"] = key.jwk
    protected_b64 = _json_b64(protected)
    payload_b64 = "" if payload is None else _json_b64(payload)
    signature = key.sign(f"{protected_b64}.{payload_b64}".encode("ascii"))
    return {"protected": protected_b64, "payload": payload_b64, "signature": b64url(signature)}


def external_account_binding(
    key: AccountKey, eab_kid: str, eab_hmac_key: str, new_account_url: str
) -> dict[str, str]:
    """RFC 8555 §7.3.4: an HS256 JWS over the account's public JWK, keyed by the CA's MAC key
    (base64url, padding optional); no nonce."""
    protected_b64 = _json_b64({"alg": "HS256", "kid": eab_kid, "url": new_account_url})
    payload_b64 = _json_b64(key.jwk)
    mac = hmac.new(
        b64url_decode(eab_hmac_key.strip()),
        f"{protected_b64}.{payload_b64}".encode("ascii"),
        hashlib.sha256,
    ).digest()
    return {"protected": protected_b64, "payload": payload_b64, "signature": b64url(mac)}
