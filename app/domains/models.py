"""Domain and validation tables: which domains an organization proved control of, and how."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, enum_column, new_id, utcnow


class DomainStatus(StrEnum):
    UNVALIDATED = "unvalidated"
    VALIDATING = "validating"
    VALIDATED = "validated"
    FAILED = "failed"
    EXPIRED = "expired"


class ValidationStatus(StrEnum):
    AWAITING_EMAIL = "awaiting_email"  # EMAIL: candidates shown, the caller picks one
    SUBMITTED = "submitted"  # SCM is checking
    VALIDATED = "validated"
    FAILED = "failed"
    EXPIRED = "expired"


class Domain(SQLModel, table=True):
    __tablename__ = "domain"
    __table_args__ = (
        UniqueConstraint("tenant_id", "organization_id", "name", name="uq_domain_org_name"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=32)
    organization_id: str = Field(foreign_key="organization.id", index=True, max_length=32)
    name: str = Field(max_length=253)
    status: DomainStatus = Field(
        default=DomainStatus.UNVALIDATED, sa_type=enum_column(DomainStatus, 16)
    )
    method: str | None = Field(default=None, max_length=8)
    scm_domain_id: int | None = None
    validated_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    expires_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_checked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=2000)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    def is_valid(self, now: dt.datetime | None = None) -> bool:
        now = now or utcnow()
        return self.status == DomainStatus.VALIDATED and (
            self.expires_at is None or self.expires_at > now
        )


class DomainValidation(SQLModel, table=True):
    __tablename__ = "domain_validation"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenant.id", max_length=32)
    domain_id: str = Field(foreign_key="domain.id", index=True, max_length=32)
    method: str = Field(max_length=8)  # cname, http, https, txt, email
    email: str | None = Field(default=None, max_length=320)
    status: ValidationStatus = Field(
        default=ValidationStatus.SUBMITTED, sa_type=enum_column(ValidationStatus, 16)
    )
    instructions: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    submitted_at_ca: bool = False
    error: str | None = Field(default=None, max_length=2000)
    job_id: str | None = Field(default=None, max_length=32)
    started_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    completed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Give up following SCM after this; the record may still validate there later.
    give_up_at: dt.datetime = Field(
        default_factory=lambda: utcnow() + dt.timedelta(days=7), sa_type=UTCDateTime
    )
