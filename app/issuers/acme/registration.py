"""Finding or creating the ACME account of a (directory URL, scope), and rolling its key."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from app.issuers.acme.accounts import AcmeAccountStore, StoredAccount
from app.issuers.acme.client import AcmeAccount, AcmeClient
from app.issuers.acme.config import AcmeConfig
from app.issuers.acme.jws import AccountKey


class AccountRegistrar:
    """Caches accounts in memory; the store stays the source of truth across processes."""

    def __init__(self, store: AcmeAccountStore) -> None:
        self.store = store
        self._accounts: dict[tuple[str, str], AcmeAccount] = {}
        # One registration at a time per scope, or a burst of first orders makes many accounts.
        self._locks: defaultdict[tuple[str, str], asyncio.Lock] = defaultdict(asyncio.Lock)

    async def account(self, client: AcmeClient, config: AcmeConfig) -> AcmeAccount:
        scope = (config.directory_url, config.account_scope)
        cached = self._accounts.get(scope)
        if cached is not None:
            return cached
        async with self._locks[scope]:
            if scope in self._accounts:
                return self._accounts[scope]
            stored = await self.store.get(*scope)
            if stored is not None and stored.account_url:
                account = AcmeAccount(AccountKey.from_pem(stored.key_pem), stored.account_url)
            else:
                account = await self._register(client, config, stored)
            self._accounts[scope] = account
            return account

    async def _register(
        self, client: AcmeClient, config: AcmeConfig, stored: StoredAccount | None
    ) -> AcmeAccount:
        scope = (config.directory_url, config.account_scope)
        if stored is None:
            key = AccountKey.generate(config.account_key_type)
            # Saved before the CA sees it: a crash after newAccount then finds the same account
            # again (a known key gets the existing account back) instead of orphaning it.
            await self.store.put(*scope, StoredAccount(key.to_pem(), None))
        else:
            key = AccountKey.from_pem(stored.key_pem)
        info = await client.new_account(key, config.contact_email, config.eab_kid, config.hmac_key)
        await self.store.put(*scope, StoredAccount(key.to_pem(), info.url))
        return AcmeAccount(key, info.url)

    async def rollover(
        self, client: AcmeClient, config: AcmeConfig, new_key: AccountKey | None = None
    ) -> AcmeAccount:
        """Replace the scope's account key at the CA (keyChange), then in the store."""
        account = await self.account(client, config)
        scope = (config.directory_url, config.account_scope)
        async with self._locks[scope]:
            new_key = new_key or AccountKey.generate(config.account_key_type)
            rolled = await client.change_key(account, new_key)
            await self.store.put(*scope, StoredAccount(new_key.to_pem(), rolled.url))
            self._accounts[scope] = rolled
            return rolled

    def forget(self, config: AcmeConfig) -> None:
        """Drop the cached account, e.g. after the store was changed by another process."""
        self._accounts.pop((config.directory_url, config.account_scope), None)

    async def refresh_if_stale(self, config: AcmeConfig) -> bool:
        """After a failed request: True (and the cache dropped) when the store now holds
        another key or URL than the cached account, i.e. the failure may be our stale key."""
        scope = (config.directory_url, config.account_scope)
        cached = self._accounts.get(scope)
        if cached is None:
            return False
        stored = await self.store.get(*scope)
        if stored is not None and (stored.account_url, stored.key_pem) == (
            cached.url,
            cached.key.to_pem(),
        ):
            return False
        self._accounts.pop(scope, None)
        return True
