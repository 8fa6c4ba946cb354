"""The certificates API contract."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.catalog.products import PRODUCTS, KeyType, ValidationLevel
from app.certificates.models import CertificateStatus
from app.http.fields import DnsName, Labels, ObjectId, Pem
from app.http.pages import Page
from app.http.patch import PatchModel
from app.organizations.schemas import ProductCode

ServerType = Literal["apache", "nginx", "iis", "f5", "haproxy", "envoy", "kubernetes", "other"]
# What a certificate in the inventory may be: a catalog product, or `external` for one found
# at SCM outside the catalog or uploaded from another CA (then the backend is `external` too).
InventoryProduct = Literal[(*PRODUCTS, "external")]  # type: ignore[valid-type]
InventoryBackend = Literal["acme", "scm", "external"]

ORDER_EXAMPLE = {
    "organization_id": "3f0c1b2a4d5e6f708192a3b4c5d6e7f8",
    "product": "positivessl",
    "common_name": "www.example.com",
    "sans": ["example.com"],
    "key": {"type": "EC-P256"},
    "labels": {"team": "payments", "env": "prod"},
    "comments": "checkout frontend",
}

CERTIFICATE_EXAMPLE = {
    "id": "0d9a7c1e2b3f4a5c6d7e8f9a0b1c2d3e",
    "organization_id": "3f0c1b2a4d5e6f708192a3b4c5d6e7f8",
    "product": "positivessl",
    "validation_level": "DV",
    "backend": "acme",
    "common_name": "www.example.com",
    "names": ["www.example.com", "example.com"],
    "term_days": 90,
    "server_type": "other",
    "comments": "checkout frontend",
    "labels": {"team": "payments", "env": "prod"},
    "auto_renew": True,
    "renew_before_days": None,
    "status": "issued",
    "status_reason": None,
    "key_type": "EC-P256",
    "key_source": "generated",
    "serial": "04a1f3c2d5e6b7a8091a2b3c4d5e6f70",
    "backend_ref": "https://acme.sectigo.com/v2/DV/cert/Yq3xY0nZ",
    "not_before": "2026-11-26T18:00:00Z",
    "not_after": "2027-02-24T18:00:00Z",
    "issuer_dn": "CN=Sectigo Public Server Authentication CA DV E36,O=Sectigo Limited,C=GB",
    "issued_at": "2026-11-26T18:00:04Z",
    "revoked_at": None,
    "revocation_reason": None,
    "source": "broker",
    "renew_after": "2027-01-25T18:00:00Z",
    "renewal_of": None,
    "superseded_by": None,
    "job_id": "9f1c2e4b7a8d4c0e9b1a2f3d4e5c6b7a",
    "requested_by": "cb_T3mQk9vJ2xWf8LpZr4sN1A",
    "detail": {},
    "created_at": "2026-11-26T18:00:00Z",
    "updated_at": "2026-11-26T18:00:04Z",
}


class KeySpec(BaseModel):
    """Have the broker generate the private key (it is stored encrypted)."""

    type: KeyType = KeyType.EC_P256


class CertificateCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ORDER_EXAMPLE]})

    organization_id: ObjectId
    product: ProductCode
    common_name: str = Field(min_length=1, max_length=253)
    sans: list[DnsName] = Field(default_factory=list, max_length=100, description="more DNS names")
    term_days: int | None = Field(
        default=None, ge=1, le=3650, description="default: the organization's or the product's"
    )
    server_type: ServerType = "other"
    comments: str | None = Field(default=None, max_length=1024)
    labels: Labels = Field(default_factory=dict)
    auto_renew: bool = True
    renew_before_days: int | None = Field(default=None, ge=1, le=365)
    csr: Pem | None = Field(default=None, description="PEM CSR; its names must equal the request's")
    key: KeySpec | None = Field(
        default=None, description="instead of a CSR; with neither, an EC P-256 key is generated"
    )


class CertificateUpdate(PatchModel):
    """What may change on a certificate after ordering; absent fields stay as they are,
    `"comments": null` removes the comment."""

    nullable = frozenset({"comments"})

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"labels": {"team": "payments"}, "auto_renew": False}]}
    )

    labels: Labels | None = None
    comments: str | None = Field(default=None, max_length=1024)
    auto_renew: bool | None = None
    renew_before_days: int | None = Field(default=None, ge=1, le=365)


class Preflight(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ok": False,
                    "problems": [
                        {
                            "field": "body.common_name",
                            "message": "'shop.example.org' is not under the organization's allowed"
                            " domains (example.com)",
                            "type": "domain_not_allowed",
                        }
                    ],
                    "backend": "scm",
                    "validation_level": "OV",
                    "approval_required": False,
                    "term_days": 365,
                    "names": ["shop.example.org"],
                    "names_needing_validation": ["shop.example.org"],
                }
            ]
        }
    )

    ok: bool
    problems: list[dict[str, str]] = Field(description="what would make the order fail, by field")
    backend: Literal["acme", "scm"] | None
    validation_level: Literal["DV", "OV", "EV"] | None
    approval_required: bool | None
    term_days: int | None
    names: list[str]
    names_needing_validation: list[str]


class CertificatePublic(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [CERTIFICATE_EXAMPLE]}
    )

    id: str
    organization_id: str
    product: InventoryProduct
    validation_level: ValidationLevel | None = Field(
        description="null for an imported or uploaded certificate whose level is unknown"
    )
    backend: InventoryBackend
    common_name: str
    names: list[str] = Field(description="every DNS name, the common name first")
    term_days: int
    server_type: ServerType
    comments: str | None
    labels: dict[str, str]
    auto_renew: bool
    renew_before_days: int | None
    status: CertificateStatus
    status_reason: str | None
    key_type: str
    key_source: Literal["csr", "generated"]
    serial: str | None
    backend_ref: str | None = Field(
        description="the CA's reference: the SCM sslId, or the ACME certificate URL"
    )
    not_before: dt.datetime | None
    not_after: dt.datetime | None
    issuer_dn: str | None
    issued_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revocation_reason: int | None
    source: Literal["broker", "scm_import", "upload"] = Field(
        description="ordered through the broker, imported from SCM, or uploaded for monitoring"
    )
    renew_after: dt.datetime | None = Field(description="when auto-renewal orders a successor")
    renewal_of: str | None
    superseded_by: str | None
    job_id: str | None = Field(
        description="the background job working on it now (`GET /v1/jobs/{id}`): issuance, "
        "revocation, the domain validation it waits for, or its approval's deadline; null "
        "for imported and uploaded certificates"
    )
    requested_by: str
    detail: dict = Field(description="backend details, e.g. validation instructions")
    created_at: dt.datetime
    updated_at: dt.datetime

    @field_validator("validation_level", mode="before")
    @classmethod
    def _unknown_level(cls, value: object) -> object:
        return value or None  # stored as "" when SCM or the certificate does not say


class CertificatePage(Page[CertificatePublic]):
    pass


class CertificateEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: dt.datetime
    from_status: CertificateStatus | None
    to_status: CertificateStatus | None
    actor: str
    message: str
    detail: dict


RevocationReason = Literal[
    "unspecified", "keyCompromise", "affiliationChanged", "superseded", "cessationOfOperation"
]
REASON_CODES: dict[str, int] = {
    "unspecified": 0,
    "keyCompromise": 1,
    "affiliationChanged": 3,
    "superseded": 4,
    "cessationOfOperation": 5,
}


class RevokeRequest(BaseModel):
    reason: RevocationReason = "unspecified"
    comment: str | None = Field(default=None, max_length=512)


class Pkcs12Request(BaseModel):
    passphrase: str = Field(min_length=8, max_length=256, description="protects the PKCS#12 file")


class CertificateEventPage(Page[CertificateEventPublic]):
    pass
