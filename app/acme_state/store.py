"""Database implementations of the ACME issuer's AcmeAccountStore and Http01Responder.

Each call is its own short transaction, committed at once: an account key must be durable
before the CA hears of it, and a token must be visible to every API replica before the CA is
told to fetch it.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from app.acme_state.models import AcmeAccountKey, Http01Token, account_key_context
from app.db import session_scope, utcnow
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
        async with session_scope(self.runtime.sessions) as session:
            row = await session.get(Http01Token, token)
            if row is None:
                session.add(Http01Token(token=token, key_authorization=key_authorization))
            else:
                row.key_authorization = key_authorization
                session.add(row)

    async def cleanup(self, token: str) -> None:
        async with session_scope(self.runtime.sessions) as session:
            await session.execute(delete(Http01Token).where(Http01Token.token == token))

    async def lookup(self, token: str) -> str | None:
        async with self.runtime.sessions() as session:
            row = await session.get(Http01Token, token)
            return row.key_authorization if row else None
