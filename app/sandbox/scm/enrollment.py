"""Enroll rules: check a request the way SCM does (with its error codes) and record the order."""

from __future__ import annotations

import re
import secrets
import string
import time

from pydantic import BaseModel, ConfigDict, Field

from app.sandbox.scm.catalog import CUSTOM_FIELDS, ORGANIZATIONS, PROFILES, Profile
from app.sandbox.scm.csr import check_key, common_name, parse_csr, spki_sha256
from app.sandbox.scm.domain_validation import covering_status
from app.sandbox.scm.errors import ScmError
from app.sandbox.scm.records import Order
from app.sandbox.scm.store import ScmStore

_DNS_NAME = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class CustomFieldValue(BaseModel):
    name: str
    value: str = ""


class EnrollRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    orgId: int
    csr: str = Field(min_length=1, max_length=32767)
    certType: int
    term: int
    subjAltNames: str | None = None
    comments: str | None = Field(None, max_length=1024)
    externalRequester: str | None = Field(None, max_length=512)
    customFields: list[CustomFieldValue] = Field(default_factory=list)
    dcvMode: str | None = None
    dcvEmail: str | None = None
    numberServers: int | None = None  # legacy, accepted and ignored
    serverType: int | None = None  # legacy, accepted and ignored


def profile_for(org_id: int, cert_type: int) -> Profile:
    if org_id not in ORGANIZATIONS:
        raise ScmError(-1023, f"Organization with id {org_id} was not found.")
    profile = PROFILES.get(cert_type)
    if profile is None:
        raise ScmError(-111, f"There is no profile with id {cert_type}.")
    if cert_type not in ORGANIZATIONS[org_id].profile_ids:
        raise ScmError(
            -39, f"Certificate profile {cert_type} is not available to this organization."
        )
    return profile


def check_custom_fields(given: list[CustomFieldValue]) -> None:
    present = {field.name for field in given if field.value.strip()}
    for field in CUSTOM_FIELDS:
        if field["mandatory"] and field["name"] not in present:
            raise ScmError(-62, f"Custom field '{field['name']}' is mandatory.")


DCV_MODES = {"EMAIL", "CNAME", "HTTP", "HTTPS", "TXT", "AUTO"}


def check_dcv_mode(mode: str | None, email: str | None) -> None:
    if mode is None:
        return
    if mode.upper() not in DCV_MODES:
        raise ScmError(-1601, f"The 'dcvMode' field has an invalid value: {mode}")
    if mode.upper() == "EMAIL" and not email:
        raise ScmError(-7, "The 'dcvEmail' field is required when dcvMode is EMAIL.")


def requested_names(csr_cn: str | None, sans: str | None) -> tuple[str, list[str]]:
    alt = [name.strip().lower() for name in (sans or "").split(",") if name.strip()]
    cn = (csr_cn or (alt[0] if alt else "")).lower()
    if not cn:
        raise ScmError(
            -7, "The CSR has no common name and no subject alternative names were given."
        )
    for name in [cn, *alt]:
        if not _DNS_NAME.match(name):
            raise ScmError(-732, f"Invalid domain name: {name}")
    return cn, alt


def check_names(store: ScmStore, profile: Profile, org_id: int, names: list[str]) -> None:
    if not profile.wildcard and any(name.startswith("*.") for name in names):
        raise ScmError(-1601, f"Profile '{profile.name}' does not allow wildcard names.")
    behaviour = store.behaviour
    org = ORGANIZATIONS[org_id]
    exempt = {org_id, org.parent_id} & set(behaviour.dcv_exempt_org_ids)
    if not behaviour.dcv_enforced or exempt:
        return
    statuses = {name: covering_status(store, name) for name in names}
    expired = [name for name, status in statuses.items() if status == "EXPIRED"]
    missing = [name for name, status in statuses.items() if status not in {"VALIDATED", "EXPIRED"}]
    if expired:
        raise ScmError(-107, f"DCV for domain {expired[0]} is expired. Please complete DCV first.")
    if missing:
        raise ScmError(-1137, f"Domain(s) not DCV-validated: {', '.join(missing)}")


def new_renew_id() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(20))


def enroll(store: ScmStore, request: EnrollRequest, requester: str) -> Order:
    profile = profile_for(request.orgId, request.certType)
    if request.term not in profile.terms:
        raise ScmError(-36, f"Term {request.term} is not valid for profile '{profile.name}'.")
    check_custom_fields(request.customFields)
    check_dcv_mode(request.dcvMode, request.dcvEmail)
    csr = parse_csr(request.csr)
    key_type = check_key(csr, profile.key_types)
    cn, sans = requested_names(common_name(csr), request.subjAltNames)
    check_names(store, profile, request.orgId, list(dict.fromkeys([cn, *sans])))
    order = Order(
        id=store.next_id("order"),
        renew_id=new_renew_id(),
        order_number=store.next_id("order_number"),
        org_id=request.orgId,
        cert_type_id=profile.id,
        term=request.term,
        common_name=cn,
        sans=list(dict.fromkeys(sans)),
        csr_pem=request.csr.strip(),
        spki_sha256=spki_sha256(csr.public_key()),
        key_type=key_type,
        requester=requester,
        comments=request.comments or "",
        external_requester=request.externalRequester or "",
        custom_fields=[field.model_dump() for field in request.customFields],
        dcv_mode=request.dcvMode or "",
        requested_at=time.time(),
    )
    store.saved.orders[order.id] = order
    by_key = store.saved.counters.enrollments_by_key
    by_key[order.spki_sha256] = by_key.get(order.spki_sha256, 0) + 1
    store.changed()
    return order
