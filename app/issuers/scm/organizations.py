"""SCM organizations and their departments (`/organization/v1`); either id is a valid orgId."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.issuers.scm.session import ScmSession


@dataclass(frozen=True, slots=True)
class Department:
    id: int
    name: str
    parent_name: str | None = None
    cert_types: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Department:
        return cls(
            id=int(data["id"]),
            name=str(data.get("name", "")),
            parent_name=data.get("parentName"),
            cert_types=list(data.get("certTypes") or []),
        )


@dataclass(frozen=True, slots=True)
class Organization:
    id: int
    name: str
    departments: list[Department] = field(default_factory=list)
    cert_types: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Organization:
        return cls(
            id=int(data["id"]),
            name=str(data.get("name", "")),
            departments=[Department.from_json(d) for d in data.get("departments") or []],
            cert_types=list(data.get("certTypes") or []),
            raw=data,
        )


class OrganizationEndpoints:
    session: ScmSession

    async def list_organizations(self) -> list[Organization]:
        data = await self.session.get_json("organization/v1")
        return [Organization.from_json(item) for item in data]

    async def get_organization(self, org_id: int) -> Organization:
        return Organization.from_json(await self.session.get_json(f"organization/v1/{org_id}"))
