"""Strict verification of the flattened JWS every ACME POST carries (RFC 8555 §6.2, RFC 7515).

Pure functions: parse the body, check the protected header's shape, turn a JWK into a public
key and verify a signature. Which key must sign (the account's, by `kid`, or the one in `jwk`)
and the nonce and URL are the caller's to decide, with the database and Redis at hand.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from app.acme_server.problems import AcmeProblem

# Account-key algorithms: never `none`, never a MAC (those are for the EAB binding only).
ALGORITHMS = ("ES256", "ES384", "RS256", "EdDSA")
EC_CURVES = {"ES256": ("P-256", ec.SECP256R1(), hashes.SHA256(), 32)}
EC_CURVES["ES384"] = ("P-384", ec.SECP384R1(), hashes.SHA384(), 48)
MAC_ALGORITHMS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
MIN_RSA_BITS = 2048

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, what: str = "value") -> bytes:
    if not isinstance(text, str) or "=" in text or "+" in text or "/" in text:
        raise AcmeProblem("malformed", f"{what} is not unpadded base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise AcmeProblem("malformed", f"{what} is not base64url") from None


@dataclass(frozen=True)
class Jws:
    """A parsed flattened JWS: the protected header, the payload (None for POST-as-GET)."""

    protected: dict[str, Any]
    protected_b64: str
    payload_b64: str
    signature: bytes

    @property
    def signing_input(self) -> bytes:
        return f"{self.protected_b64}.{self.payload_b64}".encode("ascii")

    @property
    def payload(self) -> Any:
        if self.payload_b64 == "":
            return None
        return _json(b64url_decode(self.payload_b64, "payload"), "payload")

    def payload_object(self) -> dict[str, Any]:
        payload = self.payload
        if not isinstance(payload, dict):
            raise AcmeProblem("malformed", "the payload must be a JSON object")
        return payload


def _json(raw: bytes, what: str) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise AcmeProblem("malformed", f"{what} is not JSON") from None


def parse_jws(raw: bytes | dict[str, Any], what: str = "the body") -> Jws:
    """A flattened JWS with exactly `protected`, `payload`, `signature` (no unprotected header,
    no general serialization)."""
    body = raw if isinstance(raw, dict) else _json(raw, what)
    if not isinstance(body, dict) or set(body) != {"protected", "payload", "signature"}:
        raise AcmeProblem(
            "malformed", f"{what} must be a flattened JWS (protected, payload, signature only)"
        )
    if not all(isinstance(body[k], str) for k in body):
        raise AcmeProblem("malformed", f"{what}: JWS members must be strings")
    protected = _json(b64url_decode(body["protected"], "protected header"), "protected header")
    if not isinstance(protected, dict):
        raise AcmeProblem("malformed", "the protected header must be a JSON object")
    b64url_decode(body["payload"], "payload")  # shape only; decoded when read
    return Jws(
        protected, body["protected"], body["payload"], b64url_decode(body["signature"], "signature")
    )


def check_header(jws: Jws, *, url: str, expect_nonce: bool = True) -> None:
    """alg allowed, `url` equal to the request's, exactly one of `jwk` and `kid`."""
    header = jws.protected
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise AcmeProblem(
            "badSignatureAlgorithm",
            f"algorithm {alg!r} is not accepted; use one of {', '.join(ALGORITHMS)}",
            extra={"algorithms": list(ALGORITHMS)},
        )
    if header.get("url") != url:
        raise AcmeProblem("unauthorized", f"the JWS url {header.get('url')!r} is not {url}")
    if ("jwk" in header) == ("kid" in header):
        raise AcmeProblem("malformed", "the protected header needs exactly one of jwk and kid")
    if expect_nonce and not isinstance(header.get("nonce"), str):
        raise AcmeProblem("badNonce", "the protected header carries no nonce")
    if "b64" in header or "crit" in header:
        raise AcmeProblem("malformed", "b64 and crit are not supported")


def canonical_jwk(jwk: Any) -> dict[str, str]:
    """The RFC 7638 members of a public JWK (what the thumbprint and comparisons use)."""
    if not isinstance(jwk, dict):
        raise AcmeProblem("malformed", "jwk must be a JSON object")
    members = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}
    wanted = members.get(jwk.get("kty"))  # type: ignore[arg-type]
    if wanted is None:
        raise AcmeProblem("badPublicKey", f"key type {jwk.get('kty')!r} is not supported")
    if not all(isinstance(jwk.get(m), str) for m in wanted):
        raise AcmeProblem("badPublicKey", f"the jwk needs {', '.join(wanted)}")
    return {m: jwk[m] for m in wanted}


def thumbprint(jwk: dict[str, Any]) -> str:
    canonical = json.dumps(canonical_jwk(jwk), sort_keys=True, separators=(",", ":"))
    return b64url(hashlib.sha256(canonical.encode()).digest())


def public_key(jwk: dict[str, Any]) -> PublicKey:
    jwk = canonical_jwk(jwk)
    try:
        if jwk["kty"] == "EC":
            curve = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1()}.get(jwk["crv"])
            if curve is None:
                raise AcmeProblem("badPublicKey", f"curve {jwk['crv']!r} is not supported")
            x = int.from_bytes(b64url_decode(jwk["x"], "jwk.x"), "big")
            y = int.from_bytes(b64url_decode(jwk["y"], "jwk.y"), "big")
            return ec.EllipticCurvePublicNumbers(x, y, curve).public_key()
        if jwk["kty"] == "RSA":
            n = int.from_bytes(b64url_decode(jwk["n"], "jwk.n"), "big")
            e = int.from_bytes(b64url_decode(jwk["e"], "jwk.e"), "big")
            key = rsa.RSAPublicNumbers(e, n).public_key()
            if key.key_size < MIN_RSA_BITS:
                raise AcmeProblem("badPublicKey", f"RSA keys need at least {MIN_RSA_BITS} bits")
            return key
        if jwk["crv"] != "Ed25519":
            raise AcmeProblem("badPublicKey", f"curve {jwk['crv']!r} is not supported")
        return ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"], "jwk.x"))
    except ValueError:
        raise AcmeProblem("badPublicKey", "the jwk is not a valid public key") from None


def verify(jws: Jws, key: PublicKey) -> None:
    """The signature over the JWS by `key` under the header's `alg`; the alg must fit the key."""
    alg = jws.protected.get("alg")
    data, signature = jws.signing_input, jws.signature
    try:
        if alg in EC_CURVES and isinstance(key, ec.EllipticCurvePublicKey):
            _crv, curve, digest, size = EC_CURVES[alg]
            if key.curve.name != curve.name or len(signature) != 2 * size:
                raise InvalidSignature
            r = int.from_bytes(signature[:size], "big")
            s = int.from_bytes(signature[size:], "big")
            key.verify(encode_dss_signature(r, s), data, ec.ECDSA(digest))
        elif alg == "RS256" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "EdDSA" and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        else:
            raise AcmeProblem("badSignatureAlgorithm", f"{alg} does not fit the account key")
    except InvalidSignature:
        raise AcmeProblem("malformed", "the JWS signature is not valid") from None


def verify_mac(jws: Jws, key: bytes) -> None:
    """The EAB binding's HMAC (HS256/384/512) under the credential's key."""
    digest = MAC_ALGORITHMS.get(jws.protected.get("alg"))  # type: ignore[arg-type]
    if digest is None:
        raise AcmeProblem("badSignatureAlgorithm", "the EAB binding must use HS256, HS384 or HS512")
    expected = hmac.new(key, jws.signing_input, digest).digest()
    if not hmac.compare_digest(expected, jws.signature):
        raise AcmeProblem("unauthorized", "the external account binding's MAC is not valid")
