"""Domain control validation (`/dcv/v1`, `/dcv/v2`): start, submit and status per method.

Start tells what to publish (CNAME record, HTTP(S) file, or candidate e-mail addresses);
TXT has no start - its submit answers with the record to publish. Status is a read, so it is
retried like a GET although it is a POST.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.issuers.scm.session import ScmSession, json_of
from app.issuers.scm.ssl_models import parse_scm_date


class DcvMethod(StrEnum):
    CNAME = "cname"
    HTTP = "http"
    HTTPS = "https"
    TXT = "txt"
    EMAIL = "email"


@dataclass(frozen=True, slots=True)
class DcvInstructions:
    """What to publish. Only the fields of the method in use are set."""

    method: DcvMethod
    host: str | None = None  # CNAME / TXT record name
    point: str | None = None  # CNAME target / TXT value
    url: str | None = None  # HTTP(S) file URL
    first_line: str | None = None
    second_line: str | None = None
    emails: list[str] = field(default_factory=list)  # EMAIL candidates

    @classmethod
    def from_json(cls, method: DcvMethod, data: dict[str, Any]) -> DcvInstructions:
        emails = list(data.get("emails") or [])
        for entry in data.get("dcvEmails") or []:
            for key in ("whoisEmails", "adminEmails", "dnsTxtEmails"):
                emails += [e for e in entry.get(key) or [] if e not in emails]
        return cls(
            method=method,
            host=data.get("host"),
            point=data.get("point"),
            url=data.get("url"),
            first_line=data.get("firstLine"),
            second_line=data.get("secondLine"),
            emails=emails,
        )


@dataclass(frozen=True, slots=True)
class DcvSubmitResult:
    status: str | None
    order_status: str | None
    message: str | None
    order_backend_id: str | None
    instructions: DcvInstructions | None = None  # TXT: the record to publish
    email_reference: str | None = None

    @classmethod
    def from_json(cls, method: DcvMethod, data: dict[str, Any]) -> DcvSubmitResult:
        has_record = data.get("host") or data.get("point")
        return cls(
            status=data.get("status"),
            order_status=data.get("orderStatus"),
            message=data.get("message"),
            order_backend_id=data.get("orderBackendId"),
            instructions=DcvInstructions.from_json(method, data) if has_record else None,
            email_reference=data.get("emailValidationReferenceNumber"),
        )


@dataclass(frozen=True, slots=True)
class DcvStatus:
    status: str | None  # VALIDATED, NOT_VALIDATED, EXPIRED
    order_status: str | None  # NOT_INITIATED, SUBMITTED, ...
    validation_date: dt.date | None
    expiration_date: dt.date | None
    order_mode: str | None = None
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def validated(self) -> bool:
        return self.status == "VALIDATED"

    @property
    def instructions(self) -> DcvInstructions | None:
        """What to publish for the open order (v2 status only; None when not known)."""
        try:
            method = DcvMethod((self.order_mode or "").lower())
        except ValueError:
            return None
        return DcvInstructions.from_json(method, self.raw)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DcvStatus:
        return cls(
            status=data.get("status"),
            order_status=data.get("orderStatus"),
            validation_date=parse_scm_date(data.get("validationDate")),
            expiration_date=parse_scm_date(data.get("expirationDate")),
            order_mode=data.get("orderMode"),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class DcvValidation:
    domain: str
    dcv_status: str | None
    dcv_method: str | None
    order_status: str | None
    expiration_date: dt.date | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DcvValidation:
        return cls(
            domain=str(data["domain"]),
            dcv_status=data.get("dcvStatus"),
            dcv_method=data.get("dcvMethod"),
            order_status=data.get("dcvOrderStatus"),
            expiration_date=parse_scm_date(data.get("expirationDate")),
        )


class DcvEndpoints:
    session: ScmSession

    async def dcv_start(
        self, domain: str, method: DcvMethod | str, *, version: str = "v1"
    ) -> DcvInstructions:
        method = DcvMethod(method)
        if method is DcvMethod.TXT:
            raise ValueError("SCM has no DCV start for TXT; call dcv_submit directly")
        response = await self.session.request(
            "POST", f"dcv/{version}/validation/start/domain/{method}", json={"domain": domain}
        )
        return DcvInstructions.from_json(method, json_of(response))

    async def dcv_submit(
        self,
        domain: str,
        method: DcvMethod | str,
        *,
        email: str | None = None,
        version: str = "v1",
    ) -> DcvSubmitResult:
        method = DcvMethod(method)
        body: dict[str, Any] = {"domain": domain}
        if method is DcvMethod.EMAIL:
            if not email:
                raise ValueError("EMAIL validation needs the address to send to")
            body["email"] = email
        response = await self.session.request(
            "POST", f"dcv/{version}/validation/submit/domain/{method}", json=body
        )
        return DcvSubmitResult.from_json(method, json_of(response))

    async def dcv_status(self, domain: str, *, version: str = "v2") -> DcvStatus:
        response = await self.session.request(
            "POST", f"dcv/{version}/validation/status", json={"domain": domain}, idempotent=True
        )
        return DcvStatus.from_json(json_of(response))

    def list_validations(
        self, *, domain: str | None = None, org_id: int | None = None
    ) -> AsyncIterator[DcvValidation]:
        """DCV state of the account's domains (`org_id`: those delegated to it)."""
        return self.session.paginate(
            "dcv/v1/validation", DcvValidation.from_json, domain=domain, org=org_id
        )
