"""ARI (RFC 9773): each certificate's renewal window, from the broker's own renewal schedule.

A certificate the broker wants replaced (revoked, superseded, or revocation requested) gets a
window that has already opened, so an ARI-aware client renews at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.acme_server.jws import b64url, b64url_decode
from app.acme_server.problems import AcmeProblem
from app.certificates.models import Certificate, CertificateStatus
from app.db import utcnow
from app.lifecycle.renewal import own_window_opens
from app.organizations.models import Organization
from app.settings import LifecycleSettings


def cert_id(leaf: x509.Certificate) -> str:
    """The ARI identifier: base64url(AKI keyIdentifier) "." base64url(serial's DER bytes)."""
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    serial = leaf.serial_number
    raw = serial.to_bytes((serial.bit_length() + 8) // 8, "big")  # DER INTEGER: sign bit room
    return f"{b64url(aki.key_identifier or b'')}.{b64url(raw)}"


def _parse(identifier: str) -> tuple[bytes, str]:
    aki, dot, serial = identifier.partition(".")
    if not dot or not aki or not serial or len(identifier) > 200:
        raise AcmeProblem("malformed", "a certificate identifier is AKI.serial in base64url")
    return b64url_decode(aki, "the AKI"), format(int.from_bytes(b64url_decode(serial), "big"), "x")


async def find_certificate(
    session: AsyncSession, org: Organization, identifier: str
) -> Certificate | None:
    aki, serial = _parse(identifier)
    rows = await session.execute(
        select(Certificate).where(
            Certificate.organization_id == org.id, Certificate.serial == serial
        )
    )
    for cert in rows.scalars():
        if cert.leaf_pem is None:
            continue
        leaf = x509.load_pem_x509_certificate(cert.leaf_pem.encode())
        try:
            ext = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        except x509.ExtensionNotFound:
            continue
        if ext.key_identifier == aki:
            return cert
    return None


def _rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def renewal_info(cert: Certificate, settings: LifecycleSettings) -> dict[str, Any]:
    now = utcnow()
    replace_now = (
        cert.status is not CertificateStatus.ISSUED
        or cert.revocation_requested_at is not None
        or cert.not_before is None
        or cert.not_after is None
    )
    if replace_now:
        start, end = now - dt.timedelta(hours=1), now
    else:
        assert cert.not_after is not None
        start = own_window_opens(cert, settings)
        end = start + (cert.not_after - start) / 2
    window = {"start": _rfc3339(start), "end": _rfc3339(end)}
    return {"suggestedWindow": window}
