"""Typed shapes of SCM's SSL resources: profiles, custom fields, enroll, details, list items.

Parsing absorbs the wire quirks (contract 2.x): US `MM/dd/yyyy` dates, `id` vs the deprecated
`sslId`, SANs as an array in details but a comma string in enroll and a `dNSName=` string in
`certificateDetails`, colon-separated uppercase serial numbers.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

_DATE_FORMATS = ("%m/%d/%Y", "%m/%d/%Y %H:%M:%S", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S.%fZ")


def parse_scm_date(value: Any) -> dt.date | None:
    """A date from SCM details: US `MM/dd/yyyy` by default, ISO tolerated, "" means absent."""
    if not value or not isinstance(value, str):
        return None
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
    return None


def split_names(value: Any) -> list[str]:
    """DNS names from any SCM spelling: list, "a,b", "a; b", or "dNSName=a, dNSName=b"."""
    if value is None:
        return []
    parts = value if isinstance(value, list) else re.split(r"[,;]", str(value))
    names = []
    for part in parts:
        name = str(part).strip()
        if "=" in name:
            name = name.split("=", 1)[1].strip()
        if name:
            names.append(name)
    return names


def serial_hex(value: str | None) -> str | None:
    """`0A:CD:01` -> `acd01`: the broker's spelling, as `format(serial_number, "x")` gives it."""
    if not value:
        return None
    try:
        return format(int(value.replace(":", "").strip(), 16), "x")
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Profile:
    """A certificate profile ("type"); `id` is what enroll calls `certType`."""

    id: int
    name: str
    terms: list[int]
    description: str = ""
    key_types: dict[str, list[str]] = field(default_factory=dict)
    use_secondary_org_name: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Profile:
        return cls(
            id=int(data["id"]),
            name=str(data.get("name", "")),
            terms=[int(t) for t in data.get("terms") or []],
            description=str(data.get("description") or ""),
            key_types=dict(data.get("keyTypes") or {}),
            use_secondary_org_name=bool(data.get("useSecondaryOrgName", False)),
        )


@dataclass(frozen=True, slots=True)
class CustomField:
    id: int
    name: str
    mandatory: bool

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CustomField:
        return cls(int(data["id"]), str(data["name"]), bool(data.get("mandatory", False)))


@dataclass(frozen=True, slots=True)
class EnrollRequest:
    """What the broker asks SCM for. `sans` exclude nothing; they are sent as SCM wants."""

    org_id: int
    csr: str
    cert_type: int
    term: int
    sans: list[str] = field(default_factory=list)
    comments: str | None = None
    external_requester: str | None = None
    custom_fields: dict[str, str] = field(default_factory=dict)
    dcv_mode: str | None = None
    dcv_email: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "orgId": self.org_id,
            "csr": self.csr.strip(),
            "certType": self.cert_type,
            "term": self.term,
        }
        if self.sans:
            body["subjAltNames"] = ",".join(self.sans)  # a comma string, not an array
        if self.comments:
            body["comments"] = self.comments
        if self.external_requester:
            body["externalRequester"] = self.external_requester
        if self.custom_fields:
            body["customFields"] = [{"name": k, "value": v} for k, v in self.custom_fields.items()]
        if self.dcv_mode:
            body["dcvMode"] = self.dcv_mode
        if self.dcv_email:
            body["dcvEmail"] = self.dcv_email
        return body


@dataclass(frozen=True, slots=True)
class EnrollResult:
    ssl_id: int
    renew_id: str | None
    recovered: bool = False  # True when enroll_once found an existing order instead

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EnrollResult:
        renew_id = data.get("renewId")
        return cls(ssl_id=int(data["sslId"]), renew_id=str(renew_id) if renew_id else None)


@dataclass(frozen=True, slots=True)
class CertificateSummary:
    """A list item: deliberately minimal in SCM (no status); fetch details for more."""

    ssl_id: int
    common_name: str | None
    sans: list[str]
    serial_hex: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CertificateSummary:
        return cls(
            ssl_id=int(data.get("sslId", data.get("id"))),
            common_name=data.get("commonName"),
            sans=split_names(data.get("subjectAlternativeNames")),
            serial_hex=serial_hex(data.get("serialNumber")),
        )


@dataclass(frozen=True, slots=True)
class CertificateDetails:
    ssl_id: int
    status: str
    common_name: str | None
    org_id: int | None
    profile_id: int | None
    profile_name: str | None
    term: int | None
    sans: list[str]
    comments: str | None
    external_requester: str | None
    serial_hex: str | None
    requested: dt.date | None
    approved: dt.date | None
    issued: dt.date | None
    declined: dt.date | None
    revoked: dt.date | None
    expires: dt.date | None
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CertificateDetails:
        cert_type = data.get("certType") if isinstance(data.get("certType"), dict) else {}
        sans = data.get("subjectAlternativeNames")
        if sans is None:
            sans = (data.get("certificateDetails") or {}).get("subjectAltNames")
        org_id = data.get("orgId")
        return cls(
            ssl_id=int(data.get("id", data.get("sslId"))),
            status=str(data.get("status", "")),
            common_name=data.get("commonName"),
            org_id=int(org_id) if org_id is not None else None,
            profile_id=int(cert_type["id"]) if "id" in cert_type else None,
            profile_name=cert_type.get("name"),
            term=int(data["term"]) if data.get("term") is not None else None,
            sans=split_names(sans),
            comments=data.get("comments") or None,
            external_requester=data.get("externalRequester") or None,
            serial_hex=serial_hex(data.get("serialNumber")),
            requested=parse_scm_date(data.get("requested")),
            approved=parse_scm_date(data.get("approved")),
            issued=parse_scm_date(data.get("issued")),
            declined=parse_scm_date(data.get("declined")),
            revoked=parse_scm_date(data.get("revoked")),
            expires=parse_scm_date(data.get("expires")),
            raw=data,
        )
