"""Every error the API gives, as RFC 9457 application/problem+json."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.errors import PROBLEM_BASE, AppError
from app.http.text_checks import json_syntax_error

log = logging.getLogger("certbroker.http")

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "The request is not valid"),
    429: ("rate-limited", "Too many requests"),
    500: ("internal-error", "Internal server error"),
    503: ("unavailable", "Service unavailable"),
}


class FieldError(BaseModel):
    """One reason a request was refused, naming the field."""

    loc: list[str] = Field(
        description="where: `body`, `query`, `path` or `header`, then the field's path",
        examples=[["body", "common_name"]],
    )
    field: str = Field(description="`loc` joined with dots", examples=["body.common_name"])
    msg: str = Field(examples=["String should have at most 253 characters"])
    type: str = Field(description="what kind of check failed", examples=["string_too_long"])


class Problem(BaseModel):
    """An RFC 9457 problem document; a 422 adds `errors`, one item per refused field."""

    model_config = ConfigDict(
        # RFC 9457 extension members, e.g. `missing_scopes` on a 403.
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": PROBLEM_BASE + "not-found",
                    "title": "Not found",
                    "status": 404,
                    "detail": "no certificate 3f0c1b2a in your tenant",
                    "instance": "/v1/certificates/3f0c1b2a",
                }
            ]
        },
    )

    type: str = Field(
        description="a URI naming the kind of problem", examples=[PROBLEM_BASE + "not-found"]
    )
    title: str = Field(description="the kind of problem, for humans", examples=["Not found"])
    status: int = Field(ge=400, le=599, description="the HTTP status code", examples=[404])
    detail: str = Field(description="this occurrence, for humans")
    instance: str = Field(description="the request path", examples=["/v1/certificates/3f0c1b2a"])
    errors: list[FieldError] | SkipJsonSchema[None] = Field(
        default=None, description="on 422: each field refused and why"
    )


def problem_title(status: int) -> tuple[str, str]:
    """The problem type's last segment and the title for a status."""
    return _TITLES.get(status, ("error", "Error"))


def problem_response(
    status: int,
    detail: str,
    instance: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    code, title = problem_title(status)
    body = {"type": PROBLEM_BASE + code, "title": title, "status": status, "detail": detail}
    body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """FastAPI's validation errors as `{field, msg, type}` items naming the field dotted."""
    items = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        items.append(
            {
                "loc": loc,
                "field": ".".join(loc),
                "msg": error.get("msg", "invalid"),
                "type": error.get("type", "invalid"),
            }
        )
    return items


def _json_syntax(exc: RequestValidationError) -> AppError | None:
    """FastAPI's own "JSON decode error" at `body.<offset>`, said as the route guard says it
    (a route without the guard still answers the same way)."""
    errors = exc.errors()
    if len(errors) != 1 or errors[0].get("type") != "json_invalid":
        return None
    doc = exc.body if isinstance(exc.body, str) else ""
    pos = errors[0]["loc"][-1] if isinstance(errors[0]["loc"][-1], int) else 0
    line = doc.count("\n", 0, pos) + 1
    column = pos - (doc.rfind("\n", 0, pos) + 1) + 1
    message = (errors[0].get("ctx") or {}).get("error", "invalid JSON")
    return json_syntax_error(message, line, column)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        if exc.status >= 500:
            log.error("request failed: %s", exc.detail)
        return JSONResponse(
            exc.problem(instance=request.url.path),
            status_code=exc.status,
            headers=exc.headers,
            media_type=PROBLEM_JSON,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        syntax = _json_syntax(exc)
        if syntax is not None:
            return await _app_error(request, syntax)
        errors = field_errors(exc)
        summary = "; ".join(f"{e['field']}: {e['msg']}" for e in errors[:5])
        return problem_response(422, summary, request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no resource at {request.url.path}"
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        return problem_response(exc.status_code, detail, request.url.path, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return problem_response(500, "an unexpected error occurred", request.url.path)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path: Starlette's own 405 names only the first
    route's, and the app has one route per method and path."""
    methods: set[str] = set()
    probe = {**request.scope, "method": ""}  # no route serves it: a path match is PARTIAL
    for route in iter_route_contexts(request.app.router.routes):
        match, _ = route.matches(probe)
        if match == Match.PARTIAL:
            methods |= route.methods or set()
    return sorted(methods)
