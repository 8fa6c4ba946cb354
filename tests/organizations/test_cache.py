"""The ordering checks' organization cache: a change made in this process is read at once, a
change made elsewhere within the TTL, and a cached organization stays behind its tenant's wall."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import update

from app.errors import NotFound
from app.organizations import cache
from app.organizations.cache import organization_for_order
from app.organizations.models import Organization
from app.runtime import Runtime
from tests.auth.factories import new_tenant


async def _org(runtime: Runtime, tenant_id: str) -> Organization:
    org = Organization(
        tenant_id=tenant_id, name=f"org-{uuid.uuid4().hex[:8]}", allowed_domains=["example.org"]
    )
    async with runtime.sessions() as session:
        session.add(org)
        await session.commit()
    return org


async def _allowed(runtime: Runtime, org: Organization) -> list[str]:
    async with runtime.sessions() as session:
        return (await organization_for_order(session, org.id, org.tenant_id)).allowed_domains


async def test_a_change_through_the_orm_is_read_at_once(runtime: Runtime) -> None:
    tenant = await new_tenant(runtime, "orgcache")
    org = await _org(runtime, tenant.id)
    assert await _allowed(runtime, org) == ["example.org"]
    assert await _allowed(runtime, org) == ["example.org"]  # the cached copy
    async with runtime.sessions() as session:
        stored = await session.get(Organization, org.id)
        assert stored is not None
        stored.allowed_domains = ["example.net"]
        await session.commit()
    assert await _allowed(runtime, org) == ["example.net"]


async def test_a_change_made_elsewhere_is_read_within_the_ttl(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = await new_tenant(runtime, "orgcache")
    org = await _org(runtime, tenant.id)
    assert await _allowed(runtime, org) == ["example.org"]
    async with runtime.sessions() as session:  # as another process would: no ORM event here
        await session.execute(
            update(Organization)
            .where(Organization.id == org.id)  # type: ignore[arg-type]
            .values(allowed_domains=["example.net"])
        )
        await session.commit()
    copy = await _allowed(runtime, org)
    assert copy == ["example.org"]
    copy.append("changed by a caller")  # each caller has its own copy
    assert await _allowed(runtime, org) == ["example.org"]
    later = cache.time.monotonic() + cache.TTL
    monkeypatch.setattr(cache.time, "monotonic", lambda: later)
    assert await _allowed(runtime, org) == ["example.net"]


async def test_a_cached_organization_is_not_another_tenants(runtime: Runtime) -> None:
    owner, other = await new_tenant(runtime, "orgcache"), await new_tenant(runtime, "orgcache")
    org = await _org(runtime, owner.id)
    assert await _allowed(runtime, org) == ["example.org"]
    async with runtime.sessions() as session:
        with pytest.raises(NotFound):
            await organization_for_order(session, org.id, other.id)
        with pytest.raises(NotFound):
            await organization_for_order(session, uuid.uuid4().hex, owner.id)
