"""SCM's error model: every failure is `{code, description}` JSON with 400, 401 or 404."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class ScmError(Exception):
    """A business error as SCM reports it. Raised anywhere below a route."""

    def __init__(
        self,
        code: int,
        description: str,
        status_code: int = 400,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.status_code = status_code
        self.headers = headers or {}


def unknown_user() -> ScmError:
    return ScmError(-16, "Unknown user", 401)


def not_found(code: int, description: str) -> ScmError:
    return ScmError(code, description, 404)


def error_response(error: ScmError) -> JSONResponse:
    return JSONResponse(
        {"code": error.code, "description": error.description},
        status_code=error.status_code,
        headers=error.headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    async def on_scm_error(_: Request, exc: ScmError) -> JSONResponse:
        return error_response(exc)

    async def on_validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        # SCM uses -7 for a missing required field and -1601 for a field with a bad value.
        first = exc.errors()[0] if exc.errors() else {}
        if first.get("type") in {"json_invalid", "model_attributes_type", "dict_type"}:
            return error_response(ScmError(-1, "The request body is not a valid JSON object."))
        field = ".".join(str(part) for part in first.get("loc", ())[1:]) or "body"
        if first.get("type") == "missing":
            return error_response(ScmError(-7, f"The '{field}' field is required."))
        return error_response(ScmError(-1601, f"The '{field}' field has an invalid value."))

    async def on_http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return error_response(ScmError(-1, "Not found", 404))
        if exc.status_code == 405:
            return error_response(ScmError(-1, "Method not allowed", 405))
        return error_response(ScmError(-1, str(exc.detail), exc.status_code))

    app.add_exception_handler(ScmError, on_scm_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
