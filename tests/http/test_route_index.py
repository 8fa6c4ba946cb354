"""The route index in front of the router (app/http/route_index.py) never hides a route."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.routing import _IncludedRouter
from starlette.routing import Mount, Route

from app.http.route_index import RouteIndex, _templates, path_key
from app.main import create_app
from app.settings import Settings


def _concrete(template: str) -> str:
    return re.sub(r"\{[^}]*\}", "x1", template)


def test_every_route_is_in_the_subset_of_its_own_paths(settings: Settings) -> None:
    app = create_app(settings)
    index = app.router.middleware_stack
    assert isinstance(index, RouteIndex)
    index._reindex(app.router.routes)
    checked = 0
    for route in app.router.routes:
        templates = _templates(route)
        if templates is None:
            continue
        assert isinstance(route, _IncludedRouter | Route | Mount)
        for template in templates:
            concrete = _concrete(template)
            for path in (concrete, concrete + "/", concrete + "/a"):
                assert route in index._subset(path_key(path)).routes, (template, path)
                checked += 1
    assert checked > 250  # every route of the API, three paths each
    # A path no route starts like has an empty subset: straight to the 404.
    assert index._subset(path_key("/nothing/here")).routes == []


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/healthz", 200),
        ("POST", "/healthz", 405),
        ("GET", "/healthz/", 200),  # the router's own trailing-slash redirect, followed
        ("GET", "/v1/nothing", 404),
        ("GET", "/nothing", 404),
        ("DELETE", "/v1/certificates", 405),
        ("GET", "/dashboard/", 200),
        ("GET", "/docs", 200),
    ],
)
async def test_answers_through_the_index(
    api: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    answer = await api.request(method, path, follow_redirects=True)
    assert answer.status_code == status, answer.text
    if status == 405:
        assert answer.headers["allow"]
