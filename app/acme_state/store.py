"""Database implementations of the ACME issuer's AcmeAccountStore and Http01Responder.

Each call is its own short transaction, committed at once: an account key must be durable
before the CA hears of it, and a token must be visible to every API replica before the CA is
told to fetch it. The HTTP-01 calls are one statement each, run outside any transaction
(autocommit: one round trip, no BEGIN/COMMIT), as they are on the path of every DV order and
of every validation request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Delete, Insert

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


@dataclass(slots=True)
class TokenChanges:
    """What `DbHttp01Responder` was asked to do under `tokens_with_checkpoint`, not yet done."""

    published: dict[str, str] = field(default_factory=dict)  # token -> key authorization
    removed: list[str] = field(default_factory=list)


_CHANGES: ContextVar[TokenChanges | None] = ContextVar("http01_changes", default=None)


@contextmanager
def tokens_with_checkpoint() -> Iterator[TokenChanges]:
    """While open, `DbHttp01Responder` in this context (and the tasks it starts) only notes its
    changes in the `TokenChanges` yielded, for the caller to make with its own statements:
    tokens presented with its next checkpoint, in the same statement (`token_upsert`), before it
    lets the CA fetch them (AcmeIssuer always checkpoints between publishing responses and
    answering their challenges); tokens removed with the job's outcome (`token_delete`). What is
    still noted when the caller is done with the issuer is the caller's to do."""
    changes = TokenChanges()
    reset = _CHANGES.set(changes)
    try:
        yield changes
    finally:
        _CHANGES.reset(reset)


def token_delete(tokens: list[str]) -> Delete:
    return delete(Http01Token).where(Http01Token.token.in_(tokens))  # type: ignore[attr-defined]


def token_upsert(dialect: str, tokens: dict[str, str]) -> Insert:
    """Publish (or replace) the key authorizations of `tokens`: one INSERT … ON CONFLICT."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    now = utcnow()
    stmt = insert(Http01Token).values(
        [
            {"token": token, "key_authorization": value, "created_at": now}
            for token, value in tokens.items()
        ]
    )
    return stmt.on_conflict_do_update(
        index_elements=["token"], set_={"key_authorization": stmt.excluded.key_authorization}
    )


_DELETE = delete(Http01Token).where(Http01Token.token == bindparam("token"))
_LOOKUP = select(Http01Token.key_authorization).where(Http01Token.token == bindparam("token"))


class DbHttp01Responder:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        # Connections taken from this engine run outside transactions (one statement each).
        self._engine = runtime.engine.execution_options(**AUTOCOMMIT)

    async def present(self, token: str, key_authorization: str) -> None:
        changes = _CHANGES.get()
        if changes is not None:
            changes.published[token] = key_authorization
            return
        stmt = token_upsert(self.runtime.engine.dialect.name, {token: key_authorization})
        async with self._autocommit() as connection:
            await connection.execute(stmt)

    async def cleanup(self, token: str) -> None:
        changes = _CHANGES.get()
        if changes is not None:
            changes.published.pop(token, None)
            changes.removed.append(token)
            return
        async with self._autocommit() as connection:
            await connection.execute(_DELETE, {"token": token})

    async def lookup(self, token: str) -> str | None:
        async with self._autocommit() as connection:
            return (await connection.execute(_LOOKUP, {"token": token})).scalar_one_or_none()

    @asynccontextmanager
    async def _autocommit(self) -> AsyncIterator[AsyncConnection]:
        async with self._engine.connect() as connection:
            yield connection
