"""The /v1 contract of EAB credentials: what a tenant administrator creates, lists and revokes."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from app.http.fields import DnsName
from app.http.pages import Page
from app.organizations.schemas import ProductCode

CREDENTIAL_EXAMPLE = {
    "id": "5b0c2f6e8a1d4e7f9c3b2a1d0e9f8a7b",
    "organization_id": "3f0c1b2a4d5e6f708192a3b4c5d6e7f8",
    "name": "payments cluster cert-manager",
    "product": "positivessl",
    "allowed_domains": ["payments.example.com"],
    "directory_url": "https://certbroker.example.com/acme/3f0c1b2a4d5e6f708192a3b4c5d6e7f8/directory",
    "created_by": "cb_T3mQk9vJ2xWf8LpZr4sN1A",
    "created_at": "2026-12-03T06:00:00Z",
    "last_used_at": None,
    "revoked_at": None,
}


class AcmeCredentialCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "payments cluster", "allowed_domains": ["example.com"]}]
        }
    )

    name: str | None = Field(default=None, max_length=200)
    product: ProductCode | None = Field(
        default=None,
        description="what accounts under this key order; default: the organization's DV product",
    )
    allowed_domains: list[DnsName] = Field(
        default_factory=list,
        max_length=100,
        description="restrict orders to names under these (each under the organization's "
        "allowed domains); empty: the organization's allowed domains",
    )


class AcmeCredentialPublic(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [CREDENTIAL_EXAMPLE]}
    )

    id: str = Field(description="the EAB key id (`kid`)")
    organization_id: str
    name: str | None
    product: str
    allowed_domains: list[str]
    directory_url: str
    created_by: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class AcmeCredentialCreated(AcmeCredentialPublic):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {**CREDENTIAL_EXAMPLE, "hmac_key": "c2VjcmV0LWhtYWMta2V5LW9ubHktc2hvd24tb25jZQ"}
            ]
        }
    )

    hmac_key: str = Field(
        description="the EAB HMAC key, base64url without padding; shown only in this answer"
    )


class AcmeCredentialPage(Page[AcmeCredentialPublic]):
    """The organization's EAB keys, oldest first."""
