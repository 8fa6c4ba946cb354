"""Webhook tables: subscriptions, the events they receive, and one delivery per pair."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String, Text
from sqlmodel import Field, Relationship, SQLModel

from app.crypto.rotation import encrypted_column
from app.db import UTCDateTime, new_id, utcnow


class EventType(StrEnum):
    """Events a webhook can subscribe to. `certificate.requested`: an order was placed;
    `.approved` / `.rejected`: an approver decided (rejected also when its approval expired);
    `.issued`; `.renewed`: a renewal was issued (sent with `.issued`); `.revoked`; `.failed`;
    `.expiring`: the end of validity is near (`data.severity` says how near); `.expired`.
    `domain.validated` / `domain.validation_failed`: a domain control validation (DCV) ended.
    `approval.pending`: a request waits for an approver; `approval.expired`: nobody decided
    in time. Every delivery also carries `type`; `ping` is sent only by the test operation."""

    CERTIFICATE_REQUESTED = "certificate.requested"
    CERTIFICATE_APPROVED = "certificate.approved"
    CERTIFICATE_REJECTED = "certificate.rejected"
    CERTIFICATE_ISSUED = "certificate.issued"
    CERTIFICATE_RENEWED = "certificate.renewed"
    CERTIFICATE_REVOKED = "certificate.revoked"
    CERTIFICATE_FAILED = "certificate.failed"
    CERTIFICATE_EXPIRING = "certificate.expiring"
    CERTIFICATE_EXPIRED = "certificate.expired"
    DOMAIN_VALIDATED = "domain.validated"
    DOMAIN_VALIDATION_FAILED = "domain.validation_failed"
    APPROVAL_PENDING = "approval.pending"
    APPROVAL_EXPIRED = "approval.expired"


# Sent only by POST /v1/webhooks/{id}/test, to that one subscription; nobody subscribes to it.
PING = "ping"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its next attempt
    SUCCEEDED = "succeeded"  # the receiver answered 2xx
    FAILED = "failed"  # refused by the URL policy, or no 2xx within the retry window


class WebhookSubscription(SQLModel, table=True):
    __tablename__ = "webhook_subscription"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=32)
    url: str = Field(max_length=2000)
    description: str | None = Field(default=None, max_length=500)
    event_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    secret: str = Field(sa_column=Column(Text, nullable=False))  # whsec_…, encrypted
    enabled: bool = True
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    def wants(self, event_type: str) -> bool:
        return self.enabled and event_type in self.event_types


class WebhookEvent(SQLModel, table=True):
    """One thing that happened, as sent: its id is the `webhook-id` header of every delivery."""

    __tablename__ = "webhook_event"

    id: str = Field(default_factory=lambda: "msg_" + new_id(), primary_key=True, max_length=36)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=32)
    type: str = Field(max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    def payload(self) -> dict[str, Any]:
        """The JSON body receivers get (Standard Webhooks shape)."""
        return {
            "type": self.type,
            "timestamp": self.created_at.isoformat().replace("+00:00", "Z"),
            "data": self.data,
        }


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_sub_created", "subscription_id", "created_at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenant.id", max_length=32)
    subscription_id: str = Field(foreign_key="webhook_subscription.id", max_length=32)
    event_id: str = Field(foreign_key="webhook_event.id", index=True, max_length=36)
    event_type: str = Field(max_length=64)
    status: DeliveryStatus = Field(default=DeliveryStatus.PENDING, sa_type=String(16))
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=1000)
    redelivery_of: str | None = Field(default=None, max_length=32)
    job_id: str | None = Field(default=None, max_length=32)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    first_attempt_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_attempt_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_attempt_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Never loaded (lazy="raise"); it tells the unit of work to insert the event first when
    # both are new in one flush, as they are when an event fans out.
    event: WebhookEvent = Relationship(sa_relationship_kwargs={"lazy": "raise"})


# Sealed with the data keys; `certbroker secrets reencrypt` moves them to the active key.
encrypted_column(WebhookSubscription, "secret", lambda sub: f"webhook:{sub.id}")
