"""Where ACME account keys live: one key per (directory URL, account scope)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class StoredAccount:
    key_pem: str
    # None between saving a new key and the CA confirming the account; newAccount with a known
    # key answers with the existing account, so the pair is recovered after a crash.
    account_url: str | None


@runtime_checkable
class AcmeAccountStore(Protocol):
    """The broker implements this on its database (keys encrypted at rest)."""

    async def get(self, directory_url: str, scope: str) -> StoredAccount | None: ...

    async def put(self, directory_url: str, scope: str, account: StoredAccount) -> None: ...


class InMemoryAccountStore:
    """For tests and the benchmark."""

    def __init__(self) -> None:
        self.accounts: dict[tuple[str, str], StoredAccount] = {}

    async def get(self, directory_url: str, scope: str) -> StoredAccount | None:
        return self.accounts.get((directory_url, scope))

    async def put(self, directory_url: str, scope: str, account: StoredAccount) -> None:
        self.accounts[(directory_url, scope)] = account
