"""No mutating route escapes the audit: each carries the audit dependency, is listed in TARGETS,
and a call to it leaves a row (here: a denied one, since every such route needs a write scope)."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from app.audit.capture import audit_request
from app.audit.targets import (
    MUTATING_METHODS,
    NOT_MUTATIONS,
    TARGETS,
    operation_id,
    target_for,
)
from app.runtime import Runtime
from tests.audit.conftest import Team, audit_rows


def _calls(dependant: Dependant) -> set[object]:
    found = {dependant.call}
    for sub in dependant.dependencies:
        found |= _calls(sub)
    return found


def api_routes(app: FastAPI) -> list[RouteContext]:
    """Every /v1 route as mounted (with the dependencies its include added)."""
    return [
        context
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and context.path.startswith("/v1/")
    ]


def mutating_routes(app: FastAPI) -> list[tuple[RouteContext, str]]:
    return [
        (context, method)
        for context in api_routes(app)
        for method in sorted(context.methods & MUTATING_METHODS)
    ]


def audited_routes(app: FastAPI) -> list[tuple[RouteContext, str]]:
    """The mutating routes and the reads listed in TARGETS (key exports)."""
    reads = [
        (context, "GET")
        for context in api_routes(app)
        if "GET" in context.methods and operation_id(context.original_route) in TARGETS
    ]
    return mutating_routes(app) + reads


def test_every_mutating_route_is_audited(app: FastAPI) -> None:
    routes = mutating_routes(app)
    assert len(routes) >= 20  # the enumeration itself works
    ops = [operation_id(context.original_route) for context, _ in routes]
    unlisted = [op for op in ops if op not in TARGETS and op not in NOT_MUTATIONS]
    assert unlisted == [], f"add these operations to app/audit/targets.py TARGETS: {unlisted}"
    unhooked = [
        context.path for context, _ in routes if audit_request not in _calls(context.dependant)
    ]
    assert unhooked == []


async def test_every_mutating_route_leaves_a_row(
    app: FastAPI, api: httpx.AsyncClient, runtime: Runtime, team: Team
) -> None:
    """A reader (certificates:read only) calls each one: denied, and recorded as such."""
    expected = {}
    for context, method in audited_routes(app):
        route = context.original_route
        op = operation_id(route)
        if op in NOT_MUTATIONS:
            continue
        params = {name: f"x{uuid.uuid4().hex[:12]}" for name in route.param_convertors}
        path = route.path_format.format(**params)
        answer = await api.request(method, path, json={}, headers=team.reader())
        assert answer.status_code == 403, (op, answer.text)
        found = target_for(route, method)  # also how an unlisted route would be recorded
        assert found is not None, op
        action, target = found
        expected[action] = params.get(target.id_param) if target.id_param else None

    rows = await audit_rows(runtime, team.tenant_id, actor=team.reader_id)

    recorded = {row.action: row for row in rows}
    assert set(recorded) == set(expected)
    for action, object_id in expected.items():
        row = recorded[action]
        assert row.object_id == object_id, action
        assert row.detail["status"] == 403 and row.detail["outcome"] == "denied", action
        assert "needs the scope" in row.detail["error"]
