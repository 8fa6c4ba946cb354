"""The caller's tenant's webhooks (tenant administrators): subscriptions, delivery log, tests."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.auth.dependencies import TenantAdmin
from app.deps import DbSession, RuntimeDep
from app.http.pages import DEFAULT_LIMIT, MAX_LIMIT
from app.http.routing import GuardedRoute
from app.webhooks import service
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEvent
from app.webhooks.schemas import (
    DeliveryPage,
    DeliveryPublic,
    WebhookCreate,
    WebhookPage,
    WebhookPublic,
    WebhookUpdate,
    WebhookWithSecret,
)

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], route_class=GuardedRoute)

NOT_FOUND = {404: {"description": "No such webhook in your tenant"}}
REFUSED = {422: {"description": "The URL is refused (`errors` names `body.url` and why)"}}
DISABLED = {409: {"description": "The webhook is disabled"}}


def _delivery(delivery: WebhookDelivery, record: WebhookEvent) -> DeliveryPublic:
    fields = {name: getattr(delivery, name) for name in WebhookDelivery.model_fields}
    return DeliveryPublic.model_validate({**fields, "payload": record.payload()})


@router.post(
    "",
    operation_id="webhooks_create",
    summary="Create a webhook",
    status_code=201,
    response_model=WebhookWithSecret,
    responses=REFUSED,
)
async def create_webhook(
    body: WebhookCreate, session: DbSession, runtime: RuntimeDep, caller: TenantAdmin
) -> WebhookWithSecret:
    """Subscribe a URL to events. The answer holds the signing secret; it is never shown
    again. Every delivery carries `webhook-id`, `webhook-timestamp` and `webhook-signature`
    (Standard Webhooks: `v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` under the
    base64-decoded part of the secret after `whsec_`)."""
    subscription, secret = await service.create_webhook(
        session,
        runtime.secretbox,
        runtime.egress,
        runtime.settings.webhooks,
        caller.tenant_id,
        body,
    )
    public = WebhookPublic.model_validate(subscription)
    return WebhookWithSecret(**public.model_dump(), secret=secret)


@router.get(
    "",
    operation_id="webhooks_list",
    summary="List your tenant's webhooks",
    response_model=WebhookPage,
)
async def list_webhooks(
    session: DbSession,
    caller: TenantAdmin,
    enabled: bool | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> WebhookPage:
    """Oldest first."""
    rows, next_cursor = await service.list_webhooks(
        session, caller.tenant_id, enabled=enabled, cursor=cursor, limit=limit
    )
    return WebhookPage(
        items=[WebhookPublic.model_validate(row) for row in rows],
        next_cursor=next_cursor,
        limit=limit,
    )


@router.get(
    "/{id}",
    operation_id="webhooks_get",
    summary="Get a webhook",
    response_model=WebhookPublic,
    responses=NOT_FOUND,
)
async def get_webhook(id: str, session: DbSession, caller: TenantAdmin) -> WebhookPublic:
    return WebhookPublic.model_validate(await service.get_webhook(session, id, caller.tenant_id))


@router.patch(
    "/{id}",
    operation_id="webhooks_update",
    summary="Change a webhook's URL, events, description or enabled flag",
    response_model=WebhookPublic,
    responses={**NOT_FOUND, **REFUSED},
)
async def update_webhook(
    id: str, body: WebhookUpdate, session: DbSession, runtime: RuntimeDep, caller: TenantAdmin
) -> WebhookPublic:
    subscription = await service.get_webhook(session, id, caller.tenant_id)
    subscription = await service.update_webhook(
        session, runtime.egress, runtime.settings.webhooks, subscription, body
    )
    return WebhookPublic.model_validate(subscription)


@router.delete(
    "/{id}",
    operation_id="webhooks_delete",
    summary="Delete a webhook and its delivery log",
    status_code=204,
    response_class=Response,
    responses=NOT_FOUND,
)
async def delete_webhook(id: str, session: DbSession, caller: TenantAdmin) -> Response:
    subscription = await service.get_webhook(session, id, caller.tenant_id)
    await service.delete_webhook(session, subscription)
    return Response(status_code=204)


@router.get(
    "/{id}/deliveries",
    operation_id="webhooks_deliveries",
    summary="A webhook's delivery log",
    response_model=DeliveryPage,
    responses=NOT_FOUND,
)
async def list_deliveries(
    id: str,
    session: DbSession,
    caller: TenantAdmin,
    status: DeliveryStatus | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> DeliveryPage:
    """Newest first: status, attempts, last status code and error, timestamps, the payload."""
    subscription = await service.get_webhook(session, id, caller.tenant_id)
    rows, next_cursor = await service.list_deliveries(
        session, subscription, status=status, cursor=cursor, limit=limit
    )
    return DeliveryPage(
        items=[_delivery(delivery, record) for delivery, record in rows],
        next_cursor=next_cursor,
        limit=limit,
    )


@router.post(
    "/deliveries/{delivery_id}/redeliver",
    operation_id="webhooks_redeliver",
    summary="Send a delivery's event again",
    status_code=202,
    response_model=DeliveryPublic,
    responses={
        404: {"description": "No such delivery in your tenant"},
        409: {"description": "Still being attempted, or the webhook is disabled"},
    },
)
async def redeliver(delivery_id: str, session: DbSession, caller: TenantAdmin) -> DeliveryPublic:
    """A new delivery of the same event (same `webhook-id`, so receivers can deduplicate)."""
    delivery, record = await service.redeliver(session, delivery_id, caller.tenant_id)
    return _delivery(delivery, record)


@router.post(
    "/{id}/test",
    operation_id="webhooks_test",
    summary="Send a ping event to a webhook",
    status_code=202,
    response_model=DeliveryPublic,
    responses={**NOT_FOUND, **DISABLED},
)
async def test_webhook(id: str, session: DbSession, caller: TenantAdmin) -> DeliveryPublic:
    """Queue a signed `ping` event to this webhook; follow it in the delivery log."""
    subscription = await service.get_webhook(session, id, caller.tenant_id)
    delivery, record = await service.send_ping(session, subscription)
    return _delivery(delivery, record)
