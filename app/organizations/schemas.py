"""The organizations API contract. Secrets are write-only: answers say whether one is set."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    model_validator,
)

from app.catalog.products import PRODUCTS, Backend
from app.crypto.pem import certificates_pem, key_matches_certificate, private_key_pem
from app.dns.schemas import DnsSettingsIn, DnsSettingsOut
from app.http.fields import MAX_ALLOWED_DOMAINS, DnsName, Email, Subject
from app.http.pages import Page
from app.http.patch import PatchModel

ProductCode = Literal[tuple(PRODUCTS)]  # type: ignore[valid-type]
Level = Literal["DV", "OV", "EV"]


def _private_key(value: SecretStr | None) -> SecretStr | None:
    return SecretStr(private_key_pem(value.get_secret_value())) if value is not None else None


Url = Annotated[str, StringConstraints(min_length=1, max_length=2048)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=256)]
CertificatesPem = Annotated[
    str,
    StringConstraints(min_length=1, max_length=65536),
    AfterValidator(certificates_pem),
    Field(description="PEM certificates (content, not a path); checked and normalised"),
]
KeyPem = Annotated[
    SecretStr,
    Field(min_length=1, max_length=16384, description="PEM private key (content); write-only"),
    AfterValidator(_private_key),
]
ProfileId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class ScmSettings(BaseModel):
    """How this organization reaches the Sectigo Certificate Manager."""

    model_config = ConfigDict(extra="forbid")

    base_url: Url = Field(examples=["https://cert-manager.com/api"])
    auth_style: Literal["header", "oauth", "client_cert"] = "header"
    login: Text | None = None
    customer_uri: Text | None = None
    client_id: Text | None = None
    token_url: Url | None = None
    client_cert_pem: CertificatesPem | None = Field(
        default=None, description="client_cert: the client certificate (and chain), PEM"
    )
    ca_bundle_pem: CertificatesPem | None = Field(
        default=None, description="extra roots for SCM's TLS certificate, PEM"
    )
    org_id: int = Field(ge=1, le=2**31 - 1, description="SCM organization or department id")
    profile_overrides: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=64)], ProfileId
    ] = Field(
        default_factory=dict,
        max_length=50,
        description="product code → SCM profile id, when names differ",
    )
    custom_fields: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=128)],
        Annotated[str, StringConstraints(max_length=1024)],
    ] = Field(default_factory=dict, max_length=50)
    dcv_mode: Literal["EMAIL", "CNAME", "HTTP", "HTTPS", "TXT"] | None = None
    dcv_email: Email | None = None
    external_requester: Email | None = None


class ScmSettingsIn(ScmSettings):
    password: SecretStr | None = Field(default=None, max_length=1024, description="write-only")
    client_secret: SecretStr | None = Field(default=None, max_length=1024, description="write-only")
    client_key_pem: KeyPem | None = Field(
        default=None, description="client_cert: the certificate's private key, PEM; write-only"
    )

    @model_validator(mode="after")
    def _key_fits_certificate(self) -> ScmSettingsIn:
        if self.client_key_pem is not None and self.client_cert_pem is None:
            raise ValueError("client_key_pem needs client_cert_pem")
        if self.client_key_pem is not None and self.client_cert_pem is not None:
            key = self.client_key_pem.get_secret_value()
            if not key_matches_certificate(key, self.client_cert_pem):
                raise ValueError("client_key_pem is not the key of client_cert_pem")
        return self


class ScmSettingsOut(ScmSettings):
    secret_set: bool = Field(description="whether a password or client secret is stored")
    client_key_set: bool = Field(default=False, description="whether a client key is stored")


class AcmeSettings(BaseModel):
    """How this organization reaches Sectigo's ACME service (DV)."""

    model_config = ConfigDict(extra="forbid")

    directory_url: Url = Field(examples=["https://acme.sectigo.com/v2/DV"])
    contact_email: Email | None = None
    eab_kid: Text | None = None
    eab_from_scm: bool = Field(
        default=False,
        description="obtain the EAB kid and HMAC key from SCM's ACME accounts of scm.org_id",
    )
    scm_acme_server: Url | None = Field(
        default=None,
        description="with eab_from_scm: the ACME server as SCM names it (default: directory_url)",
    )
    challenge_types: list[Literal["http-01", "dns-01"]] = Field(
        default_factory=lambda: ["http-01", "dns-01"], min_length=1, max_length=2
    )
    ca_bundle_pem: CertificatesPem | None = Field(
        default=None, description="extra roots for the ACME server's TLS certificate, PEM"
    )
    preferred_chain: Text | None = None


class AcmeSettingsIn(AcmeSettings):
    eab_hmac_key: SecretStr | None = Field(
        default=None, max_length=1024, description="write-only, base64url"
    )


class AcmeSettingsOut(AcmeSettings):
    eab_hmac_key_set: bool


class OrganizationPolicy(BaseModel):
    allowed_domains: list[DnsName] = Field(
        default_factory=list, max_length=MAX_ALLOWED_DOMAINS, examples=[["example.com"]]
    )
    catalog: list[ProductCode] = Field(
        default_factory=list,
        max_length=len(PRODUCTS),
        description="products it may order; empty means all",
    )
    default_terms: dict[ProductCode, Annotated[int, Field(ge=1, le=3650)]] = Field(
        default_factory=dict
    )
    backend_overrides: dict[ProductCode, Backend] = Field(default_factory=dict)
    auto_approve: bool = Field(default=True, description="off: every order needs approval")
    approvers: dict[Level, Annotated[list[Subject], Field(max_length=50)]] = Field(
        default_factory=dict,
        description="API client ids (or external subjects) who may approve, per level",
        examples=[{"EV": ["cb_approver"], "OV": ["cb_approver"]}],
    )
    approval_timeout_hours: int = Field(default=72, ge=1, le=24 * 90)
    unvalidated_domains: Literal["validate", "fail"] = Field(
        default="validate",
        description="an order naming an unvalidated domain starts its validation, or fails",
    )
    alert_thresholds: list[Annotated[int, Field(ge=1, le=365)]] = Field(
        default_factory=lambda: [30, 14, 7], max_length=10, description="days before expiry"
    )


class OrganizationCreate(OrganizationPolicy):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Web Platform",
                    "allowed_domains": ["example.com"],
                    "scm": {
                        "base_url": "https://cert-manager.com/api",
                        "login": "broker",
                        "password": "••••",
                        "customer_uri": "example",
                        "org_id": 1234,
                    },
                    "acme": {
                        "directory_url": "https://acme.sectigo.com/v2/DV",
                        "eab_kid": "1SiwNov7jxsUQf3osQD2R4",
                        "eab_hmac_key": "••••",
                    },
                    "approvers": {"EV": ["cb_approver"]},
                }
            ]
        }
    )

    name: str = Field(min_length=1, max_length=200)
    scm: ScmSettingsIn | None = None
    acme: AcmeSettingsIn | None = None
    dns: DnsSettingsIn | None = None


class OrganizationUpdate(PatchModel):
    """Fields to change; absent ones stay. A secret left out keeps the stored one; `null` for
    `scm`, `acme` or `dns` removes those settings and their secrets."""

    nullable = frozenset({"scm", "acme", "dns"})

    name: str | None = Field(default=None, min_length=1, max_length=200)
    scm: ScmSettingsIn | None = None
    acme: AcmeSettingsIn | None = None
    dns: DnsSettingsIn | None = None
    allowed_domains: list[DnsName] | None = Field(default=None, max_length=MAX_ALLOWED_DOMAINS)
    catalog: list[ProductCode] | None = Field(default=None, max_length=len(PRODUCTS))
    default_terms: dict[ProductCode, Annotated[int, Field(ge=1, le=3650)]] | None = None
    backend_overrides: dict[ProductCode, Backend] | None = None
    auto_approve: bool | None = None
    approvers: dict[Level, Annotated[list[Subject], Field(max_length=50)]] | None = None
    approval_timeout_hours: int | None = Field(default=None, ge=1, le=24 * 90)
    unvalidated_domains: Literal["validate", "fail"] | None = None
    alert_thresholds: list[Annotated[int, Field(ge=1, le=365)]] | None = Field(
        default=None, max_length=10
    )


class OrganizationPublic(OrganizationPolicy):
    id: str
    name: str
    sandbox: bool = Field(description="wired to the local simulators, not to Sectigo")
    scm: ScmSettingsOut | None
    acme: AcmeSettingsOut | None
    dns: DnsSettingsOut | None
    acme_directory_url: str = Field(
        description="the broker's own ACME directory for this organization (EAB keys from "
        "POST /v1/organizations/{id}/acme-credentials)"
    )
    created_at: dt.datetime
    updated_at: dt.datetime


class OrganizationPage(Page[OrganizationPublic]):
    pass
