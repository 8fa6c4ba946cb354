"""The tenants API contract."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from app.http.pages import Page
from app.http.patch import PatchModel
from app.tenants.models import TenantBase, TenantStatus

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"


class TenantCreate(TenantBase):
    slug: str | None = Field(
        default=None,
        pattern=SLUG_PATTERN,
        description="URL-safe short name; derived from the name when omitted.",
        examples=["payments-platform"],
    )

    model_config = {
        "json_schema_extra": {"examples": [{"name": "Payments Platform", "slug": "payments"}]}
    }


class TenantUpdate(PatchModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    status: TenantStatus | None = Field(
        default=None, description="`disabled` stops its clients' tokens; `active` re-enables."
    )

    model_config = {"json_schema_extra": {"examples": [{"status": "disabled"}]}}


class TenantPublic(TenantBase):
    id: str
    slug: str
    status: TenantStatus
    created_at: dt.datetime

    model_config = {
        "from_attributes": True,
        "json_schema_extra": {
            "examples": [
                {
                    "id": "6f1c0a9e3b7d4e2f8a5b1c0d9e8f7a6b",
                    "name": "Payments Platform",
                    "slug": "payments",
                    "status": "active",
                    "created_at": "2026-01-15T09:30:00Z",
                }
            ]
        },
    }


class TenantPage(Page[TenantPublic]):
    pass
