"""Builds the simulator's ASGI app: SCM routes on /api and /private/api, OAuth, sandbox controls."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from app.sandbox.scm.auth import authenticate
from app.sandbox.scm.config import ScmSandboxConfig
from app.sandbox.scm.errors import install_error_handlers
from app.sandbox.scm.routes import (
    acme_accounts,
    dcv,
    domain,
    oauth,
    organization,
    report,
    sandbox_admin,
    ssl_actions,
    ssl_collect,
    ssl_enroll,
    ssl_locations,
    ssl_profiles,
    ssl_records,
)
from app.sandbox.scm.store import ScmStore
from app.sandbox.scm.traffic import TrafficMiddleware

# (router, service prefixes). Specific paths come before ssl_records' catch-all /{sslId}.
SCM_ROUTERS: list[tuple[APIRouter, tuple[str, ...]]] = [
    (ssl_profiles.router, ("/ssl/v1", "/ssl/v2")),
    (ssl_enroll.router, ("/ssl/v1", "/ssl/v2")),
    (ssl_collect.router, ("/ssl/v1", "/ssl/v2")),
    (ssl_actions.router, ("/ssl/v1", "/ssl/v2")),
    (ssl_locations.router, ("/ssl/v1", "/ssl/v2")),
    (ssl_records.router, ("/ssl/v1", "/ssl/v2")),
    (organization.router, ("/organization/v1",)),
    (domain.router, ("/domain/v1",)),
    (dcv.dcv_router("v1"), ("/dcv/v1",)),
    (dcv.dcv_router("v2"), ("/dcv/v2",)),
    (report.router, ("/report/v1",)),
    (acme_accounts.acme_router("v1"), ("/acme/v1",)),
    (acme_accounts.acme_router("v2"), ("/acme/v2",)),
]


def scm_api_router() -> APIRouter:
    """Every SCM service, authenticated; mounted once per base path."""
    api = APIRouter(dependencies=[Depends(authenticate)])
    for router, prefixes in SCM_ROUTERS:
        for prefix in prefixes:
            api.include_router(router, prefix=prefix)
    return api


def create_scm_app(config: ScmSandboxConfig | None = None) -> FastAPI:
    config = config or ScmSandboxConfig()
    app = FastAPI(
        title="Sectigo Certificate Manager simulator",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.store = ScmStore(config)
    install_error_handlers(app)
    api = scm_api_router()
    app.include_router(api, prefix="/api")
    app.include_router(api, prefix="/private/api")
    app.include_router(oauth.router)
    app.include_router(sandbox_admin.router)
    app.add_middleware(TrafficMiddleware, store=app.state.store)
    return app
