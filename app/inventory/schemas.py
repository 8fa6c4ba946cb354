"""The inventory API contract."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.http.fields import Labels, ObjectId
from app.http.pages import Page

EXPIRY_BUCKETS = ("expired", "lt_7d", "lt_14d", "lt_30d", "lt_90d", "later")


class CertificateUpload(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "organization_id": "3f0c1b2a4d5e6f708192a3b4c5d6e7f8",
                    "pem": "-----BEGIN CERTIFICATE-----\nMIID…\n-----END CERTIFICATE-----\n",
                    "labels": {"team": "payments", "ca": "other-ca"},
                }
            ]
        }
    )

    organization_id: ObjectId
    pem: str = Field(
        min_length=1,
        max_length=65536,
        description="the leaf certificate in PEM, optionally followed by its chain; no keys",
    )
    labels: Labels = Field(default_factory=dict)
    comments: str | None = Field(default=None, max_length=1024)


class SyncRequest(BaseModel):
    organization_id: ObjectId | None = Field(
        default=None, description="only this organization; default: every one with SCM settings"
    )


class InventorySummary(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "total": 12,
                    "by_status": {"issued": 9, "expired": 2, "revoked": 1},
                    "by_product": {"instantssl": 6, "positivessl": 3, "external": 3},
                    "by_validation_level": {"OV": 6, "DV": 5, "EV": 1},
                    "by_backend": {"scm": 8, "acme": 2, "external": 2},
                    "by_issuer": {"CN=Sectigo RSA Organization Validation CA,O=Sectigo": 8},
                    "by_source": {"broker": 7, "scm_import": 3, "upload": 2},
                    "by_expiry": {
                        "expired": 2,
                        "lt_7d": 1,
                        "lt_14d": 0,
                        "lt_30d": 2,
                        "lt_90d": 3,
                        "later": 3,
                    },
                    "as_of": "2026-11-26T18:00:00Z",
                }
            ]
        }
    )

    total: int
    by_status: dict[str, int]
    by_product: dict[str, int]
    by_validation_level: dict[str, int] = Field(description="DV, OV or EV")
    by_backend: dict[str, int] = Field(description="which CA backend: scm, acme or external")
    by_issuer: dict[str, int] = Field(description="issuer DN of issued certificates")
    by_source: dict[str, int] = Field(description="broker, scm_import or upload")
    by_expiry: dict[str, int] = Field(
        description="issued and expired certificates by time left: expired, under 7, 14, 30, "
        "90 days, or later (each bucket excludes the shorter ones)"
    )
    as_of: dt.datetime


class SyncStatePublic(BaseModel):
    """How far the SCM sync of one organization got."""

    model_config = ConfigDict(from_attributes=True)

    organization_id: str
    last_synced_at: dt.datetime | None
    max_ssl_id: int = Field(description="every SCM order up to this sslId has been looked at")
    pending_ssl_ids: list[int] = Field(description="orders not final yet, looked at again")
    last_seen: int = Field(description="SCM certificates the last run listed")
    last_imported: int
    total_imported: int


class ExpiryWeek(BaseModel):
    start: dt.datetime
    end: dt.datetime
    count: int = Field(description="issued certificates whose not_after falls in [start, end)")
    severity: Literal["critical", "high", "warning", "ok"] = Field(
        description="by the days left at the week's start: under 7 critical, under 14 high, "
        "under 30 warning, else ok"
    )


class ExpiryTimeline(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "weeks": [
                        {
                            "start": "2026-12-02T18:00:00Z",
                            "end": "2026-12-09T18:00:00Z",
                            "count": 3,
                            "severity": "critical",
                        }
                    ],
                    "expired": 2,
                    "later": 40,
                    "as_of": "2026-12-02T18:00:00Z",
                }
            ]
        }
    )

    weeks: list[ExpiryWeek]
    expired: int = Field(description="issued or expired certificates already past not_after")
    later: int = Field(description="issued certificates expiring after the last week")
    as_of: dt.datetime


class SyncStatePage(Page[SyncStatePublic]):
    pass
