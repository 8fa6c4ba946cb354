"""Webhook rules: subscriptions, their delivery log, redelivery and test pings. Never commits."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crypto.secretbox import SecretBox
from app.db import utcnow
from app.egress.policy import EgressPolicy
from app.errors import Conflict, NotFound
from app.http.pages import DEFAULT_LIMIT, keyset_page
from app.settings import WebhookSettings
from app.webhooks.events import stage_delivery
from app.webhooks.models import (
    PING,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from app.webhooks.schemas import WebhookCreate, WebhookUpdate
from app.webhooks.signing import new_secret


async def check_url(url: str, egress: EgressPolicy, policy: WebhookSettings) -> None:
    """The URL and every address of its host, by the egress policy (422 naming body.url).
    Delivery checks again, at each connection."""
    await egress.check_target(url, field="body.url", kind="webhook", allow_http=policy.allow_http)


def _secret_context(subscription: WebhookSubscription) -> str:
    return f"webhook:{subscription.id}"


def decrypt_secret(box: SecretBox, subscription: WebhookSubscription) -> str:
    return box.decrypt_str(subscription.secret, _secret_context(subscription))


async def create_webhook(
    session: AsyncSession,
    box: SecretBox,
    egress: EgressPolicy,
    policy: WebhookSettings,
    tenant_id: str,
    body: WebhookCreate,
) -> tuple[WebhookSubscription, str]:
    """A new subscription and its plaintext secret, which the caller shows once and forgets."""
    await check_url(body.url, egress, policy)
    secret = new_secret()
    subscription = WebhookSubscription(
        tenant_id=tenant_id,
        url=body.url,
        description=body.description,
        event_types=list(dict.fromkeys(str(t) for t in body.event_types)),
        enabled=body.enabled,
        secret="",
    )
    subscription.secret = box.encrypt(secret, _secret_context(subscription))
    session.add(subscription)
    await session.flush()
    return subscription, secret


async def get_webhook(
    session: AsyncSession, webhook_id: str, tenant_id: str
) -> WebhookSubscription:
    subscription = await session.get(WebhookSubscription, webhook_id)
    if subscription is None or subscription.tenant_id != tenant_id:
        raise NotFound(f"webhook {webhook_id} not found")
    return subscription


async def list_webhooks(
    session: AsyncSession,
    tenant_id: str,
    *,
    enabled: bool | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> tuple[list[WebhookSubscription], str | None]:
    query = select(WebhookSubscription).where(WebhookSubscription.tenant_id == tenant_id)
    if enabled is not None:
        query = query.where(WebhookSubscription.enabled == enabled)  # type: ignore[arg-type]
    return await keyset_page(
        session,
        query,
        key=WebhookSubscription.created_at,
        id_column=WebhookSubscription.id,
        cursor=cursor,
        limit=limit,
    )


async def update_webhook(
    session: AsyncSession,
    egress: EgressPolicy,
    policy: WebhookSettings,
    subscription: WebhookSubscription,
    body: WebhookUpdate,
) -> WebhookSubscription:
    changes = body.model_dump(exclude_unset=True)
    if changes.get("url") is not None:
        await check_url(changes["url"], egress, policy)
        subscription.url = changes["url"]
    if changes.get("event_types") is not None:
        subscription.event_types = list(dict.fromkeys(str(t) for t in body.event_types or []))
    if "description" in changes:
        subscription.description = changes["description"]
    if changes.get("enabled") is not None:
        subscription.enabled = changes["enabled"]
    subscription.updated_at = utcnow()
    session.add(subscription)
    return subscription


async def delete_webhook(session: AsyncSession, subscription: WebhookSubscription) -> None:
    """Delete the subscription and its delivery log; pending attempts find nothing to send."""
    await session.execute(
        delete(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id)  # type: ignore[arg-type]
    )
    await session.delete(subscription)


async def list_deliveries(
    session: AsyncSession,
    subscription: WebhookSubscription,
    *,
    status: DeliveryStatus | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> tuple[list[tuple[WebhookDelivery, WebhookEvent]], str | None]:
    """Newest first, each with the event it carries."""
    query = (
        select(WebhookDelivery, WebhookEvent)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)  # type: ignore[arg-type]
        .where(WebhookDelivery.subscription_id == subscription.id)
    )
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    rows, next_cursor = await keyset_page(
        session,
        query,
        key=WebhookDelivery.created_at,
        id_column=WebhookDelivery.id,
        cursor=cursor,
        limit=limit,
        descending=True,
        scalars=False,
        row_key=lambda row: (row[0].created_at, row[0].id),
    )
    return [(delivery, record) for delivery, record in rows], next_cursor


async def redeliver(
    session: AsyncSession, delivery_id: str, tenant_id: str
) -> tuple[WebhookDelivery, WebhookEvent]:
    """Send a finished delivery's event again, as a new delivery with the same `webhook-id`."""
    original = await session.get(WebhookDelivery, delivery_id)
    if original is None or original.tenant_id != tenant_id:
        raise NotFound(f"delivery {delivery_id} not found")
    if original.status == DeliveryStatus.PENDING:
        raise Conflict("the delivery is still being attempted")
    subscription = await get_webhook(session, original.subscription_id, tenant_id)
    _require_enabled(subscription)
    record = await session.get(WebhookEvent, original.event_id)
    assert record is not None
    return stage_delivery(session, subscription, record, redelivery_of=original.id), record


async def send_ping(
    session: AsyncSession, subscription: WebhookSubscription
) -> tuple[WebhookDelivery, WebhookEvent]:
    """A `ping` event to this subscription only, whatever its event types."""
    _require_enabled(subscription)
    record = WebhookEvent(
        tenant_id=subscription.tenant_id, type=PING, data={"webhook_id": subscription.id}
    )
    session.add(record)
    return stage_delivery(session, subscription, record), record


def _require_enabled(subscription: WebhookSubscription) -> None:
    if not subscription.enabled:
        raise Conflict(f"webhook {subscription.id} is disabled; enable it first")
