"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from app.deps import RuntimeDep
from app.http.routing import GuardedRoute

router = APIRouter(tags=["health"], route_class=GuardedRoute)


class Liveness(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    checks: dict[str, str] = Field(
        description="each dependency and its state", examples=[{"database": "ok", "redis": "ok"}]
    )


@router.get(
    "/healthz",
    operation_id="health_live",
    summary="Liveness: the process answers",
    response_model=Liveness,
)
async def healthz() -> Liveness:
    return Liveness(status="ok")


@router.get(
    "/readyz",
    operation_id="health_ready",
    summary="Readiness: the database and Redis answer",
    response_model=Readiness,
    responses={503: {"description": "A dependency is down; the body names which"}},
)
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    async def database() -> None:
        async with runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def redis() -> None:
        await runtime.redis.ping()

    checks = {"database": database, "redis": redis}
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            await asyncio.wait_for(check(), timeout=2.0)
            results[name] = "ok"
        except Exception as exc:  # any failure means not ready; say which and why
            results[name] = f"failed: {type(exc).__name__}"
    failed = [name for name, result in results.items() if result != "ok"]
    if failed:
        return JSONResponse(
            {
                "type": "https://certbroker.dev/problems/unavailable",
                "title": "Service unavailable",
                "status": 503,
                "detail": "not ready: " + ", ".join(f"{n} {results[n]}" for n in failed),
                "instance": "/readyz",
                "checks": results,
            },
            status_code=503,
            media_type="application/problem+json",
        )
    return JSONResponse({"status": "ready", "checks": results})
