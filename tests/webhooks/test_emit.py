"""emit() against the database: deliveries commit with the caller's change or not at all."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import func, select

from app.jobs.models import Job
from app.outbox import OutboxMessage
from app.runtime import Runtime
from app.settings import WebhookSettings
from app.webhooks import service
from app.webhooks.events import DELIVER_JOB, emit, on_flush
from app.webhooks.models import EventType, WebhookDelivery, WebhookEvent
from app.webhooks.schemas import WebhookCreate
from tests.auth.factories import new_tenant
from tests.webhooks.receiver import Receiver


async def subscribe(
    runtime: Runtime, receiver: Receiver, policy: WebhookSettings, tenant_id: str, count: int = 1
) -> None:
    """`count` subscriptions of the tenant to certificate.expiring, committed."""
    async with runtime.sessions() as session:
        for _ in range(count):
            await service.create_webhook(
                session,
                runtime.secretbox,
                runtime.egress,
                policy,
                tenant_id,
                WebhookCreate(
                    url=receiver.url(uuid.uuid4().hex),
                    event_types=[EventType.CERTIFICATE_EXPIRING],
                ),
            )
        await session.commit()


async def test_emit_stages_a_delivery_per_subscription_in_the_same_transaction(
    runtime: Runtime, receiver: Receiver, webhook_policy: WebhookSettings
) -> None:
    tenant = await new_tenant(runtime, "emit")
    await subscribe(runtime, receiver, webhook_policy, tenant.id, count=2)

    async with runtime.sessions() as session:
        emit(session, tenant.id, EventType.CERTIFICATE_EXPIRING, {"severity": "warning"})
        await session.flush()
        await session.rollback()
    async with runtime.sessions() as session:
        emit(session, tenant.id, EventType.CERTIFICATE_EXPIRING, {"severity": "warning"})
    # Neither the rolled-back nor the never-committed event left anything behind.
    async with runtime.sessions() as session:
        stored = select(func.count()).select_from(WebhookEvent)
        assert await session.scalar(stored.where(WebhookEvent.tenant_id == tenant.id)) == 0

    async with runtime.sessions() as session:
        unwanted = emit(session, tenant.id, EventType.CERTIFICATE_EXPIRED, {})
        wanted = emit(session, tenant.id, "certificate.expiring", {"severity": "critical"})
        await session.commit()
    async with runtime.sessions() as session:
        assert await session.get(WebhookEvent, unwanted.id) is None  # nobody subscribed
        rows = (
            await session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.event_id == wanted.id)
            )
        ).all()
        assert len(rows) == 2 and len({d.subscription_id for d in rows}) == 2
        for delivery in rows:
            job = await session.get(Job, delivery.job_id)
            assert job is not None and job.kind == DELIVER_JOB
            assert job.subject_id == delivery.id and job.tenant_id == tenant.id
            staged = select(OutboxMessage).where(OutboxMessage.job_id == job.id)
            assert (await session.scalars(staged)).first() is not None


def test_emit_refuses_an_unknown_event_type() -> None:
    with pytest.raises(ValueError, match="exploded"):
        emit(None, "t", "certificate.exploded", {})  # type: ignore[arg-type]


async def test_a_change_decided_at_flush_is_sent_even_when_nothing_is_left_to_flush(
    runtime: Runtime, receiver: Receiver, webhook_policy: WebhookSettings
) -> None:
    """A change whose own rows were inserted outside the unit of work (the order's, by
    insert_now) leaves the session clean: its events are decided at commit all the same."""
    tenant = await new_tenant(runtime, "deferred")
    await subscribe(runtime, receiver, webhook_policy, tenant.id)

    emitted: list[WebhookEvent] = []
    async with runtime.sessions() as session:
        on_flush(
            session,
            lambda: emitted.append(
                emit(session, tenant.id, EventType.CERTIFICATE_EXPIRING, {"severity": "warning"})
            ),
        )
        assert not session.new and not session.dirty
        await session.commit()
    async with runtime.sessions() as session:
        (event,) = emitted
        deliveries = select(WebhookDelivery).where(WebhookDelivery.event_id == event.id)
        assert len((await session.scalars(deliveries)).all()) == 1


async def test_a_tenant_without_subscriptions_is_remembered_until_one_is_created(
    runtime: Runtime, receiver: Receiver, webhook_policy: WebhookSettings
) -> None:
    """No lookup for a tenant seen without subscriptions moments ago; a subscription created in
    this process counts from its commit, one created elsewhere within the TTL."""
    from app.webhooks import unsubscribed

    tenant = await new_tenant(runtime, "unsubscribed")

    async def deliveries_of_one_event() -> int:
        async with runtime.sessions() as session:
            record = emit(session, tenant.id, EventType.CERTIFICATE_EXPIRING, {})
            await session.commit()
            query = select(func.count()).select_from(WebhookDelivery)
            return await session.scalar(query.where(WebhookDelivery.event_id == record.id)) or 0

    assert await deliveries_of_one_event() == 0
    assert unsubscribed.known_unsubscribed(tenant.id, time.monotonic())
    await subscribe(runtime, receiver, webhook_policy, tenant.id)
    assert await deliveries_of_one_event() == 1  # this process: at once

    # Another process's subscription (no ORM event here): seen once the TTL has passed.
    unsubscribed.remember_unsubscribed(tenant.id, time.monotonic())
    assert await deliveries_of_one_event() == 0
    unsubscribed.remember_unsubscribed(tenant.id, time.monotonic() - unsubscribed.TTL)
    assert await deliveries_of_one_event() == 1
