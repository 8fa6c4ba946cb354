"""Certificates and keys given as PEM text in settings: checked on the way in, normalised, and
turned into TLS contexts without any file a tenant could name."""

from __future__ import annotations

import os
import ssl
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

MAX_CERTIFICATES = 20


def certificates_pem(text: str) -> str:
    """`text` as a normalised PEM bundle of 1 to MAX_CERTIFICATES X.509 certificates."""
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ValueError("not PEM certificates (no BEGIN CERTIFICATE block)")
    if "PRIVATE KEY-----" in text:
        raise ValueError("holds a private key; give certificates only")
    try:
        certificates = x509.load_pem_x509_certificates(text.encode())
    except ValueError as exc:
        raise ValueError(f"not valid PEM certificates: {exc}") from None
    if len(certificates) > MAX_CERTIFICATES:
        raise ValueError(f"at most {MAX_CERTIFICATES} certificates")
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certificates)


def private_key_pem(text: str) -> str:
    """`text` as a normalised unencrypted PKCS#8 PEM private key (RSA, EC or Ed25519)."""
    if "PRIVATE KEY-----" not in text:
        raise ValueError("not a PEM private key (no BEGIN PRIVATE KEY block)")
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a usable unencrypted PEM private key: {exc}") from None
    if not isinstance(
        key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
    ):
        raise ValueError("unsupported key type; use RSA, EC or Ed25519")
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def key_matches_certificate(key_pem: str, certificates: str) -> bool:
    """Whether the key is the first (leaf) certificate's."""
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    leaf = x509.load_pem_x509_certificates(certificates.encode())[0]
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    return key.public_key().public_bytes(der, spki) == leaf.public_key().public_bytes(der, spki)


def client_context(
    ca_bundle_pem: str | None = None,
    client_cert_pem: str | None = None,
    client_key_pem: str | None = None,
) -> ssl.SSLContext:
    """System roots plus `ca_bundle_pem`, presenting the client certificate when given."""
    context = ssl.create_default_context()
    if ca_bundle_pem:
        context.load_verify_locations(cadata=ca_bundle_pem)
    if client_cert_pem:
        # The ssl module reads a certificate chain from files only: a private temporary file
        # the broker creates, read once and removed at once.
        fd, path = tempfile.mkstemp(prefix="certbroker-mtls-", suffix=".pem")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(client_cert_pem)
                if client_key_pem:
                    handle.write("\n" + client_key_pem)
            context.load_cert_chain(path)
        finally:
            os.unlink(path)
    return context
