"""API client rules and state changes. Never commits: the request or the CLI command does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from app.auth.principal import Scope
from app.clients.credentials import hash_secret, new_client_id, new_client_secret, verify_secret
from app.clients.models import ApiClient, ApiClientStatus
from app.db import utcnow
from app.errors import NotFound, Unprocessable
from app.http.pages import DEFAULT_LIMIT, keyset_page

# last_used_at is informational; writing it on every token request would serialise a busy
# client's token calls on one row.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
KNOWN_SCOPES = frozenset(Scope)


def _checked_scopes(scopes: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(str(scope) for scope in scopes))
    unknown = [scope for scope in wanted if scope not in KNOWN_SCOPES]
    if unknown:
        raise Unprocessable.field("body.scopes", f"unknown scopes: {', '.join(unknown)}")
    return wanted


async def create_api_client(
    session: AsyncSession, tenant_id: str, name: str, scopes: Iterable[str]
) -> tuple[ApiClient, str]:
    """A new client and its plaintext secret, which the caller shows once and forgets."""
    secret = new_client_secret()
    client = ApiClient(
        tenant_id=tenant_id,
        name=name,
        client_id=new_client_id(),
        secret_hash=hash_secret(secret),
        scopes=_checked_scopes(scopes),
    )
    session.add(client)
    await session.flush()
    return client, secret


async def list_api_clients(
    session: AsyncSession,
    tenant_id: str,
    *,
    status: ApiClientStatus | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> tuple[list[ApiClient], str | None]:
    query = select(ApiClient).where(ApiClient.tenant_id == tenant_id)
    if status is not None:
        query = query.where(ApiClient.status == status)
    return await keyset_page(
        session, query, key=ApiClient.created_at, id_column=ApiClient.id, cursor=cursor, limit=limit
    )


async def get_api_client(session: AsyncSession, tenant_id: str, id: str) -> ApiClient:
    """The tenant's client; another tenant's client is indistinguishable from a missing one."""
    client = await session.get(ApiClient, id)
    if client is None or client.tenant_id != tenant_id:
        raise NotFound("no such API client")
    return client


async def rotate_client_secret(
    session: AsyncSession, tenant_id: str, id: str
) -> tuple[ApiClient, str]:
    client = await get_api_client(session, tenant_id, id)
    if not client.is_active:
        raise Unprocessable("a revoked client's secret cannot be rotated")
    secret = new_client_secret()
    client.secret_hash = hash_secret(secret)
    client.secret_rotated_at = utcnow()
    session.add(client)
    await session.flush()
    return client, secret


async def revoke_api_client(session: AsyncSession, tenant_id: str, id: str) -> ApiClient:
    client = await get_api_client(session, tenant_id, id)
    client.status = ApiClientStatus.REVOKED
    session.add(client)
    await session.flush()
    return client


async def authenticate_api_client(
    session: AsyncSession, client_id: str, secret: str
) -> ApiClient | None:
    """The active client these credentials prove, or None (unknown, wrong secret or revoked)."""
    client = await session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    # Verify even for an unknown id, so timing does not tell which client ids exist.
    if not verify_secret(secret, client.secret_hash if client else None):
        return None
    if client is None or not client.is_active:
        return None
    return client


def mark_used(client: ApiClient, now: dt.datetime) -> None:
    if client.last_used_at is None or now - client.last_used_at >= LAST_USED_RESOLUTION:
        client.last_used_at = now


async def client_is_active(session: AsyncSession, client_id: str) -> bool:
    status = await session.scalar(select(ApiClient.status).where(ApiClient.client_id == client_id))
    return status == ApiClientStatus.ACTIVE
