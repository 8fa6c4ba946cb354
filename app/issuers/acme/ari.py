"""ACME Renewal Information (RFC 9773): the certificate identifier the CA's renewalInfo takes."""

from __future__ import annotations

from cryptography import x509

from app.issuers.acme.jws import b64url


def serial_der_bytes(serial: int) -> bytes:
    """The content octets of the DER INTEGER: two's complement, so a serial whose top bit
    is set keeps its leading zero byte (RFC 9773 §4.1 example: 0x87654321 -> 00 87 65 43 21)."""
    return serial.to_bytes(serial.bit_length() // 8 + 1, "big", signed=True)


def cert_id(certificate: x509.Certificate) -> str:
    """base64url(AKI keyIdentifier) "." base64url(serial DER bytes), without padding."""
    try:
        aki = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    except x509.ExtensionNotFound as exc:
        raise ValueError("certificate has no Authority Key Identifier; ARI needs one") from exc
    key_identifier = aki.value.key_identifier
    if key_identifier is None:
        raise ValueError("certificate's Authority Key Identifier has no keyIdentifier")
    return f"{b64url(key_identifier)}.{b64url(serial_der_bytes(certificate.serial_number))}"
