"""The download formats of /ssl/v1/collect, each with its own content and chain order."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from app.sandbox.scm.ca import CertificateAuthority
from app.sandbox.scm.errors import ScmError

FORMATS = ("x509", "x509CO", "base64", "bin", "x509IO", "x509IOR", "pem", "pemco", "pemia", "x509R")
_BY_LOWER = {name.lower(): name for name in FORMATS}
_EXTENSIONS = {"base64": "p7b", "bin": "p7b"}


def canonical_format(requested: str | None) -> str:
    if requested is None or requested == "":
        return "base64"  # the documented default
    name = _BY_LOWER.get(requested.lower())
    if name is None:
        raise ScmError(-126, "Unknown SSL certificate file format requested")
    return name


def _pem(certs: list[x509.Certificate]) -> bytes:
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs)


def render(
    leaf_pem: str, ca: CertificateAuthority, fmt: str, root_first: bool
) -> tuple[bytes, str]:
    """(body, file extension) for one format."""
    leaf = x509.load_pem_x509_certificate(leaf_pem.encode())
    root, intermediate = ca.root.cert, ca.issuer_of(leaf).cert
    leaf_first = [leaf, intermediate, root]
    full = list(reversed(leaf_first)) if root_first else leaf_first
    chains: dict[str, list[x509.Certificate]] = {
        "x509": full,
        "pem": full,
        "x509R": leaf_first,
        "pemia": leaf_first,
        "x509CO": [leaf],
        "pemco": [leaf],
        "x509IO": [root, intermediate],
        "x509IOR": [intermediate, root],
    }
    if fmt == "base64":
        return pkcs7.serialize_certificates(leaf_first, serialization.Encoding.PEM), "p7b"
    if fmt == "bin":
        return pkcs7.serialize_certificates(leaf_first, serialization.Encoding.DER), "p7b"
    return _pem(chains[fmt]), _EXTENSIONS.get(fmt, "crt")
