"""The lifecycle API contract: alerts and manual renewal."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from app.http.fields import Pem
from app.http.pages import Page
from app.lifecycle.models import AlertKind, AlertSeverity, AlertStatus


class RenewRequest(BaseModel):
    reuse_key: bool = Field(
        default=False,
        description="keep the broker-generated private key instead of generating a new one",
    )
    csr: Pem | None = Field(
        default=None,
        description="a new PEM CSR for a CSR-ordered certificate (default: the previous CSR)",
    )


class AlertPublic(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "5b1e0c7d9a2f4e3b8c6d1a0f9e8d7c6b",
                    "organization_id": "3f0c1b2a4d5e6f708192a3b4c5d6e7f8",
                    "certificate_id": "0d9a7c1e2b3f4a5c6d7e8f9a0b1c2d3e",
                    "kind": "expiring",
                    "threshold": 14,
                    "severity": "warning",
                    "status": "open",
                    "message": "www.example.com expires in 13 days (2026-12-10 12:00 UTC),"
                    " past the 14-day threshold",
                    "not_after": "2026-12-10T12:00:00Z",
                    "occurrences": 1,
                    "created_at": "2026-11-26T18:00:00Z",
                    "updated_at": "2026-11-26T18:00:00Z",
                    "acknowledged_at": None,
                    "acknowledged_by": None,
                    "resolved_at": None,
                }
            ]
        },
    )

    id: str
    organization_id: str
    certificate_id: str
    kind: AlertKind = Field(description="expiring, expired or renewal_failed")
    threshold: int = Field(description="days before expiry for `expiring`, else 0")
    severity: AlertSeverity
    status: AlertStatus = Field(description="open, acknowledged, or resolved by a renewal")
    message: str
    not_after: dt.datetime | None
    occurrences: int = Field(description="how often it happened (renewal failures repeat)")
    created_at: dt.datetime
    updated_at: dt.datetime
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    resolved_at: dt.datetime | None


class AlertPage(Page[AlertPublic]):
    pass
