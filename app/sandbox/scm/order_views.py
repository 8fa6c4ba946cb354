"""How orders look on the wire: certificate details and the minimal list item."""

from __future__ import annotations

import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import SignatureAlgorithmOID

from app.sandbox.scm.catalog import PROFILES, VALIDATION_TYPES
from app.sandbox.scm.dates import DateFormatter
from app.sandbox.scm.records import Order

_ECDSA_SIGNATURES = {
    SignatureAlgorithmOID.ECDSA_WITH_SHA256,
    SignatureAlgorithmOID.ECDSA_WITH_SHA384,
    SignatureAlgorithmOID.ECDSA_WITH_SHA512,
}


def colon_hex(serial_hex: str) -> str:
    """SCM's serial spelling: uppercase byte pairs joined by colons, e.g. 0A:1B:..."""
    padded = serial_hex.upper().rjust(len(serial_hex) + len(serial_hex) % 2, "0")
    return ":".join(padded[i : i + 2] for i in range(0, len(padded), 2))


def all_names(order: Order) -> list[str]:
    return list(dict.fromkeys([order.common_name, *order.sans]))


def list_item(order: Order) -> dict:
    item = {
        "sslId": order.id,
        "commonName": order.common_name,
        "subjectAlternativeNames": all_names(order),
    }
    if order.serial_hex:
        item["serialNumber"] = colon_hex(order.serial_hex)
    return item


def _key_usages(cert: x509.Certificate) -> list[str]:
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    names = {"digitalSignature": usage.digital_signature, "keyEncipherment": usage.key_encipherment}
    return [name for name, present in names.items() if present]


def _certificate_fields(order: Order) -> dict:
    cert = x509.load_pem_x509_certificate(order.cert_pem.encode())
    der = cert.public_bytes(serialization.Encoding.DER)
    algorithm, parameter = order.key_type.split(" - ")
    signature = cert.signature_hash_algorithm.name.upper() if cert.signature_hash_algorithm else ""
    signer = "ECDSA" if cert.signature_algorithm_oid in _ECDSA_SIGNATURES else "RSA"
    return {
        "serialNumber": colon_hex(order.serial_hex),
        "signatureAlg": f"{signature}WITH{signer}",
        "keyAlgorithm": algorithm,
        "keySize": int(parameter) if algorithm == "RSA" else int(parameter[2:]),
        "keyType": order.key_type,
        "keyUsages": _key_usages(cert),
        "extendedKeyUsages": ["serverAuth", "clientAuth"],
        "certificateDetails": {
            "issuer": cert.issuer.rfc4514_string(),
            "subject": cert.subject.rfc4514_string(),
            "subjectAltNames": ", ".join(f"dNSName={name}" for name in all_names(order)),
            "md5Hash": hashlib.md5(der, usedforsecurity=False).hexdigest().upper(),
            "sha1Hash": hashlib.sha1(der, usedforsecurity=False).hexdigest().upper(),
        },
    }


def details(order: Order, date: DateFormatter) -> dict:
    profile = PROFILES[order.cert_type_id]
    body: dict = {
        "commonName": order.common_name,
        "sslId": order.id,
        "id": order.id,
        "orgId": order.org_id,
        "status": order.status,
        "orderNumber": order.order_number,
        "backendCertId": str(order.order_number),
        "vendor": "Sectigo Limited",
        "certType": profile.public(),
        "validationType": VALIDATION_TYPES[profile.validation],
        "term": order.term,
        "owner": order.approver or None,
        "requester": order.requester,
        "requestedVia": order.requested_via,
        "externalRequester": order.external_requester or None,
        "comments": order.comments or None,
        "requested": date(order.requested_at),
        "approved": date(order.approved_at),
        "issued": date(order.issued_at),
        "declined": date(order.declined_at),
        "expires": date(order.not_after),
        "revoked": date(order.revoked_at),
        "replaced": date(order.replaced_at),
        "reasonCode": order.revoke_reason_code,
        "renewed": order.renewed_at is not None,
        "renewedDate": date(order.renewed_at),
        "keyAlgorithm": order.key_type.split(" - ")[0],
        "keySize": 0,
        "keyType": order.key_type.split(" - ")[0],  # SCM shows only the algorithm until issued
        "subjectAlternativeNames": all_names(order),
        "customFields": order.custom_fields,
        "autoInstallDetails": {"state": "Not configured", "nodes": []},
        "autoRenewDetails": {"state": "Not scheduled"},
        "suspendNotifications": False,
    }
    if order.cert_pem:
        body.update(_certificate_fields(order))
    return {key: value for key, value in body.items() if value is not None}
