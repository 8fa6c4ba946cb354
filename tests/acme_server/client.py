"""A deliberately small ACME client for precise requests (and precise mistakes) in tests."""

from __future__ import annotations

from typing import Any

import httpx

from app.issuers.acme.jws import AccountKey, external_account_binding, sign_jws

JOSE = {"Content-Type": "application/jose+json"}


class TinyAcme:
    def __init__(self, http: httpx.AsyncClient, directory_url: str) -> None:
        self.http = http
        self.directory_url = directory_url
        self.directory: dict[str, Any] = {}
        self.key = AccountKey.generate()
        self.kid: str | None = None

    async def start(self) -> TinyAcme:
        answer = await self.http.get(self.directory_url)
        assert answer.status_code == 200, answer.text
        self.directory = answer.json()
        return self

    async def nonce(self) -> str:
        answer = await self.http.head(self.directory["newNonce"])
        assert answer.status_code == 200
        return answer.headers["Replay-Nonce"]

    async def post(
        self,
        url: str,
        payload: Any | None,
        *,
        key: AccountKey | None = None,
        kid: str | bool | None = True,
        nonce: str | None = None,
        signed_url: str | None = None,
    ) -> httpx.Response:
        """`kid=True`: the account's kid; `kid=None`: the jwk of `key`."""
        use_kid = self.kid if kid is True else (kid or None)
        body = sign_jws(
            key or self.key,
            payload,
            signed_url or url,
            nonce if nonce is not None else await self.nonce(),
            kid=use_kid,
        )
        return await self.http.post(url, json=body, headers=JOSE)

    def eab(self, kid: str, hmac_key: str, key: AccountKey | None = None) -> dict[str, str]:
        return external_account_binding(
            key or self.key, kid, hmac_key, self.directory["newAccount"]
        )

    async def register(self, kid: str, hmac_key: str) -> httpx.Response:
        answer = await self.post(
            self.directory["newAccount"],
            {"termsOfServiceAgreed": True, "externalAccountBinding": self.eab(kid, hmac_key)},
            kid=None,
        )
        if answer.status_code in (200, 201):
            self.kid = answer.headers["Location"]
        return answer


def problem_type(answer: httpx.Response) -> str:
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.text
    return answer.json()["type"].removeprefix("urn:ietf:params:acme:error:")
