"""The product catalog's API contract: what each product allows and, for one organization,
whether it may order it and where the order goes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.catalog.products import PRODUCTS, Backend, KeyType, ValidationLevel
from app.http.pages import Page

ProductCode = Literal[tuple(PRODUCTS)]  # type: ignore[valid-type]


class NameRules(BaseModel):
    wildcard_allowed: bool = Field(description="a `*.` name may be ordered")
    max_names: int = Field(description="names in one certificate, the common name included")
    multi_domain: bool = Field(description="any names under the allowed domains, up to the most")
    summary: str = Field(description="the rule in words, as a 422 would explain it")


class ProductForOrganization(BaseModel):
    organization_id: str
    allowed: bool = Field(description="in the organization's catalog (an empty catalog allows all)")
    backend: Backend = Field(description="where its orders go: the default or the override")
    backend_configured: bool = Field(
        description="the organization has the settings (`acme` or `scm`) that backend needs"
    )
    term_days: int = Field(description="the term an order gets when it names none")
    approval_required: bool = Field(
        description="orders wait for an approver (EV always; any level with auto_approve off)"
    )


class ProductPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "positivessl",
                    "name": "PositiveSSL",
                    "description": "Domain-validated, one name (plus its www. twin).",
                    "validation_level": "DV",
                    "name_rules": {
                        "wildcard_allowed": False,
                        "max_names": 2,
                        "multi_domain": False,
                        "summary": "one name and its www. twin",
                    },
                    "key_types": ["EC-P256", "EC-P384", "RSA-2048", "RSA-3072", "RSA-4096"],
                    "terms_days": [365],
                    "default_term_days": 365,
                    "default_backend": "acme",
                    "approval_required": False,
                    "organization": None,
                }
            ]
        }
    )

    code: ProductCode  # type: ignore[valid-type]
    name: str = Field(description="also the SCM certificate profile it maps to")
    description: str
    validation_level: ValidationLevel
    name_rules: NameRules
    key_types: list[KeyType] = Field(description="keys a CSR or a generated key may have")
    terms_days: list[int] = Field(description="terms offered, in days")
    default_term_days: int
    default_backend: Backend = Field(description="acme (Sectigo ACME) or scm (SCM REST API)")
    approval_required: bool = Field(description="by default, before any organization's setting")
    organization: ProductForOrganization | None = Field(
        description="for the `organization_id` asked about; null when none was given"
    )


class ProductPage(Page[ProductPublic]):
    pass
