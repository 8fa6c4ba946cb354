"""Tenants known to have no enabled webhook subscription, remembered per process for a moment.

Every state change looks up its tenant's subscriptions when its session flushes; most tenants
have none, and that answer is what is remembered here, for TTL seconds. A tenant with a
subscription is looked up every time, so a delivery is never staged for a subscription that
was disabled or deleted meanwhile. The bound: a subscription created or enabled in another
process receives events from this one at most TTL seconds later; in this process (an ORM
insert or update of a subscription) as soon as it commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import object_session

from app.webhooks.models import WebhookSubscription

TTL = 5.0
MAX_ENTRIES = 10_000

_since: dict[str, float] = {}  # tenant id -> when it was seen without a subscription


def known_unsubscribed(tenant_id: str, now: float) -> bool:
    seen = _since.get(tenant_id)
    return seen is not None and now - seen < TTL


def remember_unsubscribed(tenant_id: str, now: float) -> None:
    if len(_since) >= MAX_ENTRIES:
        _since.clear()  # crude bound; an entry costs one query to rebuild
    _since[tenant_id] = now


def forget(tenant_id: str) -> None:
    _since.pop(tenant_id, None)


@event.listens_for(WebhookSubscription, "after_insert")
@event.listens_for(WebhookSubscription, "after_update")
def _changed(_mapper: Any, _connection: Any, subscription: WebhookSubscription) -> None:
    tenant_id = subscription.tenant_id
    forget(tenant_id)
    session = object_session(subscription)
    if session is not None:  # again at commit: a lookup may have raced the uncommitted row
        event.listen(session, "after_commit", lambda _session: forget(tenant_id), once=True)
