"""SCM SSL certificate endpoints (`/ssl/v1`): profiles, collect, details, list, lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from app.issuers.scm.chain import load_certificates, order_chain
from app.issuers.scm.errors import ScmProtocolError
from app.issuers.scm.session import ScmSession, json_of
from app.issuers.scm.ssl_models import (
    CertificateDetails,
    CertificateSummary,
    CustomField,
    Profile,
)

# Python keyword -> SCM list filter, for the filters the contract lists (section 2.7).
LIST_FILTERS = {
    "common_name": "commonName",
    "subject_alternative_name": "subjectAlternativeName",
    "status": "status",
    "ssl_type_id": "sslTypeId",
    "org_id": "orgId",
    "serial_number": "serialNumber",
    "external_requester": "externalRequester",
    "requester": "requester",
}
# SCM accepts reasonCode 0, 1, 3, 4, 5 only (Mozilla policy), see contract 2.9.
REVOKE_REASON_CODES = frozenset({0, 1, 3, 4, 5})


@dataclass(frozen=True, slots=True)
class CollectedCertificate:
    leaf: x509.Certificate
    chain: list[x509.Certificate]  # leaf-issuer first, ordered by issuer/subject links


def _filters(filters: dict[str, Any]) -> dict[str, Any]:
    unknown = set(filters) - set(LIST_FILTERS)
    if unknown:
        raise TypeError(f"unsupported SSL list filters: {sorted(unknown)}")
    return {LIST_FILTERS[k]: v for k, v in filters.items() if v is not None}


def _message(text: str) -> str:
    text = text.strip() or "certbroker"
    return text[:512]  # SCM limits approve/decline/revoke texts to 1-512 characters


class SslEndpoints:
    """Mixed into `ScmClient`; every method is one SCM call unless its docstring says more."""

    session: ScmSession

    async def list_profiles(self, organization_id: int | None = None) -> list[Profile]:
        data = await self.session.get_json("ssl/v1/types", organizationId=organization_id)
        return [Profile.from_json(item) for item in data]

    async def list_custom_fields(self) -> list[CustomField]:
        data = await self.session.get_json("ssl/v1/customFields")
        return [CustomField.from_json(item) for item in data]

    async def collect(self, ssl_id: int, fmt: str = "x509CO", *, path_form: bool = False) -> bytes:
        """Download in `fmt`; raises `ScmPendingError` while SCM says "not yet".

        `path_form` uses the older `/collect/{id}/{fmt}` path, still used by many clients.
        Collect only reads, so it is retried like a GET.
        """
        if path_form:
            path, params = f"ssl/v1/collect/{ssl_id}/{fmt}", None
        else:
            path, params = f"ssl/v1/collect/{ssl_id}", {"format": fmt}
        response = await self.session.request("GET", path, params=params, collect=True)
        if not response.content.strip():
            raise ScmProtocolError(f"collect {ssl_id} returned an empty body")
        return response.content

    async def collect_certificate(
        self, ssl_id: int, chain_format: str = "x509"
    ) -> CollectedCertificate:
        """Leaf via `x509CO` plus issuers from `chain_format`, ordered by `order_chain`."""
        leaf_data = await self.collect(ssl_id, "x509CO")
        chain_data = await self.collect(ssl_id, chain_format)
        try:
            leaf_certs = load_certificates(leaf_data)
            bundle = load_certificates(chain_data)
        except ValueError:
            raise ScmProtocolError(f"collect {ssl_id} returned unreadable certificates") from None
        if len(leaf_certs) != 1:
            raise ScmProtocolError(f"x509CO for {ssl_id} held {len(leaf_certs)} certificates")
        return CollectedCertificate(leaf=leaf_certs[0], chain=order_chain(leaf_certs[0], bundle))

    async def details(self, ssl_id: int) -> CertificateDetails:
        return CertificateDetails.from_json(await self.session.get_json(f"ssl/v1/{ssl_id}"))

    def list_certificates(self, **filters: Any) -> AsyncIterator[CertificateSummary]:
        """Every matching certificate, paging `size=200` until done. Filters: `LIST_FILTERS`."""
        return self.session.paginate("ssl/v1", CertificateSummary.from_json, **_filters(filters))

    async def list_certificates_page(
        self, *, size: int = 200, position: int = 0, **filters: Any
    ) -> tuple[list[CertificateSummary], int | None]:
        """One page and the `X-Total-Count` (None if SCM left it out)."""
        params = {**_filters(filters), "size": size, "position": position}
        response = await self.session.request("GET", "ssl/v1", params=params)
        total = response.headers.get("X-Total-Count")
        items = [CertificateSummary.from_json(i) for i in json_of(response)]
        return items, int(total) if total is not None else None

    async def count_certificates(self, **filters: Any) -> int:
        return await self.session.count("ssl/v1", **_filters(filters))

    async def renew_by_id(
        self,
        ssl_id: int,
        *,
        csr: str | None = None,
        dcv_mode: str | None = None,
        dcv_email: str | None = None,
    ) -> int | None:
        """Renew; returns the new sslId (None if SCM answered 204). Never retried."""
        body = {"csr": csr.strip() if csr else None, "dcvMode": dcv_mode, "dcvEmail": dcv_email}
        response = await self.session.request(
            "POST", f"ssl/v1/renewById/{ssl_id}", json={k: v for k, v in body.items() if v}
        )
        if response.status_code == 204 or not response.content:
            return None
        return int(json_of(response)["sslId"])

    async def renew(self, renew_id: str, *, csr: str | None = None) -> None:
        """Renew by the `renewId` enroll returned (204). Never retried."""
        body = {"csr": csr.strip()} if csr else {}
        await self.session.request("POST", f"ssl/v1/renew/{renew_id}", json=body)

    async def replace(
        self,
        ssl_id: int,
        *,
        csr: str,
        reason: str,
        common_name: str | None = None,
        sans: list[str] | None = None,
        dcv_mode: str | None = None,
        dcv_email: str | None = None,
    ) -> None:
        """Replace keeping the same sslId (204). SANs are an array here, unlike enroll."""
        body: dict[str, Any] = {"csr": csr.strip(), "reason": _message(reason)}
        if common_name:
            body["commonName"] = common_name
        if sans:
            body["subjectAlternativeNames"] = list(sans)
        if dcv_mode:
            body["dcvMode"] = dcv_mode
        if dcv_email:
            body["dcvEmail"] = dcv_email
        await self.session.request("POST", f"ssl/v1/replace/{ssl_id}", json=body)

    async def revoke(self, ssl_id: int, reason_code: int, reason: str) -> None:
        await self.session.request(
            "POST", f"ssl/v1/revoke/{ssl_id}", json=_revoke_body(reason_code, reason)
        )

    async def revoke_by_serial(self, serial_hex: str, reason_code: int, reason: str) -> None:
        serial = serial_hex.replace(":", "").lower()
        await self.session.request(
            "POST", f"ssl/v1/revoke/serial/{serial}", json=_revoke_body(reason_code, reason)
        )

    async def approve(self, ssl_id: int, message: str = "approved by certbroker") -> None:
        await self.session.request(
            "POST", f"ssl/v1/approve/{ssl_id}", json={"message": _message(message)}
        )

    async def decline(self, ssl_id: int, message: str = "declined by certbroker") -> None:
        await self.session.request(
            "POST", f"ssl/v1/decline/{ssl_id}", json={"message": _message(message)}
        )


def _revoke_body(reason_code: int, reason: str) -> dict[str, Any]:
    if reason_code not in REVOKE_REASON_CODES:
        raise ValueError(f"SCM accepts reasonCode 0, 1, 3, 4 or 5, not {reason_code}")
    return {"reasonCode": reason_code, "reason": _message(reason)}
