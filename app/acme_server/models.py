"""The ACME server's tables: EAB credentials, accounts, orders, authorizations, challenges."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.crypto.rotation import encrypted_column
from app.db import UTCDateTime, enum_column, new_id, utcnow


class AcmeCredential(SQLModel, table=True):
    """An External Account Binding key the broker issued: its id is the EAB `kid`."""

    __tablename__ = "acme_credential"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=32)
    organization_id: str = Field(foreign_key="organization.id", index=True, max_length=32)
    name: str | None = Field(default=None, max_length=200)
    product: str = Field(max_length=64)
    # Names the accounts bound to this key may order: under one of these (empty = the
    # organization's allowed domains).
    allowed_domains: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    hmac_key: str = Field(sa_column=Column(Text, nullable=False))  # encrypted
    created_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class AccountStatus(StrEnum):
    VALID = "valid"
    DEACTIVATED = "deactivated"
    REVOKED = "revoked"


class AcmeAccount(SQLModel, table=True):
    __tablename__ = "acme_account"
    __table_args__ = (
        UniqueConstraint("organization_id", "thumbprint", name="uq_acme_account_org_thumbprint"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=32)
    organization_id: str = Field(foreign_key="organization.id", max_length=32)
    credential_id: str = Field(foreign_key="acme_credential.id", index=True, max_length=32)
    jwk: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    thumbprint: str = Field(max_length=64)  # RFC 7638, base64url
    status: AccountStatus = Field(
        default=AccountStatus.VALID, sa_type=enum_column(AccountStatus, 16)
    )
    contact: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OrderStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    PROCESSING = "processing"
    VALID = "valid"
    INVALID = "invalid"


class AcmeOrder(SQLModel, table=True):
    __tablename__ = "acme_order"
    __table_args__ = (Index("ix_acme_order_account_created", "account_id", "created_at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenant.id", max_length=32)
    organization_id: str = Field(foreign_key="organization.id", max_length=32)
    account_id: str = Field(foreign_key="acme_account.id", max_length=32)
    product: str = Field(max_length=64)
    status: OrderStatus = Field(default=OrderStatus.PENDING, sa_type=enum_column(OrderStatus, 16))
    names: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    expires: dt.datetime = Field(sa_type=UTCDateTime)
    error: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # The broker's certificate row, made at finalize through the same path as POST /v1/certificates.
    certificate_id: str | None = Field(
        default=None, foreign_key="certificate.id", index=True, max_length=32
    )
    replaces: str | None = Field(default=None, max_length=32)  # the renewed certificate's id
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AuthzStatus(StrEnum):
    PENDING = "pending"
    VALID = "valid"
    INVALID = "invalid"
    DEACTIVATED = "deactivated"
    EXPIRED = "expired"
    REVOKED = "revoked"


class AcmeAuthorization(SQLModel, table=True):
    __tablename__ = "acme_authorization"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    order_id: str = Field(foreign_key="acme_order.id", index=True, max_length=32)
    account_id: str = Field(foreign_key="acme_account.id", max_length=32)
    name: str = Field(max_length=253)  # without the "*." of a wildcard
    wildcard: bool = False
    status: AuthzStatus = Field(default=AuthzStatus.PENDING, sa_type=enum_column(AuthzStatus, 16))
    expires: dt.datetime = Field(sa_type=UTCDateTime)


class ChallengeStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    VALID = "valid"
    INVALID = "invalid"


class AcmeChallenge(SQLModel, table=True):
    __tablename__ = "acme_challenge"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    authorization_id: str = Field(foreign_key="acme_authorization.id", index=True, max_length=32)
    type: str = Field(max_length=16)  # http-01 | dns-01
    token: str = Field(max_length=64)
    status: ChallengeStatus = Field(
        default=ChallengeStatus.PENDING, sa_type=enum_column(ChallengeStatus, 16)
    )
    validated_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    error: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


# Sealed with the data keys; `certbroker secrets reencrypt` moves them to the active key.
encrypted_column(AcmeCredential, "hmac_key", lambda row: f"acme-credential:{row.id}")
