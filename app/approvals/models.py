"""The approval table: one row per certificate request that needs a decision."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, enum_column, new_id, utcnow


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


class Approval(SQLModel, table=True):
    __tablename__ = "approval"
    __table_args__ = (Index("ix_approval_tenant_status", "tenant_id", "status"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenant.id", max_length=32)
    organization_id: str = Field(foreign_key="organization.id", max_length=32)
    certificate_id: str = Field(foreign_key="certificate.id", index=True, max_length=32)
    validation_level: str = Field(max_length=2)
    status: ApprovalStatus = Field(
        default=ApprovalStatus.PENDING, sa_type=enum_column(ApprovalStatus, 16)
    )
    requested_by: str = Field(max_length=200)
    decided_by: str | None = Field(default=None, max_length=200)
    comment: str | None = Field(default=None, max_length=1000)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)
    decided_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
