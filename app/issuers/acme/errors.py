"""The ACME client's one exception tree, typed from RFC 8555 problem documents.

    AcmeError                      anything the ACME client raises
    ├── AcmeTransportError         the server could not be reached or answered nonsense
    └── AcmeProblem                the server answered with a problem document
        ├── BadNonce, Malformed, Unauthorized, ExternalAccountRequired, RejectedIdentifier,
        │   RateLimited (retry_after), OrderNotReady, AccountDoesNotExist, ...
        │   └── EabRejected (Unauthorized on newAccount with a binding)
        └── ValidationFailed       a challenge failed (from the authorization, not the HTTP reply)
            └── ConnectionFailed, DnsFailed, IncorrectResponse, CaaForbidden, TlsFailed

Every error has `user_message`: a sentence the broker can show to the person who asked for
the certificate, and `transient`: whether trying again later may succeed.
"""

from __future__ import annotations

from typing import Any, ClassVar

PREFIX = "urn:ietf:params:acme:error:"


class AcmeError(Exception):
    transient: ClassVar[bool] = False

    @property
    def user_message(self) -> str:
        return str(self)


class AcmeTransportError(AcmeError):
    transient = True

    @property
    def user_message(self) -> str:
        return f"the ACME server could not be reached: {self}"


class AcmeProblem(AcmeError):
    """A problem document (RFC 7807) from the server; `type` keeps the full URN."""

    acme_type: ClassVar[str] = ""
    summary: ClassVar[str] = "the ACME server refused the request"

    def __init__(
        self,
        type: str,
        detail: str = "",
        status: int | None = None,
        subproblems: list[dict[str, Any]] | None = None,
        retry_after: float | None = None,
        identifier: str | None = None,
    ) -> None:
        super().__init__(f"{type}: {detail}" if detail else type)
        self.type = type
        self.detail = detail
        self.status = status
        self.subproblems = subproblems or []
        self.retry_after = retry_after
        self.identifier = identifier

    @property
    def user_message(self) -> str:
        about = f" for {self.identifier}" if self.identifier else ""
        return f"{self.summary}{about}" + (f" ({self.detail})" if self.detail else "")


class BadNonce(AcmeProblem):
    acme_type = "badNonce"
    transient = True
    summary = "the ACME server kept rejecting request nonces"


class Malformed(AcmeProblem):
    acme_type = "malformed"
    summary = "the ACME server rejected a request as malformed"


class Unauthorized(AcmeProblem):
    acme_type = "unauthorized"
    summary = "the ACME account is not authorized for this request"


class EabRejected(Unauthorized):
    summary = (
        "the ACME server rejected the External Account Binding: check the organization's "
        "EAB kid and HMAC key"
    )


class ExternalAccountRequired(AcmeProblem):
    acme_type = "externalAccountRequired"
    summary = (
        "the ACME server requires External Account Binding: set the organization's EAB kid "
        "and HMAC key"
    )


class AccountDoesNotExist(AcmeProblem):
    acme_type = "accountDoesNotExist"
    summary = "the ACME server knows no account for this key"


class RejectedIdentifier(AcmeProblem):
    acme_type = "rejectedIdentifier"
    summary = "the ACME server will not issue for one of the requested names"


class UnsupportedIdentifier(AcmeProblem):
    acme_type = "unsupportedIdentifier"
    summary = "the ACME server does not support one of the requested names"


class RateLimited(AcmeProblem):
    acme_type = "rateLimited"
    transient = True
    summary = "the ACME server's rate limit was reached; the order will be retried later"


class OrderNotReady(AcmeProblem):
    acme_type = "orderNotReady"
    summary = "the order was finalized before all its names were validated"


class BadCsr(AcmeProblem):
    acme_type = "badCSR"
    summary = "the certificate signing request is not acceptable"


class AlreadyRevoked(AcmeProblem):
    acme_type = "alreadyRevoked"
    summary = "the certificate is already revoked"


class ServerInternal(AcmeProblem):
    acme_type = "serverInternal"
    transient = True
    summary = "the ACME server had an internal error"


class ValidationFailed(AcmeProblem):
    """A challenge ended invalid; `detail` is the CA's explanation of what it saw."""

    summary = "domain validation failed"


class ConnectionFailed(ValidationFailed):
    acme_type = "connection"
    summary = "domain validation failed: the CA could not connect to the server"


class DnsFailed(ValidationFailed):
    acme_type = "dns"
    summary = "domain validation failed: the CA's DNS lookup failed"


class IncorrectResponse(ValidationFailed):
    acme_type = "incorrectResponse"
    summary = "domain validation failed: the CA got a wrong challenge response"


class CaaForbidden(ValidationFailed):
    acme_type = "caa"
    summary = "domain validation failed: a CAA record forbids this CA"


class TlsFailed(ValidationFailed):
    acme_type = "tls"
    summary = "domain validation failed: TLS error while validating"


_BY_TYPE: dict[str, type[AcmeProblem]] = {
    cls.acme_type: cls
    for cls in (
        BadNonce,
        Malformed,
        Unauthorized,
        ExternalAccountRequired,
        AccountDoesNotExist,
        RejectedIdentifier,
        UnsupportedIdentifier,
        RateLimited,
        OrderNotReady,
        BadCsr,
        AlreadyRevoked,
        ServerInternal,
        ConnectionFailed,
        DnsFailed,
        IncorrectResponse,
        CaaForbidden,
        TlsFailed,
    )
}


def problem_from_document(
    doc: dict[str, Any],
    status: int | None = None,
    retry_after: float | None = None,
    validation: bool = False,
) -> AcmeProblem:
    """Build the typed error for a problem document; `validation` marks a challenge's error."""
    full_type = str(doc.get("type") or "about:blank")
    short = full_type.removeprefix(PREFIX)
    cls = _BY_TYPE.get(short) if full_type.startswith(PREFIX) else None
    if validation and (cls is None or not issubclass(cls, ValidationFailed)):
        cls = ValidationFailed
    identifier = (doc.get("identifier") or {}).get("value")
    return (cls or AcmeProblem)(
        full_type,
        str(doc.get("detail") or ""),
        status if status is not None else doc.get("status"),
        doc.get("subproblems"),
        retry_after,
        identifier,
    )


class NoSupportedChallenge(AcmeError):
    """The authorization offers no challenge the organization's settings allow."""

    @property
    def user_message(self) -> str:
        return f"no usable domain validation method: {self}"


class ChallengeSetupFailed(AcmeError):
    """A challenge response could not be published (DNS provider errors, bad DNS settings).
    The message comes from the DNS provider and says what to fix; `transient` when the DNS
    servers were only slow or unreachable."""

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient  # type: ignore[misc]
