"""Tenant rules and state changes. Never commits: the request or the CLI command does."""

from __future__ import annotations

import re

from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from app.errors import Conflict, NotFound
from app.http.pages import DEFAULT_LIMIT, keyset_page
from app.tenants.models import Tenant, TenantStatus


def slug_from_name(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:63].strip("-")
    return slug or "tenant"


async def create_tenant(session: AsyncSession, name: str, slug: str | None = None) -> Tenant:
    name = name.strip()
    slug = slug or slug_from_name(name)
    clash = await session.scalar(
        select(Tenant).where(or_(func.lower(Tenant.name) == name.lower(), Tenant.slug == slug))
    )
    if clash is not None:
        field = "name" if clash.name.lower() == name.lower() else "slug"
        raise Conflict(f"a tenant with this {field} already exists")
    tenant = Tenant(name=name, slug=slug)
    session.add(tenant)
    await _flush_unique(session)
    return tenant


async def get_tenant(session: AsyncSession, tenant_id: str) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("no such tenant")
    return tenant


async def get_tenant_by_name(session: AsyncSession, name: str) -> Tenant | None:
    return await session.scalar(select(Tenant).where(Tenant.name == name))


async def find_tenant(session: AsyncSession, id_or_slug: str) -> Tenant | None:
    """The tenant an external IdP's claim names, by id or by slug."""
    return await session.scalar(
        select(Tenant).where(or_(Tenant.id == id_or_slug, Tenant.slug == id_or_slug)).limit(1)
    )


async def list_tenants(
    session: AsyncSession,
    *,
    status: TenantStatus | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> tuple[list[Tenant], str | None]:
    query = select(Tenant)
    if status is not None:
        query = query.where(Tenant.status == status)
    return await keyset_page(
        session, query, key=Tenant.created_at, id_column=Tenant.id, cursor=cursor, limit=limit
    )


async def update_tenant(
    session: AsyncSession,
    tenant_id: str,
    *,
    name: str | None = None,
    status: TenantStatus | None = None,
) -> Tenant:
    tenant = await get_tenant(session, tenant_id)
    if name is not None and name.strip() != tenant.name:
        name = name.strip()
        taken = await session.scalar(
            select(Tenant.id).where(func.lower(Tenant.name) == name.lower(), Tenant.id != tenant.id)
        )
        if taken is not None:
            raise Conflict("a tenant with this name already exists")
        tenant.name = name
    if status is not None:
        tenant.status = status
    session.add(tenant)
    await _flush_unique(session)
    return tenant


async def _flush_unique(session: AsyncSession) -> None:
    # The checks above answer the usual case; this catches the race of two concurrent writes.
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("a tenant with this name or slug already exists") from None
