"""The approvals API contract."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from app.approvals.models import ApprovalStatus
from app.catalog.products import ValidationLevel
from app.certificates.schemas import CertificatePublic
from app.http.pages import Page


class ApprovalPublic(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "7c2d9e0f1a3b4c5d6e7f8091a2b3c4d5",
                    "organization_id": "3f0c1b2a4d5e6f708192a3b4c5d6e7f8",
                    "certificate_id": "0d9a7c1e2b3f4a5c6d7e8f9a0b1c2d3e",
                    "validation_level": "EV",
                    "status": "pending",
                    "requested_by": "cb_T3mQk9vJ2xWf8LpZr4sN1A",
                    "decided_by": None,
                    "comment": None,
                    "expires_at": "2026-11-29T18:00:00Z",
                    "decided_at": None,
                    "created_at": "2026-11-26T18:00:00Z",
                }
            ]
        },
    )

    id: str
    organization_id: str
    certificate_id: str
    validation_level: ValidationLevel
    status: ApprovalStatus
    requested_by: str
    decided_by: str | None
    comment: str | None
    expires_at: dt.datetime
    decided_at: dt.datetime | None
    created_at: dt.datetime


class Decision(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"comment": "EV vetted by security"}]}
    )

    comment: str | None = Field(default=None, max_length=1000)


class DecisionResult(BaseModel):
    approval: ApprovalPublic
    certificate: CertificatePublic


class ApprovalPage(Page[ApprovalPublic]):
    pass
