"""Certificate signing requests: parse and check what callers send, build what the broker needs."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from app.catalog.names import normalise
from app.catalog.products import KeyType


class CsrError(ValueError):
    """The CSR cannot be used; the message says why in words the caller can act on."""


@dataclass(frozen=True, slots=True)
class ParsedCsr:
    pem: str
    common_name: str | None
    dns_names: list[str]  # SAN DNS names, normalised, in the CSR's order
    key_type: KeyType | None  # None when the key is of a kind the broker does not accept
    public_key_sha256: str

    @property
    def all_names(self) -> set[str]:
        names = set(self.dns_names)
        if self.common_name:
            names.add(self.common_name)
        return names


def key_type_of(public_key: object) -> KeyType | None:
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return {"secp256r1": KeyType.EC_P256, "secp384r1": KeyType.EC_P384}.get(
            public_key.curve.name
        )
    if isinstance(public_key, rsa.RSAPublicKey):
        return {2048: KeyType.RSA_2048, 3072: KeyType.RSA_3072, 4096: KeyType.RSA_4096}.get(
            public_key.key_size
        )
    return None


def parse_csr(pem: str) -> ParsedCsr:
    text = pem.strip()
    if (
        "-----BEGIN CERTIFICATE REQUEST-----" not in text
        and "-----BEGIN NEW CERTIFICATE REQUEST-----" not in text
    ):
        raise CsrError(
            "not a PEM certificate request (expected -----BEGIN CERTIFICATE REQUEST-----)"
        )
    try:
        csr = x509.load_pem_x509_csr(text.encode())
    except ValueError as exc:
        raise CsrError(f"the CSR cannot be decoded: {exc}") from None
    if not csr.is_signature_valid:
        raise CsrError("the CSR's signature does not verify against its own public key")
    cn_attrs = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    common_name = normalise(str(cn_attrs[0].value)) if cn_attrs else None
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = [normalise(n) for n in san.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        dns_names = []
    public_key = csr.public_key()
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashes.Hash(hashes.SHA256())
    digest.update(spki)
    return ParsedCsr(
        pem=text + "\n",
        common_name=common_name,
        dns_names=dns_names,
        key_type=key_type_of(public_key),
        public_key_sha256=digest.finalize().hex(),
    )


def build_csr(private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, names: list[str]) -> str:
    """A CSR with the first name as CN (when it fits in 64 characters) and every name as SAN."""
    subject = (
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
        if len(names[0]) <= 64
        else x509.Name([])
    )
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
        .sign(private_key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()
