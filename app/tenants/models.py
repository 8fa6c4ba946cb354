"""The tenant table."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, enum_column, new_id, utcnow


class TenantStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"  # its API clients get no tokens and its tokens stop verifying


class TenantBase(SQLModel):
    name: str = Field(min_length=1, max_length=200, unique=True)


class Tenant(TenantBase, table=True):
    __tablename__ = "tenant"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    slug: str = Field(max_length=63, unique=True)
    status: TenantStatus = Field(default=TenantStatus.ACTIVE, sa_type=enum_column(TenantStatus, 16))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def is_active(self) -> bool:
        return self.status == TenantStatus.ACTIVE
