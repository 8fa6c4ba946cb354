"""Domain control validation: the per-domain DCV state machine and which names it covers."""

from __future__ import annotations

import secrets
import time

from app.sandbox.scm.records import DomainRecord
from app.sandbox.scm.store import ScmStore


def find_domain(store: ScmStore, name: str) -> DomainRecord | None:
    name = name.lower().rstrip(".")
    return next((d for d in store.saved.domains.values() if d.name == name), None)


def refresh_dcv(domain: DomainRecord, store: ScmStore) -> DomainRecord:
    """A submitted order validates after the configured delay (the simulator checks no DNS)."""
    delay = store.behaviour.dcv_validation_seconds
    submitted = domain.dcv_submitted_at
    due = delay is not None and submitted is not None and time.time() >= submitted + delay
    if domain.dcv_order_status == "SUBMITTED" and due:
        domain.dcv_status = "VALIDATED"
        domain.dcv_order_status = "NOT_INITIATED"
        domain.dcv_method = domain.dcv_order_method
        domain.validated_at = submitted + delay
        domain.expires_at = domain.validated_at + store.behaviour.dcv_expiry_seconds
        store.changed()
    return domain


def dcv_status(domain: DomainRecord) -> str:
    if domain.dcv_status == "VALIDATED" and domain.expires_at and time.time() > domain.expires_at:
        return "EXPIRED"
    return domain.dcv_status


def covering_status(store: ScmStore, name: str) -> str | None:
    """Best DCV status of the registered domains covering `name` (itself or a parent), or None."""
    name = name.lower().rstrip(".")
    bare = name[2:] if name.startswith("*.") else name
    found = set()
    for domain in store.saved.domains.values():
        registered = domain.name[2:] if domain.name.startswith("*.") else domain.name
        if bare == registered or bare.endswith("." + registered):
            found.add(dcv_status(refresh_dcv(domain, store)))
    # An expired validation is the more useful answer than an unrelated unvalidated parent.
    return next((s for s in ("VALIDATED", "EXPIRED", "NOT_VALIDATED") if s in found), None)


def ensure_tokens(domain: DomainRecord) -> None:
    """T (32 hex) and H (64 hex) are fixed per validation order, as in Sectigo's examples."""
    if not domain.dcv_token:
        domain.dcv_token = secrets.token_hex(16)
        domain.dcv_hash = secrets.token_hex(32)


def cname_challenge(domain: DomainRecord) -> dict[str, str]:
    ensure_tokens(domain)
    h = domain.dcv_hash
    return {
        "host": f"_{domain.dcv_token.lower()}.{domain.name}.",
        "point": f"{h[:32]}.{h[32:]}.sectigo.com.",
    }


def http_challenge(domain: DomainRecord, scheme: str) -> dict[str, str]:
    ensure_tokens(domain)
    return {
        "url": f"{scheme}://{domain.name}/.well-known/pki-validation/{domain.dcv_token.upper()}.txt",
        "firstLine": domain.dcv_hash,
        "secondLine": "sectigo.com",
    }


def txt_challenge(domain: DomainRecord) -> dict[str, str]:
    ensure_tokens(domain)
    return {"host": f"_pki-validation.{domain.name}.", "point": domain.dcv_hash}


def candidate_emails(name: str) -> list[str]:
    labels = name.split(".")
    parents = [".".join(labels[i:]) for i in range(len(labels) - 1)]
    return [
        f"{box}@{parent}"
        for parent in parents
        for box in ("admin", "administrator", "hostmaster", "postmaster", "webmaster")
    ]


def submit(domain: DomainRecord, store: ScmStore, method: str, email: str = "") -> None:
    ensure_tokens(domain)
    domain.dcv_order_status = "SUBMITTED"
    domain.dcv_order_method = method
    domain.dcv_email = email
    domain.dcv_submitted_at = time.time()
    domain.dcv_order_backend_id = str(store.next_id("dcv"))
    store.changed()
