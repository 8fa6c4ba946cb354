"""Test CSRs: fresh keys per call so every test's orders are its own (isolation by data)."""

from __future__ import annotations

import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


def make_csr(common_name: str, key: str = "ec", sans: list[str] | None = None) -> str:
    private_key = (
        rsa.generate_private_key(public_exponent=65537, key_size=int(key[3:]))
        if key.startswith("rsa")
        else ec.generate_private_key(ec.SECP256R1())
    )
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    )
    if sans:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name) for name in sans]), critical=False
        )
    csr = builder.sign(private_key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def unique_host(parent: str = "example.com") -> str:
    return f"h{uuid.uuid4().hex[:12]}.{parent}"
