"""RFC 8555 §6.7 problem documents: `urn:ietf:params:acme:error:*`, with subproblems."""

from __future__ import annotations

from typing import Any

ACME_ERROR = "urn:ietf:params:acme:error:"

# The HTTP status each kind is answered with unless the raiser says otherwise.
STATUS = {
    "badNonce": 400,
    "malformed": 400,
    "unauthorized": 403,
    "accountDoesNotExist": 400,
    "externalAccountRequired": 400,
    "rejectedIdentifier": 400,
    "unsupportedIdentifier": 400,
    "badCSR": 400,
    "orderNotReady": 403,
    "badSignatureAlgorithm": 400,
    "badPublicKey": 400,
    "badRevocationReason": 400,
    "alreadyRevoked": 400,
    "rateLimited": 429,
    "serverInternal": 500,
    "incorrectResponse": 403,
    "connection": 400,
    "dns": 400,
    "userActionRequired": 403,
}


class AcmeProblem(Exception):
    """An ACME error answered as application/problem+json; `kind` is the RFC 8555 name."""

    def __init__(
        self,
        kind: str,
        detail: str,
        *,
        status: int | None = None,
        subproblems: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{kind}: {detail}")
        self.headers = headers or {}
        self.kind = kind
        self.detail = detail
        self.status = status or STATUS.get(kind, 400)
        self.subproblems = subproblems or []
        self.extra = extra or {}

    def document(self) -> dict[str, Any]:
        return problem_document(self.kind, self.detail, self.status, self.subproblems, self.extra)


def problem_document(
    kind: str,
    detail: str,
    status: int | None = None,
    subproblems: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": ACME_ERROR + kind,
        "detail": detail,
        "status": status or STATUS.get(kind, 400),
    }
    if subproblems:
        body["subproblems"] = subproblems
    body.update(extra or {})
    return body


def subproblem(kind: str, name: str, detail: str) -> dict[str, Any]:
    return {
        "type": ACME_ERROR + kind,
        "detail": detail,
        "identifier": {"type": "dns", "value": name},
    }
