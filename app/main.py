"""create_app(): the API process — lifespan builds the shared runtime; routers; error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.acme_state.router import Http01Shortcut
from app.dashboard.router import install_dashboard
from app.http.body_limit import BodyLimitMiddleware
from app.http.cursors import use_cursor_key
from app.http.docs import install_docs
from app.http.problems import install_problem_handlers
from app.http.request_context import RequestContextMiddleware
from app.http.route_index import install_route_index
from app.logs import configure_logging
from app.models import import_all_models
from app.openapi_schema import install_openapi
from app.routers import include_routers
from app.runtime import Runtime, freeze_heap
from app.settings import Settings
from app.wiring import register_backends

DESCRIPTION = """
Certbroker orders, validates, approves, renews, revokes and monitors TLS certificates from
Sectigo: OV and EV through the Sectigo Certificate Manager, DV through Sectigo ACME.

Authenticate with an API client's credentials (OAuth2 client credentials at `/oauth/token`)
and send the access token as `Authorization: Bearer <token>`. Errors are
`application/problem+json` (RFC 9457).
"""


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or Settings()
    import_all_models()  # foreign keys resolve only with every table in the metadata

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_runtime = runtime is None
        if runtime is None:
            app.state.runtime = Runtime.build(settings)
            register_backends(app.state.runtime)
            freeze_heap()
        else:
            app.state.runtime = runtime
        try:
            yield
        finally:
            if own_runtime:
                await app.state.runtime.close()

    if runtime is None:
        configure_logging(settings.log_level)
    app = FastAPI(
        title="Certbroker",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    if runtime is not None:
        app.state.runtime = runtime  # usable without the lifespan (tests, embedding)
    use_cursor_key(settings.data_key_bytes[settings.data_key_id])
    app.add_middleware(Http01Shortcut)  # ACME validation fetches skip the rest of the stack
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.limits.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)  # outermost: even a 413 has a request id
    install_problem_handlers(app)
    include_routers(app)
    install_docs(app)
    install_dashboard(app, settings)
    install_openapi(app, settings)
    install_route_index(app)  # last: every route is there
    return app
