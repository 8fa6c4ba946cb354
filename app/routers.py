"""Every router of the API, in the order they appear in the documentation."""

from __future__ import annotations

from fastapi import FastAPI

from app.auth.router import router as oauth_router
from app.clients.router import router as clients_router
from app.http.health import router as health_router
from app.jobs.router import router as jobs_router
from app.tenants.router import router as tenants_router


def include_routers(app: FastAPI) -> None:
    app.include_router(oauth_router)
    app.include_router(tenants_router)
    app.include_router(clients_router)
    app.include_router(health_router)
    app.include_router(jobs_router)
