"""The tenant table."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Enum
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, new_id, utcnow


def status_column(enum: type[StrEnum]) -> Enum:
    # Stored as its value in a VARCHAR (no native PostgreSQL enum to migrate), read back as
    # the enum member. Shared by the clients and signing key tables; a candidate for app/db.py.
    return Enum(enum, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class TenantStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"  # its API clients get no tokens and its tokens stop verifying


class TenantBase(SQLModel):
    name: str = Field(min_length=1, max_length=200, unique=True)


class Tenant(TenantBase, table=True):
    __tablename__ = "tenant"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    slug: str = Field(max_length=63, unique=True)
    status: TenantStatus = Field(default=TenantStatus.ACTIVE, sa_type=status_column(TenantStatus))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def is_active(self) -> bool:
        return self.status == TenantStatus.ACTIVE
