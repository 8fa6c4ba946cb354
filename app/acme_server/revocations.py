"""revokeCert (RFC 8555 §7.6): by the account that ordered the certificate, or by its own key;
the revocation itself is the REST API's (app/certificates/revocation.py)."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from app.acme_server import jws as jose
from app.acme_server.accounts import account_subject, acme_principal
from app.acme_server.envelope import AcmeAnswer, AcmeRequest
from app.acme_server.models import AcmeOrder
from app.acme_server.problems import AcmeProblem
from app.audit import service as audit
from app.certificates.models import Certificate
from app.certificates.revocation import AlreadyRevoked, request_revocation
from app.certificates.schemas import REASON_CODES
from app.errors import Conflict


def _spki(key: object) -> bytes:
    return key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


async def revoke_certificate(ctx: AcmeRequest) -> AcmeAnswer:
    payload = ctx.jws.payload_object()
    reason = payload.get("reason", 0)
    if (
        not isinstance(reason, int)
        or isinstance(reason, bool)
        or reason not in REASON_CODES.values()
    ):
        allowed = ", ".join(str(c) for c in sorted(REASON_CODES.values()))
        raise AcmeProblem("badRevocationReason", f"reason must be one of {allowed}")
    raw = payload.get("certificate")
    if not isinstance(raw, str):
        raise AcmeProblem("malformed", "revokeCert needs certificate: base64url DER")
    try:
        leaf = x509.load_der_x509_certificate(jose.b64url_decode(raw, "certificate"))
    except ValueError:
        raise AcmeProblem("malformed", "the certificate is not DER") from None
    rows = await ctx.session.execute(
        select(Certificate).where(
            Certificate.organization_id == ctx.org.id,
            Certificate.serial == format(leaf.serial_number, "x"),
        )
    )
    der = leaf.public_bytes(serialization.Encoding.DER)
    cert = next(
        (
            c
            for c in rows.scalars()
            if c.leaf_pem
            and x509.load_pem_x509_certificate(c.leaf_pem.encode()).public_bytes(
                serialization.Encoding.DER
            )
            == der
        ),
        None,
    )
    if cert is None:
        raise AcmeProblem("unauthorized", "this directory issued no such certificate")
    if ctx.account is not None:
        owned = await ctx.session.execute(
            select(AcmeOrder.id).where(
                AcmeOrder.certificate_id == cert.id, AcmeOrder.account_id == ctx.account.id
            )
        )
        if owned.first() is None:
            raise AcmeProblem("unauthorized", "the account did not order this certificate")
        actor = account_subject(ctx.account)
    else:
        if _spki(jose.public_key(ctx.jwk or {})) != _spki(leaf.public_key()):
            raise AcmeProblem("unauthorized", "the JWS key is not the certificate's key")
        actor = f"acme-certificate-key:{cert.id}"
    try:
        await request_revocation(ctx.session, cert, reason, actor, "revoked over ACME")
    except AlreadyRevoked as exc:
        raise AcmeProblem("alreadyRevoked", exc.detail) from None
    except Conflict as exc:
        raise AcmeProblem("unauthorized", exc.detail) from None
    audit.record(
        ctx.session,
        acme_principal(ctx.org.tenant_id, actor),
        "acme.certificate.revoke",
        "certificate",
        cert.id,
        {"reason": reason},
    )
    return AcmeAnswer(200)
