"""The JWS rules as pure functions: which algorithms and keys are accepted, and the header."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from app.acme_server import jws as jose
from app.acme_server.problems import AcmeProblem

URL = "https://broker.example/acme/org/new-account"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk_of(key: object) -> dict[str, str]:
    public = key.public_key()  # type: ignore[attr-defined]
    if isinstance(public, ec.EllipticCurvePublicKey):
        size = (public.curve.key_size + 7) // 8
        n = public.public_numbers()
        crv = {"secp256r1": "P-256", "secp384r1": "P-384"}[public.curve.name]
        return {
            "kty": "EC",
            "crv": crv,
            "x": b64(n.x.to_bytes(size, "big")),
            "y": b64(n.y.to_bytes(size, "big")),
        }
    if isinstance(public, rsa.RSAPublicKey):
        n = public.public_numbers()
        return {
            "kty": "RSA",
            "n": b64(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")),
            "e": b64(n.e.to_bytes(3, "big")),
        }
    raw = public.public_bytes_raw()  # type: ignore[attr-defined]
    return {"kty": "OKP", "crv": "Ed25519", "x": b64(raw)}


def signed(key: object, alg: str, header: dict | None = None) -> jose.Jws:
    protected = {"alg": alg, "url": URL, "nonce": "n", "jwk": jwk_of(key), **(header or {})}
    protected_b64 = b64(json.dumps(protected).encode())
    payload_b64 = b64(b"{}")
    data = f"{protected_b64}.{payload_b64}".encode()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        digest = hashes.SHA384() if alg == "ES384" else hashes.SHA256()
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(digest)))
        size = (key.curve.key_size + 7) // 8
        signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    elif isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    else:
        signature = key.sign(data)  # type: ignore[attr-defined]
    return jose.parse_jws(
        json.dumps(
            {"protected": protected_b64, "payload": payload_b64, "signature": b64(signature)}
        ).encode()
    )


@pytest.mark.parametrize(
    ("make", "alg"),
    [
        (lambda: ec.generate_private_key(ec.SECP256R1()), "ES256"),
        (lambda: ec.generate_private_key(ec.SECP384R1()), "ES384"),
        (lambda: rsa.generate_private_key(65537, 2048), "RS256"),
        (ed25519.Ed25519PrivateKey.generate, "EdDSA"),
    ],
)
def test_accepted_algorithms_verify(make: object, alg: str) -> None:
    key = make()  # type: ignore[operator]
    parsed = signed(key, alg)
    jose.check_header(parsed, url=URL)
    jose.verify(parsed, jose.public_key(parsed.protected["jwk"]))


def test_refusals() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(AcmeProblem) as hs:
        jose.check_header(signed(key, "ES256", {"alg": "HS256"}), url=URL)
    assert hs.value.kind == "badSignatureAlgorithm"
    with pytest.raises(AcmeProblem) as both:
        jose.check_header(signed(key, "ES256", {"kid": URL}), url=URL)
    assert both.value.kind == "malformed"
    with pytest.raises(AcmeProblem) as elsewhere:
        jose.check_header(signed(key, "ES256"), url=URL + "x")
    assert elsewhere.value.kind == "unauthorized"
    # An ES256 signature claimed as RS256 by an EC key does not verify.
    mismatched = signed(key, "ES256", {"alg": "RS256"})
    with pytest.raises(AcmeProblem) as confused:
        jose.verify(mismatched, jose.public_key(mismatched.protected["jwk"]))
    assert confused.value.kind == "badSignatureAlgorithm"
    small = rsa.generate_private_key(65537, 1024)
    with pytest.raises(AcmeProblem) as weak:
        jose.public_key(jwk_of(small))
    assert weak.value.kind == "badPublicKey"
    with pytest.raises(AcmeProblem) as padded:
        jose.parse_jws(b'{"protected": "e30=", "payload": "", "signature": ""}')
    assert padded.value.kind == "malformed"
    with pytest.raises(AcmeProblem) as general:
        jose.parse_jws(b'{"protected": "e30", "payload": "", "signature": "", "header": {}}')
    assert general.value.kind == "malformed"
