"""The organizations API contract. Secrets are write-only: answers say whether one is set."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from app.catalog.products import PRODUCTS, Backend
from app.dns.schemas import DnsSettingsIn, DnsSettingsOut
from app.http.fields import MAX_ALLOWED_DOMAINS, DnsName, Subject
from app.http.pages import Page
from app.http.patch import PatchModel

ProductCode = Literal[tuple(PRODUCTS)]  # type: ignore[valid-type]
Level = Literal["DV", "OV", "EV"]


class ScmSettings(BaseModel):
    """How this organization reaches the Sectigo Certificate Manager."""

    base_url: str = Field(examples=["https://cert-manager.com/api"])
    auth_style: Literal["header", "oauth", "client_cert"] = "header"
    login: str | None = None
    customer_uri: str | None = None
    client_id: str | None = None
    token_url: str | None = None
    client_cert_file: str | None = None
    client_key_file: str | None = None
    org_id: int = Field(description="SCM organization or department id to enroll under")
    profile_overrides: dict[str, int] = Field(
        default_factory=dict, description="product code → SCM profile id, when names differ"
    )
    custom_fields: dict[str, str] = Field(default_factory=dict)
    dcv_mode: Literal["EMAIL", "CNAME", "HTTP", "HTTPS", "TXT"] | None = None
    dcv_email: str | None = None
    external_requester: str | None = None


class ScmSettingsIn(ScmSettings):
    password: SecretStr | None = Field(default=None, description="write-only")
    client_secret: SecretStr | None = Field(default=None, description="write-only")


class ScmSettingsOut(ScmSettings):
    secret_set: bool = Field(description="whether a password or client secret is stored")


class AcmeSettings(BaseModel):
    """How this organization reaches Sectigo's ACME service (DV)."""

    directory_url: str = Field(examples=["https://acme.sectigo.com/v2/DV"])
    contact_email: str | None = None
    eab_kid: str | None = None
    eab_from_scm: bool = Field(
        default=False,
        description="obtain the EAB kid and HMAC key from SCM's ACME accounts of scm.org_id",
    )
    scm_acme_server: str | None = Field(
        default=None,
        description="with eab_from_scm: the ACME server as SCM names it (default: directory_url)",
    )
    challenge_types: list[Literal["http-01", "dns-01"]] = Field(
        default_factory=lambda: ["http-01", "dns-01"]
    )
    ca_bundle: str | None = Field(default=None, description="extra PEM roots for the ACME server")
    preferred_chain: str | None = None


class AcmeSettingsIn(AcmeSettings):
    eab_hmac_key: SecretStr | None = Field(default=None, description="write-only, base64url")


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
