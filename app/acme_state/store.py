"""Database implementations of the ACME issuer's AcmeAccountStore and Http01Responder.

Each call is its own short transaction, committed at once: an account key must be durable
before the CA hears of it, and a token must be visible to every API replica before the CA is
told to fetch it. The HTTP-01 calls are one statement each, run outside any transaction
(autocommit: one round trip, no BEGIN/COMMIT), as they are on the path of every DV order and
of every validation request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.acme_state.models import AcmeAccountKey, Http01Token, account_key_context
from app.db import AUTOCOMMIT, session_scope, utcnow
from app.issuers.acme.accounts import StoredAccount
from app.runtime import Runtime


class DbAccountStore:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def get(self, directory_url: str, scope: str) -> StoredAccount | None:
        async with self.runtime.sessions() as session:
            row = (
                await session.execute(
                    select(AcmeAccountKey).where(
                        AcmeAccountKey.directory_url == directory_url,
                        AcmeAccountKey.scope == scope,
                    )
                )
            ).scalar_one_or_none()
        if row is None:
            return None
        key_pem = self.runtime.secretbox.decrypt_str(row.key_pem, context=account_key_context(row))
        return StoredAccount(key_pem=key_pem, account_url=row.account_url)

    async def put(self, directory_url: str, scope: str, account: StoredAccount) -> None:
        async with session_scope(self.runtime.sessions) as session:
            row = (
                await session.execute(
                    select(AcmeAccountKey).where(
                        AcmeAccountKey.directory_url == directory_url,
                        AcmeAccountKey.scope == scope,
                    )
                )
            ).scalar_one_or_none()
            if row is None:
                row = AcmeAccountKey(directory_url=directory_url, scope=scope, key_pem="")
            row.key_pem = self.runtime.secretbox.encrypt(
                account.key_pem, context=account_key_context(row)
            )
            row.account_url = account.account_url
            row.updated_at = utcnow()
            session.add(row)


class DbHttp01Responder:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def present(self, token: str, key_authorization: str) -> None:
        dialect = self.runtime.engine.dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert(Http01Token).values(
            token=token, key_authorization=key_authorization, created_at=utcnow()
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["token"], set_={"key_authorization": stmt.excluded.key_authorization}
        )
        async with self._autocommit() as connection:
            await connection.execute(stmt)

    async def cleanup(self, token: str) -> None:
        async with self._autocommit() as connection:
            await connection.execute(delete(Http01Token).where(Http01Token.token == token))

    async def lookup(self, token: str) -> str | None:
        query = select(Http01Token.key_authorization).where(Http01Token.token == token)
        async with self._autocommit() as connection:
            return (await connection.execute(query)).scalar_one_or_none()

    @asynccontextmanager
    async def _autocommit(self) -> AsyncIterator[AsyncConnection]:
        async with self.runtime.engine.connect() as connection:
            yield await connection.execution_options(**AUTOCOMMIT)
