"""The signing key table: ES256 keys for the broker's access tokens, private halves encrypted."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from app.crypto.rotation import encrypted_column
from app.db import UTCDateTime, enum_column, utcnow


class SigningKeyStatus(StrEnum):
    ACTIVE = "active"  # signs new tokens (until retire_at) and verifies
    RETIRED = "retired"  # verifies the tokens it signed until expires_at


class SigningKey(SQLModel, table=True):
    __tablename__ = "signing_key"

    kid: str = Field(primary_key=True, max_length=64)  # RFC 7638 thumbprint
    alg: str = Field(default="ES256", max_length=16)
    # PKCS#8 PEM sealed with runtime.secretbox, bound to the kid as associated data.
    private_key_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    public_jwk: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: SigningKeyStatus = Field(
        default=SigningKeyStatus.ACTIVE, sa_type=enum_column(SigningKeyStatus, 16)
    )
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    retire_at: dt.datetime = Field(sa_type=UTCDateTime)  # stops signing
    expires_at: dt.datetime = Field(sa_type=UTCDateTime, index=True)  # stops verifying


# Sealed with the data keys; `certbroker secrets reencrypt` moves them to the active key.
encrypted_column(SigningKey, "private_key_encrypted", lambda key: key.kid)
