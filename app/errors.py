"""One exception tree for the API, rendered as RFC 9457 application/problem+json."""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://certbroker.dev/problems/"


class AppError(Exception):
    """An error the API answers with a problem document instead of a stack trace."""

    status: int = 500
    code: str = "internal-error"
    title: str = "Internal server error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class BadRequest(AppError):
    status, code, title = 400, "bad-request", "Bad request"


class Unauthorized(AppError):
    status, code, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str | None = None, *, error: str = "invalid_token") -> None:
        # RFC 6750 §3: tell the client which scheme and why, without echoing the token.
        safe = (detail or self.title).replace('"', "'")
        super().__init__(
            detail,
            headers={
                "WWW-Authenticate": f'Bearer realm="certbroker", error="{error}", '
                f'error_description="{safe}"'
            },
        )


class Forbidden(AppError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(AppError):
    status, code, title = 404, "not-found", "Not found"


class MethodNotAllowed(AppError):
    status, code, title = 405, "method-not-allowed", "Method not allowed"


class Conflict(AppError):
    status, code, title = 409, "conflict", "Conflict"


class Unprocessable(AppError):
    status, code, title = 422, "validation-error", "The request is not valid"

    @classmethod
    def field(cls, location: str, message: str, kind: str = "invalid") -> Unprocessable:
        """A 422 naming one field, e.g. Unprocessable.field("body.csr", "signature invalid")."""
        return cls(
            f"{location}: {message}",
            errors=[{"loc": location.split("."), "field": location, "msg": message, "type": kind}],
        )


class TooManyRequests(AppError):
    status, code, title = 429, "rate-limited", "Too many requests"


class ServiceUnavailable(AppError):
    status, code, title = 503, "unavailable", "Service unavailable"
