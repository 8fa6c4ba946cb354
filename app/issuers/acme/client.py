"""AcmeClient: the RFC 8555 resources (accounts, orders, authorizations, certificates) as calls."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from app.issuers.acme.ari import cert_id
from app.issuers.acme.errors import AcmeTransportError, EabRejected, Unauthorized
from app.issuers.acme.jws import AccountKey, b64url, external_account_binding, sign_jws
from app.issuers.acme.models import (
    Account,
    Authorization,
    CertificateChain,
    Challenge,
    Directory,
    Order,
    RenewalInfo,
)
from app.issuers.acme.transport import AcmeTransport, retry_after_seconds

T = TypeVar("T")
_ALTERNATE = re.compile(r'<([^>]+)>\s*;[^,]*rel="?alternate"?', re.IGNORECASE)
# Pebble never sends Retry-After and finishes validations in milliseconds: start polling fast
# and back off, so a slow CA costs a few requests per second at most.
FIRST_POLL = 0.05
MAX_POLL = 2.0
# A validation is not done the moment the CA was told to start it (the CA has to reach the
# name; pebble, fetching HTTP-01 from the broker's API under load, takes tens of milliseconds):
# the first look at the order waits this long instead of costing a request that finds nothing.
VALIDATION_FIRST_POLL = 0.2


@dataclass(frozen=True, slots=True)
class AcmeAccount:
    """An account as used for signing: its key and its URL (the JWS `kid`)."""

    key: AccountKey
    url: str


class AcmeClient:
    """One ACME server. Built once per directory URL and shared; safe for concurrent use."""

    def __init__(self, http: httpx.AsyncClient, directory_url: str, **transport: Any) -> None:
        self.transport = AcmeTransport(http, directory_url, **transport)

    async def directory(self) -> Directory:
        return await self.transport.directory()

    # Accounts --------------------------------------------------------------------------

    async def new_account(
        self,
        key: AccountKey,
        contact_email: str | None = None,
        eab_kid: str | None = None,
        eab_hmac_key: str | None = None,
        only_return_existing: bool = False,
    ) -> Account:
        """Create the account for `key`, or find it (200 instead of 201 when it exists)."""
        directory = await self.directory()
        payload: dict[str, Any] = {"termsOfServiceAgreed": True}
        if only_return_existing:
            payload = {"onlyReturnExisting": True}
        else:
            if contact_email:
                payload["contact"] = [f"mailto:{contact_email}"]
            if eab_kid and eab_hmac_key:
                payload["externalAccountBinding"] = external_account_binding(
                    key, eab_kid, eab_hmac_key, directory.new_account
                )
        try:
            response = await self.transport.post(directory.new_account, payload, key)
        except Unauthorized as exc:
            if "externalAccountBinding" not in payload:
                raise
            raise EabRejected(exc.type, exc.detail, exc.status, exc.subproblems) from exc
        return self._account(response.headers.get("Location"), response)

    async def get_account(self, account: AcmeAccount) -> Account:
        response = await self.transport.post(account.url, None, account.key, account.url)
        return self._account(account.url, response)

    async def list_orders(self, account: AcmeAccount) -> list[str]:
        """The account's order URLs (RFC 8555 §7.1.2.1), following `Link: rel="next"` pages."""
        info = await self.get_account(account)
        urls: list[str] = []
        next_url = info.orders_url
        while next_url:
            response = await self.transport.post(next_url, None, account.key, account.url)
            urls.extend(self.transport.json(response).get("orders", []))
            next_url = response.links.get("next", {}).get("url")
        return urls

    async def change_key(self, account: AcmeAccount, new_key: AccountKey) -> AcmeAccount:
        """Roll the account over to `new_key` (RFC 8555 §7.3.5)."""
        url = (await self.directory()).key_change
        inner = sign_jws(new_key, {"account": account.url, "oldKey": account.key.jwk}, url)
        await self.transport.post(url, inner, account.key, account.url)
        return AcmeAccount(new_key, account.url)

    # Orders ----------------------------------------------------------------------------

    async def new_order(self, account: AcmeAccount, names: list[str]) -> Order:
        url = (await self.directory()).new_order
        payload = {"identifiers": [{"type": "dns", "value": name} for name in names]}
        response = await self.transport.post(url, payload, account.key, account.url)
        location = response.headers.get("Location")
        if not location:
            raise AcmeTransportError("newOrder answered without a Location header")
        return self._order(location, response)

    async def get_order(self, account: AcmeAccount, url: str) -> Order:
        return self._order(url, await self.transport.post(url, None, account.key, account.url))

    async def get_authorization(self, account: AcmeAccount, url: str) -> Authorization:
        response = await self.transport.post(url, None, account.key, account.url)
        return Authorization.from_json(
            url, self.transport.json(response), retry_after_seconds(response)
        )

    async def respond_challenge(self, account: AcmeAccount, url: str) -> Challenge:
        response = await self.transport.post(url, {}, account.key, account.url)
        return Challenge.from_json(self.transport.json(response))

    async def deactivate_authorization(self, account: AcmeAccount, url: str) -> Authorization:
        response = await self.transport.post(
            url, {"status": "deactivated"}, account.key, account.url
        )
        return Authorization.from_json(url, self.transport.json(response))

    async def finalize_order(self, account: AcmeAccount, order: Order, csr_der: bytes) -> Order:
        response = await self.transport.post(
            order.finalize, {"csr": b64url(csr_der)}, account.key, account.url
        )
        return self._order(order.url, response)

    async def poll_order(
        self, account: AcmeAccount, url: str, done: set[str], budget: float, first: float = 0.0
    ) -> Order:
        """Fetch the order (the first time after `first` seconds) until its status is in
        `done` or `budget` seconds would be exceeded; the last fetch is returned either way."""
        return await _poll(lambda: self.get_order(account, url), done, budget, first)

    async def poll_authorization(
        self, account: AcmeAccount, url: str, budget: float
    ) -> Authorization:
        fetch = lambda: self.get_authorization(account, url)  # noqa: E731
        return await _poll(fetch, {"valid", "invalid", "deactivated", "expired", "revoked"}, budget)

    # Certificates ----------------------------------------------------------------------

    async def download_certificate(self, account: AcmeAccount, url: str) -> CertificateChain:
        response = await self.transport.post(url, None, account.key, account.url)
        alternates = tuple(
            match.group(1)
            for header in response.headers.get_list("Link")
            for match in _ALTERNATE.finditer(header)
        )
        return CertificateChain(url, response.text, alternates)

    async def revoke_certificate(
        self, account: AcmeAccount, certificate_pem: str, reason: int = 0
    ) -> None:
        url = (await self.directory()).revoke_cert
        der = x509.load_pem_x509_certificate(certificate_pem.encode()).public_bytes(
            serialization.Encoding.DER
        )
        await self.transport.post(
            url, {"certificate": b64url(der), "reason": reason}, account.key, account.url
        )

    async def renewal_info(self, certificate_pem: str) -> RenewalInfo | None:
        """ARI (RFC 9773) for a certificate, or None when the CA does not offer it."""
        base = (await self.directory()).renewal_info
        if not base:
            return None
        certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
        response = await self.transport.get(f"{base.rstrip('/')}/{cert_id(certificate)}")
        doc = self.transport.json(response)
        window = doc["suggestedWindow"]
        return RenewalInfo(
            window["start"],
            window["end"],
            doc.get("explanationURL"),
            retry_after_seconds(response),
        )

    # Parsing ---------------------------------------------------------------------------

    def _order(self, url: str, response: httpx.Response) -> Order:
        return Order.from_json(url, self.transport.json(response), retry_after_seconds(response))

    def _account(self, url: str | None, response: httpx.Response) -> Account:
        if not url:
            raise AcmeTransportError("newAccount answered without a Location header")
        doc = self.transport.json(response)
        return Account(
            url, doc.get("status", "valid"), doc.get("orders"), tuple(doc.get("contact") or ())
        )


async def _poll(
    fetch: Callable[[], Awaitable[T]], done: set[str], budget: float, first: float = 0.0
) -> T:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget
    if first:
        await asyncio.sleep(min(first, budget))
    delay = max(FIRST_POLL, first * 1.5)
    while True:
        item = await fetch()
        if item.status in done:  # type: ignore[attr-defined]
            return item
        server_says = getattr(item, "retry_after", None)
        wait = server_says if server_says is not None else delay
        if loop.time() + wait > deadline:
            return item
        await asyncio.sleep(wait)
        delay = min(delay * 1.5, MAX_POLL)
