"""Reading certificates out of SCM downloads and ordering a chain by who issued whom.

SCM's chain order differs per download format and has changed over time (contract 2.5), so
the order received is never trusted: the chain is rebuilt from issuer/subject links.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

_PEM_CERT = b"-----BEGIN CERTIFICATE-----"
_PEM_PKCS7 = b"-----BEGIN PKCS7-----"


def load_certificates(data: bytes | str) -> list[x509.Certificate]:
    """Certificates from a PEM bundle (CRLF tolerated), PEM-armoured PKCS#7, or DER PKCS#7."""
    raw = data.encode() if isinstance(data, str) else data
    if raw[:1] == b"\x30":  # an ASN.1 SEQUENCE: binary DER, which must not be touched
        return pkcs7.load_der_pkcs7_certificates(raw)
    raw = raw.replace(b"\r\n", b"\n").strip()
    if _PEM_CERT in raw:
        return x509.load_pem_x509_certificates(raw)
    if _PEM_PKCS7 in raw:
        return pkcs7.load_pem_pkcs7_certificates(raw)
    if raw.startswith(b"MII"):  # bare base64 PKCS#7, as some SCM formats send it
        return pkcs7.load_pem_pkcs7_certificates(
            b"-----BEGIN PKCS7-----\n" + raw + b"\n-----END PKCS7-----\n"
        )
    raise ValueError("no certificates found in the download")


def issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """True if `parent`'s subject is `child`'s issuer and its key signed `child`."""
    if child.issuer != parent.subject:
        return False
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def is_self_signed(cert: x509.Certificate) -> bool:
    return issued_by(cert, cert)


def order_chain(
    leaf: x509.Certificate, candidates: list[x509.Certificate]
) -> list[x509.Certificate]:
    """The issuers of `leaf`, leaf-issuer first, built by following issuer -> subject links.

    `candidates` may be in any order and may contain the leaf itself, duplicates, or
    unrelated certificates; those are dropped. A link is accepted only if the signature
    verifies (so two CAs with the same name cannot be confused); the walk stops at a
    self-signed root or when no issuer is found.
    """
    pool: list[x509.Certificate] = []
    seen = {leaf.fingerprint(hashes.SHA256())}
    for cert in candidates:
        fingerprint = cert.fingerprint(hashes.SHA256())
        if fingerprint not in seen:
            seen.add(fingerprint)
            pool.append(cert)
    chain: list[x509.Certificate] = []
    current = leaf
    while not is_self_signed(current):
        parent = next((c for c in pool if issued_by(current, c)), None)
        if parent is None:
            break
        chain.append(parent)
        pool.remove(parent)
        current = parent
    return chain


def to_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(Encoding.PEM).decode()
