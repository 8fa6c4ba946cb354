"""The API clients contract. The secret appears in exactly two answers: create and rotate."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from app.auth.principal import Scope
from app.clients.models import ApiClientBase, ApiClientStatus
from app.http.pages import Page

_EXAMPLE = {
    "id": "0b8e3f2a4c5d4e6f8a9b0c1d2e3f4a5b",
    "tenant_id": "6f1c0a9e3b7d4e2f8a5b1c0d9e8f7a6b",
    "name": "deploy-pipeline",
    "client_id": "cb_T3mQk9vJ2xWf8LpZr4sN1A",
    "scopes": ["certificates:read", "certificates:write"],
    "status": "active",
    "created_at": "2026-01-15T09:30:00Z",
    "secret_rotated_at": "2026-01-15T09:30:00Z",
    "last_used_at": None,
}
_SECRET = "cbs_q0p1nY7rJ6mW4y8cG2bV5hT9kL3sD1fA0zX6eR2uI4o"


class ApiClientCreate(ApiClientBase):
    scopes: list[Scope] = Field(
        min_length=1,
        max_length=len(Scope),
        description="Scopes the client may request; a subset of the caller's.",
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"name": "deploy-pipeline", "scopes": ["certificates:read", "certificates:write"]}
            ]
        }
    }


class ApiClientPublic(ApiClientBase):
    id: str
    tenant_id: str
    client_id: str
    scopes: list[str]
    status: ApiClientStatus
    created_at: dt.datetime
    secret_rotated_at: dt.datetime
    last_used_at: dt.datetime | None

    model_config = {"from_attributes": True, "json_schema_extra": {"examples": [_EXAMPLE]}}


class ApiClientWithSecret(ApiClientPublic):
    client_secret: str = Field(description="Shown only in this answer; store it now.")

    model_config = {
        "from_attributes": True,
        "json_schema_extra": {"examples": [{**_EXAMPLE, "client_secret": _SECRET}]},
    }


class ApiClientPage(Page[ApiClientPublic]):
    pass
