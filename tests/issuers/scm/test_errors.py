"""Mapping SCM responses onto the one exception tree, without a server (pure functions)."""

import httpx
import pytest

from app.issuers.scm.errors import (
    ScmAuthError,
    ScmCaUnavailableError,
    ScmNotFoundError,
    ScmPendingError,
    ScmRateLimitedError,
    ScmServerError,
    ScmValidationError,
    error_from_response,
    parse_retry_after,
)
from app.issuers.scm.retry import RetryPolicy


def response(status: int, body: dict | None = None, **headers: str) -> httpx.Response:
    request = httpx.Request("GET", "https://scm.test/api/ssl/v1/collect/7")
    return httpx.Response(status, json=body, headers=headers, request=request)


@pytest.mark.parametrize("code", [0, -183, -1400, -109])
def test_not_yet_codes_are_pending_only_on_collect(code):
    assert isinstance(
        error_from_response(response(400, {"code": code}), collect=True), ScmPendingError
    )
    assert isinstance(error_from_response(response(400, {"code": code})), ScmValidationError)


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (401, {"code": -16, "description": "Unknown user"}, ScmAuthError),
        (400, {"code": -36, "description": "bad term"}, ScmValidationError),
        (404, {"code": -5101, "description": "nope"}, ScmNotFoundError),
        (400, {"code": -195, "description": "CA down"}, ScmCaUnavailableError),
        (503, None, ScmServerError),
        (429, None, ScmRateLimitedError),
    ],
)
def test_status_and_code_map_to_the_tree(status, body, kind):
    error = error_from_response(response(status, body))
    assert type(error) is kind
    assert error.status == status
    if body:
        assert error.code == body["code"]
        assert body["description"] in str(error)


def test_rate_limit_carries_retry_after_and_policy_honours_it():
    error = error_from_response(response(429, None, **{"Retry-After": "3"}))
    assert error.retry_after == 3.0
    policy = RetryPolicy(attempts=3, base_delay=0.1, max_retry_after=5)
    assert 3.0 <= policy.delay(1, error) <= 3.1
    assert policy.delay(3, error) is None  # attempts exhausted
    too_long = error_from_response(response(429, None, **{"Retry-After": "60"}))
    assert policy.delay(1, too_long) is None  # beyond the cap: give up, let the job wait


def test_backoff_is_bounded_and_jittered():
    policy = RetryPolicy(attempts=10, base_delay=0.2, max_delay=1.0)
    error = error_from_response(response(502))
    delays = [policy.delay(n, error) for n in range(1, 10)]
    assert all(0.05 <= d <= 1.0 for d in delays)
    assert policy.delay(1, error_from_response(response(400, {"code": -36}))) is None


def test_parse_retry_after_http_date():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None
