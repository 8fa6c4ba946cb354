"""Turning a downloaded PEM chain into the broker's IssuedCertificate, choosing among alternates."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from app.issuers.acme.client import AcmeAccount, AcmeClient
from app.issuers.acme.errors import AcmeTransportError
from app.issuers.acme.models import CertificateChain
from app.issuers.base import IssuedCertificate


def split_chain(pem: str) -> list[x509.Certificate]:
    try:
        certificates = x509.load_pem_x509_certificates(pem.encode())
    except ValueError as exc:
        raise AcmeTransportError(f"the certificate download is not a PEM chain: {exc}") from exc
    return certificates


def _top_issuer_name(certificates: list[x509.Certificate]) -> str:
    names = certificates[-1].issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


async def download_preferred_chain(
    client: AcmeClient, account: AcmeAccount, url: str, preferred: str | None
) -> CertificateChain:
    """The default chain, or the first alternate whose top issuer's CN is `preferred`."""
    chain = await client.download_certificate(account, url)
    if not preferred or _top_issuer_name(split_chain(chain.pem)) == preferred:
        return chain
    for alternate_url in chain.alternates:
        alternate = await client.download_certificate(account, alternate_url)
        if _top_issuer_name(split_chain(alternate.pem)) == preferred:
            # Keep the canonical URL as the reference: alternates are views of one certificate.
            return CertificateChain(url, alternate.pem, chain.alternates)
    return chain


def issued_certificate(chain: CertificateChain) -> IssuedCertificate:
    certificates = split_chain(chain.pem)
    leaf, issuers = certificates[0], certificates[1:]

    def pem(certificate: x509.Certificate) -> str:
        return certificate.public_bytes(serialization.Encoding.PEM).decode()

    return IssuedCertificate(
        leaf_pem=pem(leaf),
        chain_pems=[pem(c) for c in issuers],
        serial_hex=format(leaf.serial_number, "x"),
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
        backend_ref=chain.url,
    )
