"""SCM domains (`/domain/v1`): list, details, create (201 + Location), delegation."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from app.issuers.scm.session import ScmSession, id_from_location
from app.issuers.scm.ssl_models import parse_scm_date


@dataclass(frozen=True, slots=True)
class Delegation:
    org_id: int
    cert_types: list[str]
    status: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Delegation:
        return cls(int(data["orgId"]), list(data.get("certTypes") or []), data.get("status"))


@dataclass(frozen=True, slots=True)
class Domain:
    id: int
    name: str
    state: str | None = None
    validation_status: str | None = None
    dcv_expiration: dt.date | None = None
    delegations: list[Delegation] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Domain:
        return cls(
            id=int(data["id"]),
            name=str(data["name"]),
            state=data.get("state"),
            validation_status=data.get("validationStatus"),
            dcv_expiration=parse_scm_date(data.get("dcvExpiration")),
            delegations=[Delegation.from_json(d) for d in data.get("delegations") or []],
        )


class DomainEndpoints:
    session: ScmSession

    def list_domains(
        self, *, name: str | None = None, org_id: int | None = None
    ) -> AsyncIterator[Domain]:
        return self.session.paginate("domain/v1", Domain.from_json, name=name, orgId=org_id)

    async def get_domain(self, domain_id: int) -> Domain:
        return Domain.from_json(await self.session.get_json(f"domain/v1/{domain_id}"))

    async def create_domain(
        self,
        name: str,
        *,
        org_id: int | None = None,
        cert_types: list[str] | None = None,
        description: str | None = None,
        active: bool = True,
    ) -> int:
        """Create a domain, delegated to `org_id` when given; SCM returns the id in Location."""
        body: dict[str, Any] = {"name": name, "active": active, "delegations": []}
        if description:
            body["description"] = description
        if org_id is not None:
            body["delegations"] = [{"orgId": org_id, "certTypes": cert_types or ["SSL"]}]
        response = await self.session.request("POST", "domain/v1", json=body)
        return id_from_location(response)

    async def delete_domain(self, domain_id: int) -> None:
        await self.session.request("DELETE", f"domain/v1/{domain_id}", idempotent=True)

    async def delegate_domain(
        self, domain_id: int, org_id: int, cert_types: list[str] | None = None
    ) -> None:
        body = {"orgId": org_id, "certTypes": cert_types or ["SSL"]}
        # Delegating twice leaves the same delegation, so a retry is harmless.
        await self.session.request(
            "POST", f"domain/v1/{domain_id}/delegation", json=body, idempotent=True
        )

    async def approve_delegation(self, domain_id: int, org_id: int) -> None:
        await self.session.request(
            "POST", f"domain/v1/{domain_id}/delegation/approve", json={"orgId": org_id}
        )
