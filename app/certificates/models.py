"""The certificate table (one row per request and the certificate it yields) and its events."""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.crypto.rotation import encrypted_column
from app.db import UTCDateTime, enum_column, new_id, utcnow


class CertificateStatus(StrEnum):
    PENDING_APPROVAL = "pending_approval"
    PENDING_VALIDATION = "pending_validation"
    SUBMITTED = "submitted"
    ISSUED = "issued"
    FAILED = "failed"
    REJECTED = "rejected"
    REVOKED = "revoked"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"


class CertificateSource(StrEnum):
    BROKER = "broker"
    SCM_IMPORT = "scm_import"  # found in SCM by the inventory sync, ordered elsewhere
    UPLOAD = "upload"  # any PEM certificate handed in for monitoring


OPEN_STATUSES = (
    CertificateStatus.PENDING_APPROVAL,
    CertificateStatus.PENDING_VALIDATION,
    CertificateStatus.SUBMITTED,
)


class Certificate(SQLModel, table=True):
    __tablename__ = "certificate"
    __table_args__ = (
        Index("ix_certificate_tenant_status", "tenant_id", "status"),
        Index("ix_certificate_tenant_not_after", "tenant_id", "not_after"),
        Index("ix_certificate_tenant_created", "tenant_id", "created_at", "id"),
        # The renewal scheduler and the expiry check are range scans on these, not inventory scans.
        Index("ix_certificate_renew_after", "renew_after"),
        Index("ix_certificate_next_alert_at", "next_alert_at"),
        # Imported and uploaded certificates are unique per organization by `backend_ref` (the
        # SCM sslId, or an upload's SHA-256 fingerprint), so a re-run or a re-upload cannot
        # duplicate one. Broker-ordered rows are left out: the issuance job sets theirs.
        Index(
            "uq_certificate_external_ref",
            "organization_id",
            "backend_ref",
            unique=True,
            sqlite_where=text("source != 'broker'"),
            postgresql_where=text("source != 'broker'"),
        ),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenant.id", max_length=32)
    organization_id: str = Field(foreign_key="organization.id", index=True, max_length=32)
    product: str = Field(max_length=64)
    validation_level: str = Field(max_length=2)
    backend: str = Field(max_length=16)
    common_name: str = Field(max_length=253)
    names: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # " a.example.com b.example.com " — lets name and SAN search use one indexed-friendly LIKE.
    names_text: str = Field(default="", sa_column=Column(Text, nullable=False))
    term_days: int
    server_type: str = Field(default="other", max_length=32)
    comments: str | None = Field(default=None, max_length=1024)
    labels: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Canonical JSON of the labels (sorted keys, no spaces) so a label filter is one LIKE.
    labels_text: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    auto_renew: bool = True
    renew_before_days: int | None = None
    status: CertificateStatus = Field(
        default=CertificateStatus.SUBMITTED, sa_type=enum_column(CertificateStatus)
    )
    status_reason: str | None = Field(default=None, max_length=2000)
    key_type: str = Field(max_length=16)
    key_source: str = Field(max_length=16)  # "csr" (caller holds the key) or "generated"
    private_key: str | None = Field(default=None, sa_column=Column(Text))  # encrypted
    csr_pem: str = Field(sa_column=Column(Text, nullable=False))
    public_key_sha256: str = Field(max_length=64)
    requested_by: str = Field(max_length=200)
    backend_state: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    backend_ref: str | None = Field(default=None, max_length=500)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    serial: str | None = Field(default=None, max_length=64, index=True)
    not_before: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    not_after: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    leaf_pem: str | None = Field(default=None, sa_column=Column(Text))
    chain_pem: str | None = Field(default=None, sa_column=Column(Text))
    issuer_dn: str | None = Field(default=None, max_length=500)
    issued_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    revocation_reason: int | None = None
    revocation_requested_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Where the row came from: ordered through the broker, imported from SCM, or uploaded.
    source: CertificateSource = Field(
        default=CertificateSource.BROKER, sa_type=enum_column(CertificateSource, 16)
    )
    # When auto-renewal should order a successor (set at issuance; ARI may move it).
    renew_after: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the next expiry threshold is crossed, and the last threshold alerted (days).
    next_alert_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    alerted_threshold: int | None = None
    renewal_of: str | None = Field(default=None, max_length=32, index=True)
    superseded_by: str | None = Field(default=None, max_length=32)
    job_id: str | None = Field(default=None, max_length=32)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CertificateEvent(SQLModel, table=True):
    __tablename__ = "certificate_event"

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(max_length=32)
    certificate_id: str = Field(foreign_key="certificate.id", index=True, max_length=32)
    at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    from_status: str | None = Field(default=None, max_length=24)
    to_status: str | None = Field(default=None, max_length=24)
    actor: str = Field(max_length=200)
    message: str = Field(max_length=2000)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class IdempotencyRecord(SQLModel, table=True):
    """The first answer to a POST with an Idempotency-Key, replayed for the same key and body."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_idempotency_tenant_key"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(max_length=32)
    key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    certificate_id: str = Field(max_length=32)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def names_text(names: list[str]) -> str:
    return " " + " ".join(names) + " "


def labels_text(labels: dict[str, str]) -> str:
    return json.dumps(labels, sort_keys=True, separators=(",", ":"))


# Sealed with the data keys; `certbroker secrets reencrypt` moves them to the active key.
encrypted_column(Certificate, "private_key", lambda cert: f"certificate:{cert.id}")
