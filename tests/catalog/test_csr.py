"""CSR parsing and checks, key generation and PKCS#12, with real keys."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from app.catalog.products import KeyType
from app.crypto.csr import CsrError, build_csr, parse_csr
from app.crypto.keys import generate_key, pkcs12_bundle, private_key_pem


@pytest.mark.parametrize("key_type", [KeyType.EC_P256, KeyType.EC_P384, KeyType.RSA_2048])
def test_build_and_parse(key_type: KeyType) -> None:
    key = generate_key(key_type)
    parsed = parse_csr(build_csr(key, ["www.example.com", "example.com"]))
    assert parsed.common_name == "www.example.com"
    assert parsed.dns_names == ["www.example.com", "example.com"]
    assert parsed.key_type is key_type
    assert len(parsed.public_key_sha256) == 64


def test_garbage_and_bad_signature_are_explained() -> None:
    with pytest.raises(CsrError, match="not a PEM certificate request"):
        parse_csr("hello")
    with pytest.raises(CsrError, match="cannot be decoded"):
        parse_csr("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")
    # Sign with one key, then swap the public key: the signature no longer verifies.
    signer, other = generate_key(KeyType.EC_P256), generate_key(KeyType.EC_P256)
    good = x509.load_pem_x509_csr(build_csr(signer, ["a.example.com"]).encode())
    der = bytearray(good.public_bytes(serialization.Encoding.DER))
    old_spki = signer.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    new_spki = other.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forged = bytes(der).replace(old_spki, new_spki)
    import base64

    pem = (
        "-----BEGIN CERTIFICATE REQUEST-----\n"
        + base64.encodebytes(forged).decode()
        + "-----END CERTIFICATE REQUEST-----\n"
    )
    with pytest.raises(CsrError, match="signature does not verify"):
        parse_csr(pem)


def test_unsupported_key_is_reported_as_none() -> None:
    key = ec.generate_private_key(ec.SECP521R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "a.example.com")]))
        .sign(key, hashes.SHA256())
    )
    parsed = parse_csr(csr.public_bytes(serialization.Encoding.PEM).decode())
    assert parsed.key_type is None and parsed.dns_names == []


def test_pkcs12_opens_with_the_passphrase() -> None:
    import datetime as dt

    key = generate_key(KeyType.EC_P256)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "a.example.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    leaf_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    blob = pkcs12_bundle(private_key_pem(key), leaf_pem, [], "correct horse", "a.example.com")
    loaded = pkcs12.load_pkcs12(blob, b"correct horse")
    assert loaded.cert is not None and loaded.cert.certificate == cert
    with pytest.raises(ValueError):
        pkcs12.load_pkcs12(blob, b"wrong")
