"""The webhooks API contract. The signing secret appears in exactly one answer: create."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.http.pages import Page
from app.http.patch import PatchModel
from app.webhooks.models import DeliveryStatus, EventType

_URL = Field(
    max_length=2000,
    description="Where events are POSTed: https, on a public address (unless the deployment"
    " allows http or private networks). Checked now and before every attempt.",
)
_EVENT_TYPES = Field(
    min_length=1, max_length=len(EventType), description="The events this webhook receives."
)
_EXAMPLE = {
    "id": "3c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f",
    "url": "https://hooks.example.com/certbroker",
    "description": "PKI team alerts",
    "event_types": ["certificate.issued", "certificate.expiring"],
    "enabled": True,
    "created_at": "2026-11-26T18:00:00Z",
    "updated_at": "2026-11-26T18:00:00Z",
}


class WebhookCreate(BaseModel):
    url: str = _URL
    event_types: list[EventType] = _EVENT_TYPES
    description: str | None = Field(default=None, max_length=500)
    enabled: bool = True

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{k: _EXAMPLE[k] for k in ("url", "event_types", "description")}]
        }
    )


class WebhookUpdate(PatchModel):
    nullable = frozenset({"description"})

    url: str | None = Field(default=None, max_length=2000)
    event_types: list[EventType] | None = Field(
        default=None, min_length=1, max_length=len(EventType)
    )
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [{"enabled": False}]})


class WebhookPublic(BaseModel):
    id: str
    url: str
    description: str | None
    event_types: list[EventType]
    enabled: bool
    created_at: dt.datetime
    updated_at: dt.datetime

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_EXAMPLE]})


class WebhookWithSecret(WebhookPublic):
    secret: str = Field(
        description="The signing secret (`whsec_` + base64): shown only in this answer. "
        "Verify `webhook-signature` as the Standard Webhooks specification describes."
    )

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [{**_EXAMPLE, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}]
        },
    )


class DeliveryPublic(BaseModel):
    id: str
    webhook_id: str = Field(validation_alias="subscription_id")
    event_id: str = Field(description="Sent as the `webhook-id` header; the same on redelivery.")
    event_type: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    redelivery_of: str | None
    created_at: dt.datetime
    first_attempt_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    next_attempt_at: dt.datetime | None
    completed_at: dt.datetime | None
    payload: dict[str, Any] = Field(description="The JSON body sent (type, timestamp, data).")

    model_config = ConfigDict(from_attributes=True)


class WebhookPage(Page[WebhookPublic]):
    pass


class DeliveryPage(Page[DeliveryPublic]):
    pass
