"""The approvals API contract."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from app.approvals.models import ApprovalStatus
from app.catalog.products import ValidationLevel
from app.certificates.schemas import CertificatePublic


class ApprovalPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

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
