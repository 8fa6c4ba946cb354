"""Two tenants with one of everything, and the API's routes as the matrices enumerate them.

The victim tenant owns an object behind every kind of path parameter (organization, domain,
certificate, approval, alert, job, API client, webhook, delivery); the attacker is another
tenant's client holding every tenant scope. Routes come from the app itself
(`iter_route_contexts(app.routes)`), so a new route lands in the matrices automatically, and
`classify` fails on one nobody has said how to treat.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from app.lifecycle.models import Alert, AlertKind, AlertSeverity
from app.runtime import Runtime
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEvent
from tests.auth.factories import ALL_SCOPES, TENANT_SCOPES, Actor, new_actor

# Routes outside the tenant API: what each is, so a new one must be placed here on purpose.
PUBLIC = {
    "/oauth/token": "token endpoint (client authentication)",
    "/.well-known/jwks.json": "public keys",
    "/.well-known/oauth-authorization-server": "RFC 8414 metadata",
    "/.well-known/acme-challenge/{token}": "HTTP-01 answers for the CA",
    "/healthz": "liveness",
    "/readyz": "readiness",
    "/metrics": "Prometheus (own platform:admin check)",
    "/docs": "Swagger UI",
    "/docs/oauth2-redirect": "Swagger UI",
    "/redoc": "ReDoc",
    "/dashboard": "the dashboard's page",
    "/dashboard/": "the dashboard's page",
    "/dashboard/config.json": "the dashboard's sign-in options",
}
# The broker's ACME directories: JWS-signed by ACME accounts bound to an organization's EAB key
# (tests/acme_server checks the signer, the nonce and the organization on each).
ACME_PREFIX = "/acme/{organization_id}/"
# Organization SCM settings for orders that wait for approval: the CA is never contacted.
SCM_SETTINGS = {
    "base_url": "https://cert-manager.com/api",
    "login": "broker",
    "password": "broker-password",
    "customer_uri": "example",
    "org_id": 1,
}
PLATFORM_PREFIXES = ("/v1/tenants",)  # platform operators' objects, not a tenant's
# The same for every tenant (an `organization_id` query is checked like any other reference).
CATALOG = {"/v1/products/{code}": "one product of the shared catalog"}

# Which victim object a path parameter names: the collection segment before it.
OBJECT_OF_SEGMENT = {
    "certificates": "certificate",
    "organizations": "organization",
    "domains": "domain",
    "approvals": "approval",
    "alerts": "alert",
    "jobs": "job",
    "clients": "client",
    "webhooks": "webhook",
    "deliveries": "delivery",
    "acme-credentials": "acme_credential",
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    route: APIRoute

    @property
    def scopes(self) -> list[str]:
        return self.route.requirements[1]  # type: ignore[attr-defined]

    @property
    def params(self) -> list[str]:
        return list(self.route.param_convertors)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def operations(app: FastAPI) -> list[Operation]:
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            found += [Operation(m, context.path, route) for m in sorted(context.methods or ())]
    return found


def classify(op: Operation) -> str:
    """public, platform, catalog, tenant-object (has path params) or tenant-list; else the test
    fails."""
    if op.path in PUBLIC:
        return "public"
    if op.path.startswith(ACME_PREFIX):
        return "public"  # no bearer token: each request is a JWS by an EAB-bound ACME account
    if not op.path.startswith("/v1/"):
        raise AssertionError(f"{op}: unclassified route; add it to tests/security/world.py")
    if op.path.startswith(PLATFORM_PREFIXES):
        return "platform"
    if op.path in CATALOG:
        return "catalog"
    return "tenant-object" if op.params else "tenant-list"


def object_param(op: Operation, name: str) -> str:
    """The victim object kind behind path parameter `name` of `op`."""
    segments = op.path.split("/")
    before = segments[segments.index("{" + name + "}") - 1]
    kind = OBJECT_OF_SEGMENT.get(before)
    if kind is None:
        raise AssertionError(f"{op}: no victim object for {{{name}}}; add one to the world")
    return kind


# Bodies for routes whose schema carries no example that validates.
SAMPLE_BODIES: dict[str, Any] = {"Pkcs12Request": {"passphrase": "correct horse battery"}}


def sample_body(op: Operation) -> Any:
    """A body the route's schema accepts: its first example, else {}; a route for which
    neither validates needs an entry in SAMPLE_BODIES."""
    field_ = op.route.body_field
    if field_ is None:
        return None
    annotation = field_.field_info.annotation
    models = [a for a in getattr(annotation, "__args__", (annotation,)) if a is not type(None)]
    model = models[0]
    body = (
        SAMPLE_BODIES.get(model.__name__) or (model.model_json_schema().get("examples") or [{}])[0]
    )
    try:
        model.model_validate(body)
    except ValueError:
        raise AssertionError(f"{op}: no valid sample body; add one to SAMPLE_BODIES") from None
    return body


@dataclass
class World:
    attacker: Actor
    victim: Actor
    objects: dict[str, str] = field(default_factory=dict)  # kind -> victim's object id

    def path_for(self, op: Operation, owner: dict[str, str] | None = None) -> str:
        ids = owner if owner is not None else self.objects
        path = op.path
        for name in op.params:
            path = path.replace("{" + name + "}", ids[object_param(op, name)])
        return path


async def build_world(runtime: Runtime, api: httpx.AsyncClient) -> World:
    """The victim's objects made through the API (and one alert row, as the expiry check
    would write it); no worker runs, so nothing leaves the database."""
    attacker = await new_actor(runtime, api, [*TENANT_SCOPES])
    victim = await new_actor(runtime, api, [s for s in ALL_SCOPES if s != "platform:admin"])
    h = victim.headers
    objects: dict[str, str] = {}

    async def ok(answer: httpx.Response) -> dict[str, Any]:
        assert answer.status_code < 300, f"{answer.request.url}: {answer.text}"
        return answer.json()

    org = await ok(
        await api.post(
            "/v1/organizations",
            headers=h,
            json={
                "name": f"victim-{uuid.uuid4().hex[:6]}",
                "allowed_domains": ["victim.example"],
                "auto_approve": False,
                "approvers": {"OV": ["someone-else"]},
                "scm": SCM_SETTINGS,
            },
        )
    )
    objects["organization"] = org["id"]
    credential = await ok(
        await api.post(
            f"/v1/organizations/{org['id']}/acme-credentials",
            headers=h,
            json={"name": "victim-eab", "product": "instantssl"},
        )
    )
    objects["acme_credential"] = credential["id"]
    domain = await ok(
        await api.post(
            "/v1/domains", headers=h, json={"name": "victim.example", "organization_id": org["id"]}
        )
    )
    objects["domain"] = domain["id"]
    cert = await ok(
        await api.post(
            "/v1/certificates",
            headers=h,
            json={
                "organization_id": org["id"],
                "product": "instantssl",
                "common_name": "www.victim.example",
            },
        )
    )
    objects["certificate"] = cert["id"]
    approvals = await ok(await api.get("/v1/approvals", headers=h))
    objects["approval"] = approvals["items"][0]["id"]
    sync = await ok(await api.post("/v1/inventory/sync", headers=h, json={}))
    objects["job"] = sync["id"] if "id" in sync else sync["job_id"]
    client = await ok(
        await api.post(
            "/v1/clients", headers=h, json={"name": "victim-bot", "scopes": ["certificates:read"]}
        )
    )
    objects["client"] = client["id"]
    hook = await ok(
        await api.post(
            "/v1/webhooks",
            headers=h,
            # A global address literal: no resolution; disabled, so nothing is ever sent.
            json={
                "url": "https://93.184.216.34/in",
                "event_types": ["certificate.issued"],
                "enabled": False,
            },
        )
    )
    objects["webhook"] = hook["id"]
    async with runtime.sessions() as session:
        event = WebhookEvent(tenant_id=victim.tenant.id, type="certificate.issued")
        delivery = WebhookDelivery(
            tenant_id=victim.tenant.id,
            subscription_id=hook["id"],
            event_id=event.id,
            event_type=event.type,
            status=DeliveryStatus.FAILED,
        )
        session.add_all([event, delivery])
        await session.commit()
    objects["delivery"] = delivery.id
    async with runtime.sessions() as session:
        alert = Alert(
            tenant_id=victim.tenant.id,
            organization_id=org["id"],
            certificate_id=cert["id"],
            kind=AlertKind.EXPIRING,
            threshold=7,
            severity=AlertSeverity.WARNING,
            message="expires in 7 days",
        )
        session.add(alert)
        await session.commit()
    objects["alert"] = alert.id
    return World(attacker=attacker, victim=victim, objects=objects)
