"""CSR checks for enroll, replace and renew, with SCM's error codes. Pure functions, no state."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from app.sandbox.scm.errors import ScmError

_PEM_ARMOUR = re.compile(r"-----(BEGIN|END) (NEW )?CERTIFICATE REQUEST-----")
_CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


def parse_csr(text: str) -> x509.CertificateSigningRequest:
    """Accepts PEM or bare base64 DER, as SCM does."""
    body = "".join(_PEM_ARMOUR.sub("", text).split())
    try:
        der = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ScmError(-9, "CSR is not a valid Base-64 string.") from None
    try:
        csr = x509.load_der_x509_csr(der)
        if not csr.is_signature_valid:
            raise ValueError("bad signature")
    except ValueError:
        raise ScmError(-10, "CSR cannot be decoded.") from None
    return csr


def key_type(csr: x509.CertificateSigningRequest) -> tuple[str, str]:
    """(algorithm, parameter) as profiles list them, e.g. ("RSA", "2048") or ("EC", "P-256")."""
    key = csr.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", str(key.key_size)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", _CURVE_NAMES.get(key.curve.name, key.curve.name)
    raise ScmError(-11, "CSR uses an unsupported algorithm.")


def check_key(csr: x509.CertificateSigningRequest, allowed: dict[str, list[str]]) -> str:
    """The details' keyType ("RSA - 2048") when the profile allows the key, else an SCM error."""
    algorithm, parameter = key_type(csr)
    if algorithm == "RSA" and int(parameter) < 2048:
        raise ScmError(-141, "The key size of the CSR is too small.")
    if parameter not in allowed.get(algorithm, []):
        raise ScmError(-13, f"The CSR key size or curve {algorithm} {parameter} is not supported.")
    return f"{algorithm} - {parameter}"


def common_name(csr: x509.CertificateSigningRequest) -> str | None:
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None


def dns_names(csr: x509.CertificateSigningRequest) -> list[str]:
    try:
        extension = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return extension.value.get_values_for_type(x509.DNSName)


def spki_sha256(public_key) -> str:
    """Identifies a key across orders: SHA-256 of the DER SubjectPublicKeyInfo, hex."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()
