"""The API client table: public client id, hashed secret, granted scopes."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, enum_column, new_id, utcnow


class ApiClientStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"  # final: no new tokens, and its unexpired tokens stop verifying


class ApiClientBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)


class ApiClient(ApiClientBase, table=True):
    __tablename__ = "api_client"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=32)
    client_id: str = Field(unique=True, max_length=64)
    # "hmac-sha256$<salt>$<digest>"; the plaintext secret is shown once and never stored.
    secret_hash: str = Field(max_length=200)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: ApiClientStatus = Field(
        default=ApiClientStatus.ACTIVE, sa_type=enum_column(ApiClientStatus, 16)
    )
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    secret_rotated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def is_active(self) -> bool:
        return self.status == ApiClientStatus.ACTIVE
