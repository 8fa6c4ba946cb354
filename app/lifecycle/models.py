"""Lifecycle tables: expiry and renewal-failure alerts, and one renewal record per certificate."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, enum_column, new_id, utcnow


class AlertKind(StrEnum):
    EXPIRING = "expiring"  # a threshold (days before not_after) was crossed
    EXPIRED = "expired"
    RENEWAL_FAILED = "renewal_failed"


class AlertSeverity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"  # a person has seen it; stays until resolved
    RESOLVED = "resolved"  # a successor was issued (or the renewal went through)


class Alert(SQLModel, table=True):
    __tablename__ = "alert"
    __table_args__ = (
        # Each certificate crosses each threshold once: a second insert is impossible.
        UniqueConstraint("certificate_id", "kind", "threshold", name="uq_alert_certificate"),
        Index("ix_alert_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_alert_tenant_status", "tenant_id", "status"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenant.id", max_length=32)
    organization_id: str = Field(max_length=32, index=True)
    certificate_id: str = Field(foreign_key="certificate.id", max_length=32, index=True)
    kind: AlertKind = Field(sa_type=enum_column(AlertKind, 16))
    # Days before expiry for `expiring`; 0 for `expired` and `renewal_failed`.
    threshold: int = 0
    severity: AlertSeverity = Field(sa_type=enum_column(AlertSeverity, 16))
    status: AlertStatus = Field(default=AlertStatus.OPEN, sa_type=enum_column(AlertStatus, 16))
    message: str = Field(max_length=2000)
    not_after: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    occurrences: int = 1  # renewal failures repeat on the same alert
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    acknowledged_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by: str | None = Field(default=None, max_length=200)
    resolved_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class RenewalState(StrEnum):
    ORDERING = "ordering"  # a successor is ordered, or will be at the next attempt
    DONE = "done"  # the successor was issued
    FAILED = "failed"  # attempts exhausted; a manual renew starts over
    CANCELLED = "cancelled"  # the certificate was revoked or replaced otherwise


class Renewal(SQLModel, table=True):
    """The link from a certificate to its replacement. One per certificate (unique), so a
    crash, a double cron run or a racing manual renew can never order two successors."""

    __tablename__ = "certificate_renewal"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenant.id", max_length=32, index=True)
    certificate_id: str = Field(foreign_key="certificate.id", max_length=32, unique=True)
    successor_id: str | None = Field(default=None, max_length=32)
    state: RenewalState = Field(
        default=RenewalState.ORDERING, sa_type=enum_column(RenewalState, 16)
    )
    trigger: str = Field(max_length=16)  # "schedule", "ari" or "manual"
    requested_by: str = Field(max_length=200)
    reuse_key: bool = False
    attempts: int = 0  # successors ordered so far
    failures: int = 0
    last_error: str | None = Field(default=None, max_length=2000)
    job_id: str | None = Field(default=None, max_length=32)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
