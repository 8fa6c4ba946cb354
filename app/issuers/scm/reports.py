"""SCM reports (`POST /report/v1/ssl-certificates`): bulk certificate facts in one call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.issuers.scm.session import ScmSession, json_of
from app.issuers.scm.ssl_models import serial_hex, split_names


@dataclass(frozen=True, slots=True)
class SslReportRow:
    id: int
    common_name: str | None
    status: str | None
    org_id: int | None
    profile_name: str | None
    serial_hex: str | None
    sans: list[str]
    comments: str | None
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SslReportRow:
        org_id = data.get("orgId")
        return cls(
            id=int(data["id"]),
            common_name=data.get("commonName"),
            status=data.get("status"),
            org_id=int(org_id) if org_id is not None else None,
            profile_name=data.get("type"),
            serial_hex=serial_hex(data.get("serialNumber")),
            sans=split_names(data.get("subjAltNames")),  # a string here, "a; b" or "dNSName=a"
            comments=data.get("comments"),
            raw=data,
        )


class ReportEndpoints:
    session: ScmSession

    async def ssl_certificates_report(
        self,
        *,
        organization_ids: list[int] | None = None,
        common_name: str | None = None,
        certificate_status: int = 0,
        external_requester: str | None = None,
    ) -> list[SslReportRow]:
        """Rows of the SSL report. `certificate_status` 0 = any (SCM fails without a filter)."""
        body: dict[str, Any] = {"certificateStatus": certificate_status}
        if organization_ids:
            body["organizationIds"] = organization_ids
        if common_name:
            body["commonName"] = common_name
        if external_requester:
            body["externalRequester"] = external_requester
        response = await self.session.request(
            "POST", "report/v1/ssl-certificates", json=body, idempotent=True
        )
        data = json_of(response)
        return [SslReportRow.from_json(row) for row in data.get("reports") or []]
