"""Test keys, CSRs and small CA hierarchies built with cryptography."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID


def new_key(kind: str = "ec"):
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def make_csr(
    common_name: str, sans: list[str] | None = None, kind: str = "ec"
) -> tuple[str, object]:
    """A PEM CSR for `common_name` (+ SANs) and its private key."""
    key = new_key(kind)
    names = [common_name, *(s for s in sans or [] if s != common_name)]
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(Encoding.PEM).decode(), key


def make_cert(
    subject: str, issuer_key, issuer_name: str | None = None, *, ca: bool = True, key=None
):
    """A certificate for `subject` signed by `issuer_key` (self-signed when no issuer_name)."""
    key = key or new_key("ec")
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name or subject)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    signer = issuer_key if issuer_name else key
    return builder.sign(signer, hashes.SHA256()), key


def verify_chain(leaf: x509.Certificate, chain: list[x509.Certificate], root: x509.Certificate):
    """Assert signature + name linkage leaf -> chain[0] -> ... -> root."""
    current = leaf
    for parent in [*chain, root]:
        if current == parent:  # the chain may already end with the root
            continue
        assert current.issuer == parent.subject, (current.issuer, parent.subject)
        current.verify_directly_issued_by(parent)
        current = parent
    assert current.subject == root.subject
    spki = (Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    assert current.public_key().public_bytes(*spki) == root.public_key().public_bytes(*spki)
