"""What the inventory reads out of an X.509 certificate: names, key type, key digest, level.

Pure functions, no I/O; shared by the SCM import and the upload.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

# CA/Browser Forum policy OIDs say which validation the CA performed.
_POLICY_LEVELS = {
    "2.23.140.1.1": "EV",
    "2.23.140.1.2.1": "DV",
    "2.23.140.1.2.2": "OV",
    "2.23.140.1.2.3": "IV",
}


@dataclass(frozen=True, slots=True)
class LeafFacts:
    common_name: str
    names: list[str]  # the common name first, then the other DNS names
    key_type: str
    public_key_sha256: str
    serial_hex: str
    not_before: dt.datetime
    not_after: dt.datetime
    issuer_dn: str
    validation_level: str | None  # from the CA/B Forum policy OID, when present
    is_ca: bool


def key_type_of(cert: x509.Certificate) -> str:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA-{key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        curves = {"secp256r1": "EC-P256", "secp384r1": "EC-P384", "secp521r1": "EC-P521"}
        return curves.get(key.curve.name, f"EC-{key.curve.name}")[:16]
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448"
    return "unknown"


def _dns_names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [name.lower() for name in san.get_values_for_type(x509.DNSName)]


def _validation_level(cert: x509.Certificate) -> str | None:
    try:
        policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    except x509.ExtensionNotFound:
        return None
    for policy in policies:
        level = _POLICY_LEVELS.get(policy.policy_identifier.dotted_string)
        if level:
            return level
    return None


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def read_leaf(cert: x509.Certificate) -> LeafFacts:
    cn_attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    dns = _dns_names(cert)
    common_name = str(cn_attrs[0].value).lower() if cn_attrs else (dns[0] if dns else "")
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return LeafFacts(
        common_name=common_name,
        names=list(dict.fromkeys([n for n in [common_name, *dns] if n])),
        key_type=key_type_of(cert),
        public_key_sha256=hashlib.sha256(spki).hexdigest(),
        serial_hex=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        issuer_dn=cert.issuer.rfc4514_string(),
        validation_level=_validation_level(cert),
        is_ca=_is_ca(cert),
    )


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate: an uploaded certificate's identity."""
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def to_pem(certs: list[x509.Certificate]) -> str:
    return "".join(c.public_bytes(Encoding.PEM).decode() for c in certs)
