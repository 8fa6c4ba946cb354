"""Verifying an issued chain against pebble's root, signature by signature."""

from __future__ import annotations

from cryptography import x509

from app.issuers.base import IssuedCertificate


def verify_chain(issued: IssuedCertificate, root: x509.Certificate) -> list[x509.Certificate]:
    """Each certificate signed by the next, the last one by `root`; returns the chain."""
    chain = [
        x509.load_pem_x509_certificate(pem.encode())
        for pem in [issued.leaf_pem, *issued.chain_pems]
    ]
    for child, parent in zip(chain, [*chain[1:], root], strict=True):
        assert child.issuer == parent.subject
        child.verify_directly_issued_by(parent)
    return chain
