"""Revoking at SCM: RFC 5280 reasons mapped to SCM's allowed codes, safe to call twice."""

from __future__ import annotations

from cryptography import x509

from app.issuers.scm.client import ScmClient
from app.issuers.scm.errors import ScmError, ScmValidationError

RFC5280_NAMES = {
    0: "unspecified",
    1: "keyCompromise",
    2: "cACompromise",
    3: "affiliationChanged",
    4: "superseded",
    5: "cessationOfOperation",
    6: "certificateHold",
    9: "privilegeWithdrawn",
    10: "aACompromise",
}
# SCM takes only 0, 1, 3, 4, 5. A compromised CA/AA key means this key can no longer be
# trusted either, so those become keyCompromise; hold and withdrawal have no SCM equivalent.
RFC5280_TO_SCM = {0: 0, 1: 1, 2: 1, 3: 3, 4: 4, 5: 5, 6: 0, 9: 0, 10: 1}
ALREADY_REVOKED = -159


def scm_reason_code(rfc5280_reason: int) -> int:
    try:
        return RFC5280_TO_SCM[rfc5280_reason]
    except KeyError:
        raise ValueError(f"RFC 5280 reason {rfc5280_reason} cannot be used to revoke") from None


async def revoke_certificate(
    client: ScmClient, certificate_pem: str, backend_ref: str, reason: int
) -> None:
    """Revoke by sslId (the backend_ref), or by serial when the ref is not an SCM id.

    Revoke is not retried blindly: after an ambiguous failure the certificate's status is
    read, and an already-revoked certificate (-159) counts as success.
    """
    code = scm_reason_code(reason)
    text = f"RFC 5280 reason {RFC5280_NAMES.get(reason, reason)} ({reason}), via certbroker"
    try:
        if backend_ref.isdigit():
            await client.revoke(int(backend_ref), code, text)
        else:
            cert = x509.load_pem_x509_certificate(certificate_pem.encode())
            await client.revoke_by_serial(format(cert.serial_number, "x"), code, text)
    except ScmValidationError as exc:
        if exc.code != ALREADY_REVOKED:
            raise
    except ScmError as exc:
        if not exc.ambiguous or not backend_ref.isdigit():
            raise
        if (await client.details(int(backend_ref))).status != "Revoked":
            raise
