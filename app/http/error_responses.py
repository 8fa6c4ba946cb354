"""Declares, on every operation of the OpenAPI document, the problem answers it can give."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from app.errors import PROBLEM_BASE
from app.http.problems import PROBLEM_JSON, FieldError, Problem, problem_title
from app.http.rate_limit import rate_limited

REF = "#/components/schemas/{model}"
PROBLEM_REF = {"$ref": REF.format(model="Problem")}
# FastAPI's own 422 model describes an answer this API never gives.
FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")

DESCRIPTIONS = {
    400: "The body cannot be parsed (not JSON, or not UTF-8)",
    401: "No valid access token (missing, expired, revoked or not ours)",
    403: "The token lacks a scope this operation needs, or the caller may not do this",
    404: "No such object in your tenant (addressed, or named by an `…_id` field)",
    409: "The object's state does not allow this",
    413: "The request body is larger than the service accepts",
    422: "A field is refused; `errors` names each one and why",
    429: "Too many requests from this client; retry after `Retry-After` seconds",
    503: "A service this operation depends on is unavailable",
}
HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "RFC 6750: the scheme, the error and why",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    429: {
        "Retry-After": {
            "description": "seconds until the client may try again",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
}
EXAMPLE_DETAILS = {
    400: "There was an error parsing the body",
    401: "a bearer access token is required",
    403: "this operation needs the scope certificates:write",
    404: "no such object in your tenant",
    409: "the certificate is pending_validation; nothing to download yet",
    413: "the body exceeds 1048576 bytes",
    422: "body.common_name: String should have at most 253 characters",
    429: "more than 600 requests this minute from client cb_3f0c1b2a; retry in 12 s",
    503: "SCM could not be reached: ConnectTimeout",
}


def declare_problems(spec: dict[str, Any], app: FastAPI) -> None:
    """Give every operation the problem answers it can give, in the media type served
    (application/problem+json), each with an example; drop FastAPI's 422 model."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name in FASTAPI_VALIDATION:
        schemas.pop(name, None)
    schemas.update(_problem_schemas())
    for route in _api_routes(app):
        for method in sorted(route.methods):
            operation = spec["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            declared = {int(code) for code in responses if code.isdigit() and code >= "400"}
            given = _given(route, operation, schemas)
            for status in sorted(declared | given):
                _declare(responses, status, route.path_format, alongside=status in given)
            operation["responses"] = dict(sorted(responses.items()))


def _problem_schemas() -> dict[str, Any]:
    schema = Problem.model_json_schema(ref_template=REF)
    defs = schema.pop("$defs", {})
    defs.setdefault(FieldError.__name__, FieldError.model_json_schema(ref_template=REF))
    return {**defs, "Problem": schema}


def _api_routes(app: FastAPI) -> Iterator[RouteContext]:
    """Each operation as mounted, with the dependencies its routers added."""
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute) and route.include_in_schema:
            yield route


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _names_objects(operation: dict[str, Any], schemas: dict[str, Any]) -> bool:
    """Whether the request addresses an object (a path parameter) or names one by id (a
    query parameter or top-level body field `id` or `…_id`): either may not exist."""
    parameters = operation.get("parameters", [])
    if any(parameter["in"] == "path" for parameter in parameters):
        return True
    names = [parameter["name"] for parameter in parameters]
    for media in operation.get("requestBody", {}).get("content", {}).values():
        ref = str(media.get("schema", {}).get("$ref", ""))
        names += list(schemas.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}))
    return any(name == "id" or name.endswith("_id") for name in names)


def _given(route: RouteContext, operation: dict[str, Any], schemas: dict[str, Any]) -> set[int]:
    """What the app's mechanisms answer on such a route, whatever the route declared: auth
    (401, 403) and, for a tenant's objects named by id, 404; the rate limit (429); request
    validation (422); for a body, parsing (400) and the size limit (413)."""
    statuses = set()
    if operation.get("security"):
        statuses |= {401, 403}
        if _names_objects(operation, schemas):
            statuses.add(404)
    if rate_limited in set(_calls(route.dependant)):
        statuses.add(429)
    if operation.get("parameters") or operation.get("requestBody"):
        statuses.add(422)
    if operation.get("requestBody"):
        statuses |= {400, 413}
    return statuses


def _declare(responses: dict[str, Any], status: int, path: str, *, alongside: bool) -> None:
    answer = responses.setdefault(str(status), {})
    content = answer.get("content") or {}
    problem = {PROBLEM_JSON: {"schema": PROBLEM_REF, "example": _example(status, path)}}
    schema_ref = str(content.get("application/json", {}).get("schema", {}).get("$ref", ""))
    if content and not schema_ref.endswith(FASTAPI_VALIDATION):
        # The route's own body (the token endpoint's RFC 6749 errors) comes first; a problem
        # is possible too where the app's mechanisms answer before the route runs.
        if alongside:
            answer["content"] = {**content, **problem}
        return
    if not answer.get("description") or answer["description"] == "Validation Error":
        answer["description"] = DESCRIPTIONS.get(status, problem_title(status)[1])
    answer["content"] = problem
    if status in HEADERS:
        answer["headers"] = HEADERS[status]


def _example(status: int, path: str) -> dict[str, Any]:
    code, title = problem_title(status)
    instance = re.sub(r"{[^}]+}", "3f0c1b2a4d5e6f708192a3b4c5d6e7f8", path)
    example: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": title,
        "status": status,
        "detail": EXAMPLE_DETAILS.get(status, title),
        "instance": instance,
    }
    if status == 422:
        example["errors"] = [
            {
                "loc": ["body", "common_name"],
                "field": "body.common_name",
                "msg": "String should have at most 253 characters",
                "type": "string_too_long",
            }
        ]
    if status == 403:
        example["missing_scopes"] = ["certificates:write"]
    return example
