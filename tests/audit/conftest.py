"""Audit test data: a tenant with an admin, a requester and an approver; audit rows from the DB."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.runtime import Runtime
from tests.auth.factories import TENANT_SCOPES, Actor, fetch_token, new_actor, new_client


@dataclass
class Team:
    admin: Actor  # every tenant scope; also the requester of certificates
    approver_id: str
    approver_token: str
    reader_id: str
    reader_token: str

    @property
    def tenant_id(self) -> str:
        return self.admin.tenant.id

    def approver(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.approver_token}"}

    def reader(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.reader_token}"}


async def _token(runtime: Runtime, api: httpx.AsyncClient, tenant_id: str, scopes: list[str]):
    _, client_id, secret = await new_client(runtime, tenant_id, scopes)
    answer = await fetch_token(api, client_id, secret)
    assert answer.status_code == 200, answer.text
    return client_id, answer.json()["access_token"]


@pytest.fixture
async def team(runtime: Runtime, api: httpx.AsyncClient) -> Team:
    admin = await new_actor(runtime, api, TENANT_SCOPES)
    approver = await _token(runtime, api, admin.tenant.id, ["certificates:read", "approvals:write"])
    reader = await _token(runtime, api, admin.tenant.id, ["certificates:read"])
    return Team(admin, *approver, *reader)


async def audit_rows(runtime: Runtime, tenant_id: str, **where: Any) -> list[AuditEvent]:
    """The tenant's rows as stored, oldest first, read straight from the database."""
    async with runtime.sessions() as session:
        query = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
        for name, value in where.items():
            query = query.where(getattr(AuditEvent, name) == value)
        return list((await session.execute(query.order_by(AuditEvent.id))).scalars())
