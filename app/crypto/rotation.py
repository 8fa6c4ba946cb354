"""Data-key rotation: every column holding a SecretBox value is registered here by the module
that owns its table, and `reencrypt_all` moves the values still sealed under an older key to
the active one. Old key ids can be dropped from CERTBROKER_DATA_KEYS once it reports nothing
left to do."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crypto.secretbox import SecretBox


@dataclass(frozen=True, slots=True)
class EncryptedColumn:
    model: type[Any]
    column: str
    context: Callable[[Any], str]  # the associated data the value was sealed with

    @property
    def name(self) -> str:
        return f"{self.model.__tablename__}.{self.column}"


ENCRYPTED_COLUMNS: list[EncryptedColumn] = []


def encrypted_column(model: type[Any], column: str, context: Callable[[Any], str]) -> None:
    ENCRYPTED_COLUMNS.append(EncryptedColumn(model, column, context))


async def reencrypt_column(
    session: AsyncSession, spec: EncryptedColumn, box: SecretBox, batch: int = 500
) -> int:
    """Re-seal one column's values under the active key, in batches; the caller commits.
    Rows already under the active key are not read."""
    column = getattr(spec.model, spec.column)
    current = f"v1:{box.active_key_id}:%"
    done = 0
    while True:
        rows = (
            await session.execute(
                select(spec.model).where(column.is_not(None), column.not_like(current)).limit(batch)
            )
        ).scalars()
        moved = 0
        for row in rows:
            context = spec.context(row)
            plain = box.decrypt(getattr(row, spec.column), context=context)
            setattr(row, spec.column, box.encrypt(plain, context=context))
            moved += 1
        await session.flush()
        done += moved
        if moved < batch:
            return done


async def reencrypt_all(session: AsyncSession, box: SecretBox) -> dict[str, int]:
    return {spec.name: await reencrypt_column(session, spec, box) for spec in ENCRYPTED_COLUMNS}
