"""Auth tests use the suite's `runtime`/`api` fixtures (tests/fixtures/app.py) on SQLite and
PostgreSQL; each test makes its own tenants and clients, so tests share one database."""

# No `from __future__ import annotations`: the `whoami` routes need real annotations.

from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.auth.dependencies import CurrentPrincipal, require_scopes
from app.auth.principal import Scope
from app.http.problems import install_problem_handlers
from app.runtime import Runtime


@pytest.fixture
async def whoami(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """A tiny app whose routes echo the principal the dependencies produce."""
    app = FastAPI()
    app.state.runtime = runtime
    install_problem_handlers(app)

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, Any]:
        return {**asdict(principal), "scopes": sorted(principal.scopes)}

    @app.get("/reader")
    async def reader(
        principal: CurrentPrincipal, same: require_scopes(Scope.CERTIFICATES_READ)
    ) -> dict[str, Any]:
        return {"same": principal is same}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://whoami") as client:
        yield client
