"""Idempotency-Key for POST /v1/certificates: the same key and body answer the first order.

The key is claimed before the order is built, by inserting its record first. Two requests
racing with one key meet at the record's unique constraint: on PostgreSQL the second waits
there until the first commits, then answers with the first one's certificate (or goes on as
the first, if that one rolled back). On SQLite, where a second writer cannot wait inside a
read snapshot, it answers 409 with Retry-After while the first is still in flight. Never a
500 from the constraint.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from app.certificates.models import Certificate, IdempotencyRecord
from app.certificates.schemas import CertificateCreate
from app.errors import Conflict


def request_hash(body: CertificateCreate) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def replay_idempotent(
    session: AsyncSession, tenant_id: str, key: str, digest: str
) -> Certificate | None:
    record = (
        await session.execute(
            select(IdempotencyRecord).where(
                IdempotencyRecord.tenant_id == tenant_id, IdempotencyRecord.key == key
            )
        )
    ).scalar_one_or_none()
    if record is None:
        return None
    if record.request_hash != digest:
        raise Conflict(
            f"Idempotency-Key {key!r} was used with a different request body; use a new key"
        )
    return await session.get(Certificate, record.certificate_id)


async def claim_key(
    session: AsyncSession, tenant_id: str, key: str, digest: str, certificate_id: str
) -> Certificate | None:
    """None when this request now owns `key` (go on and create `certificate_id`), else the
    certificate an earlier request with the same key and body created."""
    earlier = await replay_idempotent(session, tenant_id, key, digest)
    if earlier is not None:
        return earlier
    record = IdempotencyRecord(
        tenant_id=tenant_id, key=key, request_hash=digest, certificate_id=certificate_id
    )
    try:
        async with session.begin_nested():
            session.add(record)
            await session.flush()  # PostgreSQL: waits here while a racing request holds the key
    except (IntegrityError, OperationalError):
        # IntegrityError: the racing request committed first. OperationalError: SQLite's lock,
        # held by the racing request's transaction.
        earlier = await replay_idempotent(session, tenant_id, key, digest)
        if earlier is not None:
            return earlier
        raise Conflict(
            f"a request with Idempotency-Key {key!r} is still being processed; retry shortly",
            headers={"Retry-After": "1"},
        ) from None
    return None
