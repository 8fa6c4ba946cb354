"""State changes on existing orders: approve, decline, revoke, renew, replace, with SCM's codes."""

from __future__ import annotations

import time

from app.sandbox.scm.catalog import ORGANIZATIONS, PROFILES
from app.sandbox.scm.csr import check_key, parse_csr, spki_sha256
from app.sandbox.scm.enrollment import check_names, new_renew_id
from app.sandbox.scm.errors import ScmError
from app.sandbox.scm.records import Order
from app.sandbox.scm.store import ScmStore

REVOCATION_REASONS = {0, 1, 3, 4, 5}


def check_message(text: str | None, field: str) -> str:
    if text is None or not 1 <= len(text) <= 512:
        raise ScmError(-1601, f"The '{field}' field must be 1 to 512 characters long.")
    return text


def approve(store: ScmStore, order: Order, approver: str, message: str | None) -> None:
    check_message(message, "message")
    if order.status != "Requested":
        raise ScmError(-1112, f"The certificate cannot be approved in status {order.status}.")
    if approver == order.requester and not store.behaviour.approver_may_be_requester:
        raise ScmError(-1140, "The requester cannot approve their own request.")
    order.status = "Approved"
    order.forced_stuck = False  # an explicit approval moves a forced order on
    order.approved_at = time.time()
    order.approver = approver
    order.approval_message = message or ""
    store.changed()


def decline(store: ScmStore, order: Order, message: str | None) -> None:
    check_message(message, "message")
    if order.status not in {"Requested", "Approved"}:
        raise ScmError(-1112, f"The certificate cannot be declined in status {order.status}.")
    order.status = "Declined"
    order.declined_at = time.time()
    order.decline_message = message or ""
    store.changed()


def revoke(
    store: ScmStore, order: Order, reason: str | None, reason_code: int | str | None
) -> None:
    check_message(reason, "reason")
    code = int(reason_code) if reason_code not in (None, "") else 0
    if code not in REVOCATION_REASONS:
        raise ScmError(-1601, "The 'reasonCode' field must be one of 0, 1, 3, 4, 5.")
    if order.status == "Revoked":
        raise ScmError(-159, "The certificate has already been revoked.")
    if order.status != "Issued":
        raise ScmError(-102, "Only issued certificates can be revoked.")
    order.status = "Revoked"
    order.revoked_at = time.time()
    order.revoke_reason = reason or ""
    order.revoke_reason_code = code
    store.changed()


def _checked_csr(store: ScmStore, order: Order, csr_text: str) -> tuple[str, str]:
    csr = parse_csr(csr_text)
    key_type = check_key(csr, PROFILES[order.cert_type_id].key_types)
    return key_type, spki_sha256(csr.public_key())


def renew(store: ScmStore, order: Order, csr_text: str | None) -> Order:
    """A new order for the same names, profile and term; the old one is marked renewed."""
    if order.status not in {"Issued", "Expired", "Revoked"}:
        raise ScmError(-130, "SSL state is not ISSUED.")
    fresh = order.model_copy(deep=True)
    if csr_text:
        fresh.csr_pem = csr_text.strip()
        fresh.key_type, fresh.spki_sha256 = _checked_csr(store, order, csr_text)
    now = time.time()
    fresh.id = store.next_id("order")
    fresh.renew_id = new_renew_id()
    fresh.order_number = store.next_id("order_number")
    for field in (
        "approved_at",
        "applied_at",
        "issued_at",
        "declined_at",
        "revoked_at",
        "replaced_at",
        "renewed_at",
        "not_after",
        "revoke_reason_code",
    ):
        setattr(fresh, field, None)
    fresh.status, fresh.requested_at, fresh.cert_pem, fresh.serial_hex = "Requested", now, "", ""
    fresh.approver = fresh.revoke_reason = ""
    fresh.forced_stuck = False
    order.renewed_at = now
    store.saved.orders[fresh.id] = fresh
    store.changed()
    return fresh


def replace(
    store: ScmStore,
    order: Order,
    csr_text: str,
    reason: str | None,
    common_name: str | None,
    sans: list[str] | None,
) -> None:
    """Same sslId, new CSR (and optionally names); the order goes back through issuance."""
    check_message(reason, "reason")
    if order.status not in {"Issued", "Applied"}:
        raise ScmError(-130, "SSL state is not ISSUED.")
    key_type, spki = _checked_csr(store, order, csr_text)
    names = [common_name or order.common_name, *(sans if sans is not None else order.sans)]
    check_names(store, PROFILES[order.cert_type_id], order.org_id, names)
    now = time.time()
    order.csr_pem, order.key_type, order.spki_sha256 = csr_text.strip(), key_type, spki
    order.common_name = names[0].lower()
    order.sans = [name.lower() for name in names[1:]]
    order.replaced_at = now
    order.status, order.applied_at = "Applied", now
    order.forced_stuck = False
    order.cert_pem = order.serial_hex = ""
    order.issued_at = order.not_after = None
    store.changed()


EDITABLE_STATUSES = {"Requested", "Declined", "Rejected", "Invalid"}


def edit(store: ScmStore, order: Order, changes: dict) -> None:
    """PUT /ssl/v1: notes any time; org, profile, term, names and CSR only before the CA has it."""
    certificate_fields = {
        "orgId",
        "certTypeId",
        "term",
        "commonName",
        "csr",
        "subjectAlternativeNames",
    }
    if certificate_fields & changes.keys() and order.status not in EDITABLE_STATUSES:
        raise ScmError(-1601, f"Certificate fields cannot be changed in status {order.status}.")
    if "orgId" in changes and changes["orgId"] not in ORGANIZATIONS:
        raise ScmError(-1023, f"Organization with id {changes['orgId']} was not found.")
    if "certTypeId" in changes and changes["certTypeId"] not in PROFILES:
        raise ScmError(-111, f"There is no profile with id {changes['certTypeId']}.")
    profile = PROFILES[changes.get("certTypeId", order.cert_type_id)]
    if "term" in changes and changes["term"] not in profile.terms:
        raise ScmError(-36, f"Term {changes['term']} is not valid for profile '{profile.name}'.")
    if "csr" in changes:
        order.key_type, order.spki_sha256 = _checked_csr(store, order, changes["csr"])
        order.csr_pem = changes["csr"].strip()
    simple = {
        "orgId": "org_id",
        "certTypeId": "cert_type_id",
        "term": "term",
        "comments": "comments",
        "externalRequester": "external_requester",
        "customFields": "custom_fields",
    }
    for wire, field in simple.items():
        if wire in changes:
            setattr(order, field, changes[wire])
    if "commonName" in changes:
        order.common_name = changes["commonName"].lower()
    if "subjectAlternativeNames" in changes:
        order.sans = [name.lower() for name in changes["subjectAlternativeNames"]]
    store.changed()
