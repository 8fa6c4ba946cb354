"""The delivery job: one attempt per run, then done, failed, or again after the next wait."""

from __future__ import annotations

import datetime as dt
import logging

from app.db import utcnow
from app.egress.policy import EgressRefused, EgressUnresolved
from app.jobs.handlers import JobContext, job_handler
from app.jobs.service import JobResult
from app.metrics.registry import record_webhook_delivery
from app.webhooks.delivery import Attempt, next_wait, send
from app.webhooks.events import DELIVER_JOB
from app.webhooks.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from app.webhooks.service import decrypt_secret

log = logging.getLogger("certbroker.webhooks")


def finish(delivery: WebhookDelivery, status: DeliveryStatus, error: str | None = None) -> None:
    delivery.status = status
    record_webhook_delivery(status.value)
    delivery.completed_at = utcnow()
    delivery.next_attempt_at = None
    if error is not None:
        delivery.last_error = error[:1000]


@job_handler(DELIVER_JOB)
async def deliver(ctx: JobContext) -> JobResult:
    session, runtime = ctx.session, ctx.runtime
    delivery = await session.get(WebhookDelivery, ctx.job.subject_id, populate_existing=True)
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return JobResult.done()  # delivered, given up, or its webhook was deleted
    subscription = await session.get(WebhookSubscription, delivery.subscription_id)
    record = await session.get(WebhookEvent, delivery.event_id)
    assert subscription is not None and record is not None
    session.add(delivery)
    now = utcnow()
    if not subscription.enabled:
        finish(delivery, DeliveryStatus.FAILED, "the webhook is disabled")
        return JobResult.done()
    policy = runtime.settings.webhooks
    delivery.attempts += 1
    delivery.first_attempt_at = delivery.first_attempt_at or now
    delivery.last_attempt_at = now
    try:
        runtime.egress.check_url(
            subscription.url, field="url", kind="webhook", allow_http=policy.allow_http
        )
        secret = decrypt_secret(runtime.secretbox, subscription)
        attempt = await send(
            runtime.webhook_http, subscription.url, secret, record, policy.timeout_seconds
        )
    except EgressRefused as exc:
        # The URL's host now points somewhere the broker must not send to: no retries.
        log.warning("webhook delivery %s refused: %s", delivery.id, exc.reason)
        delivery.last_status_code = None
        finish(delivery, DeliveryStatus.FAILED, f"refused: {exc.reason}")
        return JobResult.done()
    except EgressUnresolved as exc:
        attempt = Attempt(error=exc.reason)
    delivery.last_status_code, delivery.last_error = attempt.status_code, attempt.error
    outcome = {"delivery_id": delivery.id, "webhook_id": subscription.id, "event": record.type}
    if attempt.ok:
        finish(delivery, DeliveryStatus.SUCCEEDED)
        log.info("webhook delivered", extra={**outcome, "attempts": delivery.attempts})
        return JobResult.done()
    wait = next_wait(delivery.attempts, delivery.first_attempt_at, now, policy)
    if wait is None:
        finish(delivery, DeliveryStatus.FAILED)
        log.warning("webhook delivery gave up: %s", attempt.error, extra=outcome)
        return JobResult.done()
    delivery.next_attempt_at = now + dt.timedelta(seconds=wait)
    log.info("webhook attempt failed, retrying in %.1f s: %s", wait, attempt.error, extra=outcome)
    return JobResult.later(wait, attempt.error)
