"""The one exception tree the SCM client raises, and how an HTTP response maps onto it.

Callers catch `ScmError` for "anything went wrong at or on the way to SCM" and the subclasses
to decide between fail, wait, and find-out-what-happened:

    ScmError
    ├── ScmAuthError            401 / code -16: bad credentials or token refused
    ├── ScmValidationError      400 with an SCM code other than "not yet": the request is wrong
    ├── ScmNotFoundError        404 (or an SCM "not found" code)
    ├── ScmPendingError         collect said "not yet" (HTTP 400, code 0 / -183 / -1400 / -109)
    ├── ScmCaUnavailableError   code -195: the CA behind SCM is down; try again later
    ├── ScmRateLimitedError     429; `retry_after` seconds from Retry-After (None if absent)
    ├── ScmServerError          5xx: SCM failed; for non-idempotent calls the outcome is unknown
    ├── ScmTransportError       no usable response (connect error, reset, timeout); ambiguous
    │   └── ScmTimeoutError
    └── ScmProtocolError        a response we cannot interpret (wrong shape, missing Location)

Messages carry method, path, status, code and description only - never headers or bodies that
could hold credentials.
"""

from __future__ import annotations

import email.utils
import time

import httpx

# SCM's "still being processed" answers on collect; see the contract, section 2.5.
PENDING_CODES = frozenset({0, -183, -1400, -109})
CA_UNAVAILABLE_CODES = frozenset({-195, -140})
NOT_FOUND_CODES = frozenset({-5101, -124, -727, -1023, -105})
AUTH_CODES = frozenset({-16, -970})


class ScmError(Exception):
    """Base of every error the SCM client raises."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        description: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.description = description

    @property
    def ambiguous(self) -> bool:
        """True when a non-idempotent request may or may not have taken effect."""
        return False


class ScmAuthError(ScmError):
    """Credentials rejected (HTTP 401, SCM code -16) or the token endpoint refused us."""


class ScmValidationError(ScmError):
    """SCM refused the request's content; `code` and `description` say what is wrong."""


class ScmNotFoundError(ScmError):
    """The certificate, domain, account or organization does not exist."""


class ScmPendingError(ScmError):
    """The certificate is not ready to collect yet."""


class ScmCaUnavailableError(ScmError):
    """SCM's upstream CA is unavailable (code -195); a later retry is expected to work."""


class ScmRateLimitedError(ScmError):
    """HTTP 429. `retry_after` is the server's wish in seconds, when it said one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ScmServerError(ScmError):
    """HTTP 5xx. SCM may have acted before failing, so the outcome is unknown."""

    @property
    def ambiguous(self) -> bool:
        return True


class ScmTransportError(ScmError):
    """No response (connection refused/reset, protocol error). The request may have arrived."""

    @property
    def ambiguous(self) -> bool:
        return True


class ScmTimeoutError(ScmTransportError):
    """The request timed out; it may or may not have been processed."""


class ScmProtocolError(ScmError):
    """SCM answered with something this client cannot interpret."""


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date); None if absent/garbled."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _error_body(response: httpx.Response) -> tuple[int | None, str | None]:
    try:
        body = response.json()
    except ValueError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    code = body.get("code")
    try:
        code = int(code) if code is not None else None
    except (TypeError, ValueError):
        code = None
    description = body.get("description")
    return code, str(description) if description is not None else None


def error_from_response(response: httpx.Response, *, collect: bool = False) -> ScmError:
    """Map a non-2xx response to the exception tree. `collect` enables the "not yet" codes."""
    status = response.status_code
    code, description = _error_body(response)
    where = f"{response.request.method} {response.request.url.path}"
    detail = f" (SCM {code}: {description})" if code is not None else ""
    if description and code is None:
        detail = f" ({description})"
    message = f"{where} -> HTTP {status}{detail}"
    kw = {"status": status, "code": code, "description": description}
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return ScmRateLimitedError(message, retry_after=retry_after, **kw)
    if status >= 500:
        return ScmServerError(message, **kw)
    if status == 401 or code in AUTH_CODES:
        return ScmAuthError(message, **kw)
    if code in CA_UNAVAILABLE_CODES:
        return ScmCaUnavailableError(message, **kw)
    if collect and status == 400 and code in PENDING_CODES:
        return ScmPendingError(message, **kw)
    if status == 404 or code in NOT_FOUND_CODES:
        return ScmNotFoundError(message, **kw)
    if 400 <= status < 500:
        return ScmValidationError(message, **kw)
    return ScmProtocolError(message, **kw)
