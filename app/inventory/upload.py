"""Uploading any CA's certificate (leaf, optionally followed by its chain) for monitoring."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.certificates.models import Certificate, CertificateSource
from app.errors import Conflict, Unprocessable
from app.inventory.leaf import LeafFacts, fingerprint, read_leaf, to_pem
from app.inventory.schemas import CertificateUpload
from app.inventory.service import (
    EXTERNAL_BACKEND,
    EXTERNAL_PRODUCT,
    add_external,
    find_external,
    status_by_dates,
)
from app.issuers.scm.chain import order_chain
from app.metrics.registry import record_import
from app.organizations.service import get_organization

PEM_BEGIN = "-----BEGIN CERTIFICATE-----"
FIELD = "body.pem"


class PemProblem(ValueError):
    """Why an uploaded PEM is refused, in words that name the fix."""


@dataclass(frozen=True, slots=True)
class UploadedPem:
    leaf: x509.Certificate
    chain: list[x509.Certificate]  # leaf-issuer first
    facts: LeafFacts


def parse_upload(pem: str) -> UploadedPem:
    """The leaf and its chain from PEM text; refuses keys, CA leaves and unrelated extras."""
    text = pem.replace("\r\n", "\n").strip()
    if "PRIVATE KEY-----" in text:
        raise PemProblem("contains a private key; upload certificates only")
    if PEM_BEGIN not in text:
        raise PemProblem(f"no PEM certificate found (expected {PEM_BEGIN})")
    try:
        certs = x509.load_pem_x509_certificates(text.encode())
    except ValueError as exc:
        raise PemProblem(f"a certificate cannot be decoded: {exc}") from None
    leaf, rest = certs[0], certs[1:]
    facts = read_leaf(leaf)
    if facts.is_ca:
        raise PemProblem("the first certificate is a CA certificate; put the leaf first")
    if not facts.names:
        raise PemProblem("the first certificate names no DNS name and no common name")
    chain = order_chain(leaf, rest)
    linked = {fingerprint(c) for c in chain} | {fingerprint(leaf)}
    stray = [i + 2 for i, c in enumerate(rest) if fingerprint(c) not in linked]
    if stray:
        which = ", ".join(str(i) for i in stray)
        raise PemProblem(f"certificate {which} is not in the first certificate's issuer chain")
    return UploadedPem(leaf=leaf, chain=chain, facts=facts)


async def upload_certificate(
    session: AsyncSession, caller: Principal, body: CertificateUpload
) -> Certificate:
    org = await get_organization(session, body.organization_id, caller.tenant_id)
    try:
        uploaded = parse_upload(body.pem)
    except PemProblem as exc:
        raise Unprocessable.field(FIELD, str(exc)) from None
    facts = uploaded.facts
    ref = fingerprint(uploaded.leaf)
    existing = await find_external(session, org.id, ref)
    if existing is not None:
        raise Conflict(
            f"this certificate is already in the inventory as {existing.id}",
            extra={"certificate_id": existing.id},
        )
    cert = Certificate(
        tenant_id=org.tenant_id,
        organization_id=org.id,
        product=EXTERNAL_PRODUCT,
        validation_level=facts.validation_level or "",
        backend=EXTERNAL_BACKEND,
        common_name=facts.common_name[:253],
        names=facts.names,
        term_days=max(1, round((facts.not_after - facts.not_before).total_seconds() / 86400)),
        comments=body.comments,
        labels=body.labels,
        auto_renew=False,  # the broker holds no order it could renew
        status=status_by_dates(facts.not_after),
        key_type=facts.key_type,
        key_source="csr",  # the owner holds the key
        csr_pem="",
        public_key_sha256=facts.public_key_sha256,
        requested_by=caller.subject,
        backend_ref=ref,
        detail={"fingerprint_sha256": ref},
        serial=facts.serial_hex[:64],
        not_before=facts.not_before,
        not_after=facts.not_after,
        leaf_pem=to_pem([uploaded.leaf]),
        chain_pem=to_pem(uploaded.chain) or None,
        issuer_dn=facts.issuer_dn[:500],
        issued_at=facts.not_before,
        source=CertificateSource.UPLOAD,
    )
    add_external(session, cert, org, caller.subject, f"uploaded for monitoring ({facts.issuer_dn})")
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("this certificate is already in the inventory") from None
    record_import(CertificateSource.UPLOAD.value)
    return cert
