"""Signing key lifecycle: create, rotate (automatically after rotation_days), list verifiable.

Never commits. A key stops signing at retire_at and keeps verifying until expires_at, which is
retire_at plus the longest token lifetime, so rotation never invalidates a token in flight.
"""

from __future__ import annotations

import datetime as dt

from joserfc.jwk import ECKey
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.auth.models import SigningKey, SigningKeyStatus
from app.db import utcnow
from app.runtime import Runtime

ALGORITHM = "ES256"
# Covers clock skew between API processes and a signer whose cache still held the old key.
EXPIRY_MARGIN = dt.timedelta(minutes=2)


def _lifetimes(runtime: Runtime) -> tuple[dt.timedelta, dt.timedelta]:
    auth = runtime.settings.auth
    token_life = dt.timedelta(seconds=auth.access_token_ttl) + EXPIRY_MARGIN
    return dt.timedelta(days=auth.signing_key_rotation_days), token_life


def new_signing_key(runtime: Runtime, now: dt.datetime) -> SigningKey:
    key = ECKey.generate_key("P-256", private=True)
    kid = key.thumbprint()
    rotation, token_life = _lifetimes(runtime)
    pem = key.as_pem(private=True)
    public = {**key.as_dict(private=False), "kid": kid, "alg": ALGORITHM, "use": "sig"}
    return SigningKey(
        kid=kid,
        alg=ALGORITHM,
        private_key_encrypted=runtime.secretbox.encrypt(pem, context=kid),
        public_jwk=public,
        status=SigningKeyStatus.ACTIVE,
        created_at=now,
        retire_at=now + rotation,
        expires_at=now + rotation + token_life,
    )


def private_key(runtime: Runtime, row: SigningKey) -> ECKey:
    pem = runtime.secretbox.decrypt(row.private_key_encrypted, context=row.kid)
    return ECKey.import_key(pem)


async def active_signing_key(session: AsyncSession, now: dt.datetime) -> SigningKey | None:
    return await session.scalar(
        select(SigningKey)
        .where(SigningKey.status == SigningKeyStatus.ACTIVE, col(SigningKey.retire_at) > now)
        .order_by(col(SigningKey.created_at).desc())
        .limit(1)
    )


async def rotate_signing_key(session: AsyncSession, runtime: Runtime) -> SigningKey:
    """Retire every signing key and start signing with a new one. Safe to run any time."""
    now = utcnow()
    _, token_life = _lifetimes(runtime)
    active = await session.scalars(
        select(SigningKey).where(SigningKey.status == SigningKeyStatus.ACTIVE)
    )
    for old in active:
        old.status = SigningKeyStatus.RETIRED
        old.retire_at = min(old.retire_at, now)
        old.expires_at = min(old.expires_at, now + token_life)
        session.add(old)
    key = new_signing_key(runtime, now)
    session.add(key)
    await session.flush()
    return key


async def ensure_signing_key(session: AsyncSession, runtime: Runtime) -> SigningKey:
    """The key to sign with now: the active one, or a fresh one if none is younger than
    settings.auth.signing_key_rotation_days."""
    now = utcnow()
    rotation, _ = _lifetimes(runtime)
    key = await active_signing_key(session, now)
    if key is None or key.created_at <= now - rotation:
        # Two processes rotating at once only leave two verifiable keys, both legitimate.
        key = await rotate_signing_key(session, runtime)
    return key


async def verification_keys(session: AsyncSession) -> list[SigningKey]:
    """Every key whose tokens may still be valid, newest first (the JWKS document)."""
    rows = await session.scalars(
        select(SigningKey)
        .where(col(SigningKey.expires_at) > utcnow())
        .order_by(col(SigningKey.created_at).desc())
    )
    return list(rows)
