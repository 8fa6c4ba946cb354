"""Inventory tables: the SCM sync watermark per organization."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class InventorySyncState(SQLModel, table=True):
    """How far the SCM sync of one organization got.

    Every sslId up to `max_ssl_id` has been looked at once, except those in `pending_ssl_ids`
    (seen while not yet final, e.g. Requested or Applied), which each run looks at again.
    """

    __tablename__ = "inventory_sync_state"

    organization_id: str = Field(foreign_key="organization.id", primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=32)
    max_ssl_id: int = 0
    pending_ssl_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    last_synced_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_seen: int = 0  # SCM certificates listed by the last run
    last_imported: int = 0
    total_imported: int = 0
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
