"""Order status over time: Requested -> (Approved) -> Applied -> Issued, evaluated lazily on access.

Nothing runs in the background: every read first moves the order along according to the
configured delays, with transition times computed from the previous one, so results do not
depend on when a client happens to poll.
"""

from __future__ import annotations

import time

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from app.sandbox.scm.catalog import PROFILES, top_level_org
from app.sandbox.scm.csr import parse_csr
from app.sandbox.scm.errors import ScmError
from app.sandbox.scm.records import Order
from app.sandbox.scm.store import ScmStore

PENDING_STATUSES = {"Requested", "Approved", "Applied"}


def refresh(order: Order, store: ScmStore) -> Order:
    if order.forced_stuck:
        return order
    behaviour = store.behaviour
    now = time.time()
    profile = PROFILES[order.cert_type_id]
    to_applied = behaviour.requested_to_applied_seconds
    if order.status in {"Requested", "Approved"} and to_applied is not None:
        start = order.approved_at if order.status == "Approved" else order.requested_at
        waiting_for_approval = order.status == "Requested" and profile.requires_approval
        if start is not None and not waiting_for_approval and now >= start + to_applied:
            order.status = "Applied"
            order.applied_at = start + to_applied
            store.changed()
    to_issued = behaviour.applied_to_issued_seconds
    if order.status == "Applied" and to_issued is not None and not store.faults.stuck_in_applied:
        assert order.applied_at is not None
        if now >= order.applied_at + to_issued:
            issue(order, store, at=order.applied_at + to_issued)
    if order.status == "Issued" and order.not_after and now > order.not_after:
        order.status = "Expired"
        store.changed()
    return order


def leaf_subject(order: Order) -> x509.Name:
    """DV: CN only. OV adds the organization's name and address; EV adds the EV fields."""
    profile = PROFILES[order.cert_type_id]
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, order.common_name)]
    if profile.validation in {"OV", "EV"}:
        org = top_level_org(order.org_id)
        name = (
            org.secondary_name
            if profile.use_secondary_org_name and org.secondary_name
            else org.name
        )
        attributes = [
            x509.NameAttribute(NameOID.COUNTRY_NAME, org.country),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, org.state),
            x509.NameAttribute(NameOID.LOCALITY_NAME, org.city),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
            *attributes,
        ]
        if profile.validation == "EV":
            attributes = [
                x509.NameAttribute(NameOID.BUSINESS_CATEGORY, "Private Organization"),
                x509.NameAttribute(NameOID.JURISDICTION_COUNTRY_NAME, org.country),
                x509.NameAttribute(NameOID.SERIAL_NUMBER, f"HRB {org.id}"),
                *attributes,
            ]
    return x509.Name(attributes)


def issue(order: Order, store: ScmStore, at: float) -> None:
    csr = parse_csr(order.csr_pem)
    names = list(dict.fromkeys([order.common_name, *order.sans]))
    cert = store.ca.issue_leaf(
        csr.public_key(),
        leaf_subject(order),
        names,
        order.term,
        PROFILES[order.cert_type_id].validation,
    )
    order.cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    order.serial_hex = format(cert.serial_number, "x")
    order.not_after = cert.not_valid_after_utc.timestamp()
    order.issued_at = at
    order.status = "Issued"
    store.changed()


def current_order(store: ScmStore, ssl_id: int) -> Order:
    """The order brought up to date, or SCM's 404 for an unknown sslId."""
    order = store.saved.orders.get(ssl_id)
    if order is None:
        raise ScmError(-5101, f"Certificate with id {ssl_id} was not found.", 404)
    return refresh(order, store)
