"""GET /metrics in the Prometheus text format.

Left out of the OpenAPI document: it is for the scraper, not for API clients. Unless the
deployment sets `metrics_public`, it needs a bearer token with `platform:admin`, because the
expiry series name certificates of every tenant.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric

from app.auth.principal import Scope
from app.auth.validation import principal_from_token
from app.deps import DbSession, RuntimeDep
from app.errors import Forbidden, Unauthorized
from app.http.routing import GuardedRoute
from app.metrics.collectors import ExpiryCollector, read_expiry_snapshot
from app.metrics.registry import REGISTRY

router = APIRouter(route_class=GuardedRoute)


async def check_access(request: Request, runtime: RuntimeDep) -> None:
    if request.app.state.settings.metrics_public:
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer access token with platform:admin is required")
    principal = await principal_from_token(token.strip(), runtime)
    if not principal.has(Scope.PLATFORM_ADMIN):
        raise Forbidden("/metrics needs the scope platform:admin")


@router.get("/metrics", include_in_schema=False, dependencies=[Depends(check_access)])
async def metrics(request: Request, session: DbSession) -> Response:
    limit = request.app.state.settings.inventory.expiry_gauge_limit
    snapshot = await read_expiry_snapshot(session, limit)
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(ExpiryCollector(snapshot))
    scrape.register(Recorded(REGISTRY))
    return Response(WORKER_NOTE + generate_latest(scrape), media_type=CONTENT_TYPE_LATEST)


# A comment line (the text format ignores it) for whoever reads the scrape by hand.
WORKER_NOTE = (
    b"# Jobs, CA calls, renewals, alerts, webhook deliveries and SCM imports are counted by the"
    b" workers: each serves its own /metrics on CERTBROKER_WORKER_METRICS_PORT (the sandbox:"
    b" 9464). Scrape every process and sum over `instance`.\n"
)


class Recorded:
    """This process's families that have samples: the API leaves the workers' families empty,
    and an empty family would read as "nothing happened"."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        for family in self.registry.collect():
            if family.samples:
                yield family
