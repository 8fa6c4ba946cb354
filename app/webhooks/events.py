"""emit(): record an event in the caller's transaction and stage a delivery per subscription.

State changes in the broker are often synchronous code (`transition()`, `mark_validated()`)
that cannot await a query, so `emit` only adds the event to the session. The subscriptions are
looked up when that session flushes (a `before_flush` hook, which runs where SQLAlchemy can
still query): each matching subscription gets a delivery row and a staged delivery job in the
same flush, so the events, the deliveries and the change that caused them commit together or
not at all. An event no subscription wants is dropped at that point, not stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.db_rows import new_row
from app.jobs.models import Job
from app.outbox import STAGED_FLAG, stage_job
from app.webhooks import unsubscribed
from app.webhooks.models import EventType, WebhookDelivery, WebhookEvent, WebhookSubscription

DELIVER_JOB = "webhook.deliver"

_UNSENT = "webhooks.unsent"  # events emitted since the last flush
_DEFERRED = "webhooks.deferred"  # callbacks that decide at flush time which events to emit
_SETTLED = "webhooks.settled"  # tenants whose events this transaction drops (no subscription)


def emit(
    session: AsyncSession | Session, tenant_id: str, event_type: str, data: dict[str, Any]
) -> WebhookEvent:
    """Send `event_type` with `data` (JSON-ready) to the tenant's subscriptions to it, once the
    caller's transaction commits. Never awaits, never commits; safe to call from sync code.

        emit(session, cert.tenant_id, EventType.CERTIFICATE_EXPIRING,
             {"certificate": certificate_data(cert), "severity": "critical", "days_left": 3})

    (`certificate_data` is in app.webhooks.lifecycle.)"""
    record = new_row(WebhookEvent, tenant_id=tenant_id, type=EventType(event_type).value, data=data)
    if tenant_id in session.info.get(_SETTLED, ()) or unsubscribed.known_unsubscribed(
        tenant_id, time.monotonic()
    ):
        # What the flush would decide (see _fan_out), decided now: nothing to store or stage.
        return record
    session.add(record)
    session.info.setdefault(_UNSENT, []).append(record)
    _expect_staging(session)
    return record


def settle_unsubscribed(session: AsyncSession | Session, tenant_id: str) -> bool:
    """Whether the tenant is known to have no subscription (app.webhooks.unsubscribed); if so,
    the answer holds for the rest of the transaction: its events are dropped at `emit`, so the
    caller knows now that they add no rows."""
    if unsubscribed.known_unsubscribed(tenant_id, time.monotonic()):
        session.info.setdefault(_SETTLED, set()).add(tenant_id)
        return True
    return False


def settled_unsubscribed(session: AsyncSession | Session, tenant_id: str) -> bool:
    """Whether `settle_unsubscribed` settled that this transaction's events of the tenant are
    dropped (so an event need not even be prepared)."""
    return tenant_id in session.info.get(_SETTLED, ())


def on_flush(session: AsyncSession | Session, callback: Callable[[], None]) -> None:
    """Run `callback` (which may `emit`) at the next flush, before subscriptions are looked up:
    for changes whose meaning is settled only after the call that reported them returns."""
    session.info.setdefault(_DEFERRED, []).append(callback)
    _expect_staging(session)


def _expect_staging(session: AsyncSession | Session) -> None:
    # Deliveries are staged during the commit's flush, after the request or job has checked
    # whether to nudge the relay; a needless nudge costs less than a second of latency.
    session.info[STAGED_FLAG] = True


def stage_delivery(
    session: AsyncSession | Session,
    subscription: WebhookSubscription,
    record: WebhookEvent,
    redelivery_of: str | None = None,
) -> WebhookDelivery:
    """A delivery row and its job, both in the caller's transaction.

    Builds the job with `stage_job` rather than `enqueue_job` because it also runs inside a
    flush, where nothing can be awaited; deliveries need no dedupe key (each row is new).
    """
    delivery = WebhookDelivery(
        tenant_id=subscription.tenant_id,
        subscription_id=subscription.id,
        event_id=record.id,
        event_type=record.type,
        redelivery_of=redelivery_of,
    )
    job = new_row(
        Job,
        kind=DELIVER_JOB,
        tenant_id=subscription.tenant_id,
        subject_type="webhook_delivery",
        subject_id=delivery.id,
        max_failures=5,
    )
    stage_job(session, job)  # type: ignore[arg-type]
    delivery.job_id, delivery.next_attempt_at = job.id, job.run_at
    session.add(delivery)
    return delivery


def _fan_out(session: Session, records: list[WebhookEvent]) -> None:
    now = time.monotonic()
    tenants = sorted(
        {r.tenant_id for r in records if not unsubscribed.known_unsubscribed(r.tenant_id, now)}
    )
    subscriptions = []
    if tenants:
        subscriptions = list(
            session.execute(
                select(WebhookSubscription).where(
                    WebhookSubscription.tenant_id.in_(tenants),  # type: ignore[attr-defined]
                    WebhookSubscription.enabled.is_(True),  # type: ignore[attr-defined]
                )
            ).scalars()
        )
        for tenant_id in set(tenants) - {s.tenant_id for s in subscriptions}:
            unsubscribed.remember_unsubscribed(tenant_id, now)
    for record in records:
        targets = [
            s for s in subscriptions if s.tenant_id == record.tenant_id and s.wants(record.type)
        ]
        if not targets:
            session.expunge(record)
            continue
        for subscription in targets:
            stage_delivery(session, subscription, record)


@event.listens_for(Session, "before_flush")
def _stage_deliveries(session: Session, _context: Any, _instances: Any) -> None:
    for callback in session.info.pop(_DEFERRED, []):
        callback()
    records = [r for r in session.info.pop(_UNSENT, []) if r in session.new]
    if records:
        _fan_out(session, records)


@event.listens_for(Session, "before_commit")
def _decide_before_commit(session: Session) -> None:
    # A change whose rows were inserted outside the unit of work (app.db_rows.insert_now) may leave
    # nothing for the commit to flush: its events are decided here, and the commit's flush,
    # which now has them to insert, stages their deliveries.
    decide_now(session)


def decide_now(session: AsyncSession | Session) -> None:
    """Decide now, rather than at the next flush, which events the changes reported so far
    mean (`on_flush` callbacks); the events still get their deliveries at that flush. For a
    caller that wants to know whether the session has anything left to write."""
    for callback in session.info.pop(_DEFERRED, []):
        callback()


@event.listens_for(Session, "after_soft_rollback")
def _forget_unsent(session: Session, _previous: Any) -> None:
    session.info.pop(_DEFERRED, None)
    session.info.pop(_UNSENT, None)
    session.info.pop(_SETTLED, None)


@event.listens_for(Session, "after_commit")
def _forget_settled(session: Session) -> None:
    session.info.pop(_SETTLED, None)
