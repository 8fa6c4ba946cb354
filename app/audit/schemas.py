"""The audit log's API contract."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from app.audit.models import AuditEvent
from app.http.pages import Page


class AuditEventPublic(BaseModel):
    id: int
    at: dt.datetime
    actor: str = Field(description="the API client id, or the external IdP's subject")
    actor_issuer: str
    client_id: str | None
    action: str = Field(examples=["certificates_create", "certificate.private_key.export"])
    object_type: str
    object_id: str | None
    status: int | None = Field(description="the HTTP status the call was answered with")
    outcome: str | None = Field(examples=["succeeded", "denied", "failed", "error"])
    request_id: str | None
    detail: dict[str, Any] = Field(
        description="method, path, `change` (the request body, secrets redacted), `error`"
    )

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEventPublic:
        detail = event.detail or {}
        assert event.id is not None
        return cls(
            id=event.id,
            at=event.at,
            actor=event.actor,
            actor_issuer=event.actor_issuer,
            client_id=detail.get("client_id"),
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            status=detail.get("status"),
            outcome=detail.get("outcome"),
            request_id=detail.get("request_id"),
            detail=detail,
        )


class AuditPage(Page[AuditEventPublic]):
    pass
