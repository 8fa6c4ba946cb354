"""ACME account keys per (directory, organization) and the HTTP-01 tokens being served."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.crypto.rotation import encrypted_column
from app.db import UTCDateTime, utcnow


class AcmeAccountKey(SQLModel, table=True):
    __tablename__ = "acme_account_key"
    __table_args__ = (
        UniqueConstraint("directory_url", "scope", name="uq_acme_account_key_directory_scope"),
    )

    id: int | None = Field(default=None, primary_key=True)
    directory_url: str = Field(max_length=500)
    scope: str = Field(max_length=64)  # the organization id
    key_pem: str = Field(sa_column=Column(Text, nullable=False))  # encrypted
    account_url: str | None = Field(default=None, max_length=500)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def account_key_context(row: AcmeAccountKey) -> str:
    """The associated data an account key is sealed with: it belongs to this directory+scope."""
    return f"acme-account:{row.directory_url}:{row.scope}"


class Http01Token(SQLModel, table=True):
    """Public by nature (the CA fetches it unauthenticated); kept only while a challenge runs."""

    __tablename__ = "http01_token"

    token: str = Field(primary_key=True, max_length=256)
    key_authorization: str = Field(max_length=600)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# Sealed with the data keys; `certbroker secrets reencrypt` moves them to the active key.
encrypted_column(AcmeAccountKey, "key_pem", account_key_context)
