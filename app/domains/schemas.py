"""The domains API contract."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.domains.models import DomainStatus, ValidationStatus
from app.http.fields import Email, ObjectId
from app.http.pages import Page

Method = Literal["cname", "http", "https", "txt", "email"]


class DomainCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "example.com", "organization_id": "3f0c…"}]}
    )

    name: str = Field(min_length=3, max_length=253)
    organization_id: ObjectId


class ValidationCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"method": "cname"}]})

    method: Method = "cname"
    email: Email | None = Field(
        default=None, description="EMAIL: the address to send to, one of the candidates"
    )


class ValidationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    domain_id: str
    method: Method
    email: str | None
    status: ValidationStatus
    instructions: dict[str, Any] = Field(
        description="what to publish: CNAME host and point, HTTP(S) url and content lines, "
        "TXT host and value, or candidate e-mail addresses"
    )
    error: str | None
    started_at: dt.datetime
    completed_at: dt.datetime | None


class DomainPublic(BaseModel):
    id: str
    organization_id: str
    name: str
    status: DomainStatus
    method: str | None
    validated_at: dt.datetime | None
    expires_at: dt.datetime | None
    last_error: str | None
    ready_for: list[Literal["DV", "OV", "EV"]] = Field(
        description="levels this domain can be ordered at without further validation"
    )
    latest_validation: ValidationPublic | None
    created_at: dt.datetime


class DomainPage(Page[DomainPublic]):
    pass
