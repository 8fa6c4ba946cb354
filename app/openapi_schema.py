"""The published OpenAPI document: security schemes, tags, and stable operation ids."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.auth.principal import SCOPE_DESCRIPTIONS
from app.http.error_responses import declare_problems
from app.openapi_answers import require_output_fields, restore_example_nulls
from app.settings import Settings

TAGS = [
    {
        "name": "certificates",
        "description": "Order, list, read, renew, revoke certificates; preflight an order.",
    },
    {
        "name": "products",
        "description": "The catalog: validation level, name rules, key types, terms, approval"
        " and backend of each product, and what an organization may order.",
    },
    {"name": "downloads", "description": "PEM, chain, full chain, PKCS#12 and private keys."},
    {"name": "approvals", "description": "Requests waiting for an approver's decision."},
    {
        "name": "alerts",
        "description": "Expiry alerts (per-organization thresholds, and expired) and renewal"
        " failures; acknowledge them, renewals resolve them.",
    },
    {
        "name": "domains",
        "description": "Domain pre-validation (DCV) at the Sectigo Certificate Manager.",
    },
    {
        "name": "inventory",
        "description": "Every certificate across CAs: SCM sync (including orders placed outside"
        " the broker), uploads of any CA's certificates for monitoring, and a summary.",
    },
    {
        "name": "organizations",
        "description": "CA accounts, DNS, catalog and approval policy of a tenant's organizations.",
    },
    {"name": "oauth", "description": "Access tokens for API clients (OAuth2 client credentials)."},
    {"name": "tenants", "description": "Tenants (platform administrators)."},
    {"name": "clients", "description": "A tenant's API clients: create, rotate, revoke."},
    {
        "name": "webhooks",
        "description": "Signed event notifications (Standard Webhooks) to your URLs, with a"
        " delivery log, redelivery and test pings.",
    },
    {"name": "jobs", "description": "Background work and its progress."},
    {
        "name": "audit",
        "description": "Who changed what, when: every mutating call and key export, read-only.",
    },
    {"name": "health", "description": "Liveness and readiness probes."},
]


def install_openapi(app: FastAPI, settings: Settings) -> None:
    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=TAGS,
        )
        components = schema.setdefault("components", {})
        components["securitySchemes"] = {
            "oauth2": {
                "type": "oauth2",
                "description": "Client credentials of a Certbroker API client.",
                "flows": {
                    "clientCredentials": {
                        "tokenUrl": "/oauth/token",
                        # Plain str keys: YAML cannot represent the Scope enum.
                        "scopes": {str(k): v for k, v in SCOPE_DESCRIPTIONS.items()},
                    }
                },
            },
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "An access token from /oauth/token or a trusted external IdP.",
            },
        }
        schema["servers"] = [{"url": settings.public_base_url}]
        declare_problems(schema, app)
        _mark_public(schema)
        require_output_fields(schema)
        restore_example_nulls(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]


def _mark_public(schema: dict[str, Any]) -> None:
    """`security: []` on operations that need no token (token endpoint, JWKS, metadata,
    health), so readers and linters know they are public rather than undocumented."""
    for operations in schema["paths"].values():
        for operation in operations.values():
            operation.setdefault("security", [])
