"""The organization table. Secrets live in `*_secret` columns, encrypted with the secret box."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.crypto.rotation import encrypted_column
from app.db import UTCDateTime, new_id, utcnow


class Organization(SQLModel, table=True):
    __tablename__ = "organization"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_organization_tenant_name"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=32)
    name: str = Field(max_length=200)
    sandbox: bool = False  # wired to the local simulators; labelled as such everywhere
    # Non-secret backend settings as JSON; the matching secret is encrypted beside them.
    scm: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    scm_secret: str | None = Field(default=None, max_length=4000)
    # The SCM client certificate's private key (PEM), for auth_style client_cert.
    scm_client_key_secret: str | None = Field(default=None, sa_type=Text)
    acme: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    acme_eab_secret: str | None = Field(default=None, max_length=4000)
    dns_provider: str | None = Field(default=None, max_length=64)
    dns: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    dns_secret: str | None = Field(default=None, max_length=4000)
    allowed_domains: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    catalog: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    default_terms: dict[str, int] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    backend_overrides: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    auto_approve: bool = True
    # Approver subjects (API client ids or external subjects) per validation level.
    approvers: dict[str, list[str]] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    approval_timeout_hours: int = 72
    unvalidated_domains: str = Field(default="validate", max_length=16)  # "validate" | "fail"
    alert_thresholds: list[int] = Field(
        default_factory=lambda: [30, 14, 7], sa_column=Column(JSON, nullable=False)
    )
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# Sealed with the data keys; `certbroker secrets reencrypt` moves them to the active key.
encrypted_column(Organization, "scm_secret", lambda org: f"org:{org.id}:scm")
encrypted_column(Organization, "scm_client_key_secret", lambda org: f"org:{org.id}:scm-client-key")
encrypted_column(Organization, "acme_eab_secret", lambda org: f"org:{org.id}:acme")
encrypted_column(Organization, "dns_secret", lambda org: f"org:{org.id}:dns")
