"""ACME resources (RFC 8555 §7.1) as small immutable records parsed from the server's JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Directory:
    new_nonce: str
    new_account: str
    new_order: str
    revoke_cert: str
    key_change: str
    renewal_info: str | None = None  # RFC 9773 ARI, when offered
    terms_of_service: str | None = None
    external_account_required: bool = False

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Directory:
        meta = doc.get("meta") or {}
        return cls(
            new_nonce=doc["newNonce"],
            new_account=doc["newAccount"],
            new_order=doc["newOrder"],
            revoke_cert=doc["revokeCert"],
            key_change=doc["keyChange"],
            renewal_info=doc.get("renewalInfo"),
            terms_of_service=meta.get("termsOfService"),
            external_account_required=bool(meta.get("externalAccountRequired", False)),
        )


@dataclass(frozen=True, slots=True)
class Account:
    url: str
    status: str
    orders_url: str | None = None
    contact: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Challenge:
    type: str
    url: str
    status: str
    token: str | None = None
    error: dict[str, Any] | None = None

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Challenge:
        return cls(
            doc["type"],
            doc["url"],
            doc.get("status", "pending"),
            doc.get("token"),
            doc.get("error"),
        )


@dataclass(frozen=True, slots=True)
class Authorization:
    url: str
    identifier: str  # the bare name; a wildcard's "*." is only in `wildcard`
    status: str
    wildcard: bool = False
    challenges: tuple[Challenge, ...] = ()
    retry_after: float | None = None

    @classmethod
    def from_json(
        cls, url: str, doc: dict[str, Any], retry_after: float | None = None
    ) -> Authorization:
        return cls(
            url=url,
            identifier=doc["identifier"]["value"],
            status=doc["status"],
            wildcard=bool(doc.get("wildcard", False)),
            challenges=tuple(Challenge.from_json(c) for c in doc.get("challenges", [])),
            retry_after=retry_after,
        )

    def failed_challenge(self) -> Challenge | None:
        return next((c for c in self.challenges if c.error), None)


@dataclass(frozen=True, slots=True)
class Order:
    url: str
    status: str
    identifiers: tuple[str, ...]
    authorizations: tuple[str, ...]
    finalize: str
    certificate: str | None = None
    error: dict[str, Any] | None = None
    retry_after: float | None = None  # from the response that carried this order

    @classmethod
    def from_json(cls, url: str, doc: dict[str, Any], retry_after: float | None = None) -> Order:
        return cls(
            url=url,
            status=doc["status"],
            identifiers=tuple(i["value"] for i in doc.get("identifiers", [])),
            authorizations=tuple(doc.get("authorizations", [])),
            finalize=doc["finalize"],
            certificate=doc.get("certificate"),
            error=doc.get("error"),
            retry_after=retry_after,
        )


@dataclass(frozen=True, slots=True)
class CertificateChain:
    """One PEM chain as served (leaf first) plus the URLs of alternate chains."""

    url: str
    pem: str
    alternates: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class RenewalInfo:
    """RFC 9773: the window in which the CA suggests renewing."""

    window_start: str
    window_end: str
    explanation_url: str | None = None
    retry_after: float | None = None
