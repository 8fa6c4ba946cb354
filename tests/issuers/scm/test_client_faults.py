"""Retries for idempotent calls only, and an ambiguous enroll recovered without a duplicate."""

import time

import httpx
import pytest

from app.issuers.scm import (
    EnrollRequest,
    ScmRateLimitedError,
    ScmServerError,
)

from .conftest import header_client
from .ordering import COST_CENTER, ORG_ID, enroll, profile_id, wait_collect


async def test_429_with_retry_after_is_waited_out_on_get(scm, control):
    await control.faults(
        rules=[{"path": "/ssl/v1/customFields", "count": 1, "status": 429, "retry_after": 1}]
    )
    started = time.monotonic()
    assert await scm.list_custom_fields()
    assert time.monotonic() - started >= 1.0


async def test_5xx_and_dropped_connections_are_retried_on_get_and_collect(scm, control, unique_cn):
    result, _, _ = await enroll(scm, unique_cn)
    await wait_collect(scm, result.ssl_id)
    before = await control.calls(f"GET /api/ssl/v1/{result.ssl_id}")
    await control.faults(
        rules=[
            {"path": f"/ssl/v1/{result.ssl_id}", "method": "GET", "count": 2, "status": 503},
            {"path": "/ssl/v1/collect", "count": 1, "drop": True},
            {"path": "/ssl/v1/collect", "count": 1, "status": 500},
        ]
    )
    assert (await scm.details(result.ssl_id)).status == "Issued"
    assert await control.calls(f"GET /api/ssl/v1/{result.ssl_id}") == before + 3
    assert await scm.collect(result.ssl_id, "x509")


async def test_retries_are_bounded(scm, control):
    await control.faults(rules=[{"path": "/ssl/v1/types", "count": 50, "status": 502}])
    before = await control.calls("GET /api/ssl/v1/types")
    with pytest.raises(ScmServerError):
        await scm.list_profiles()
    assert await control.calls("GET /api/ssl/v1/types") == before + 4  # FAST_RETRY.attempts


async def test_long_retry_after_is_handed_to_the_caller(scm, control):
    await control.faults(
        rules=[{"path": "/organization/v1", "count": 1, "status": 429, "retry_after": 120}]
    )
    with pytest.raises(ScmRateLimitedError) as limited:
        await scm.list_organizations()
    assert limited.value.retry_after == 120


async def test_revoke_is_never_retried_blindly(scm, control, unique_cn):
    result, _, _ = await enroll(scm, unique_cn)
    await wait_collect(scm, result.ssl_id)
    await control.faults(rules=[{"path": "/ssl/v1/revoke", "count": 1, "status": 503}])
    with pytest.raises(ScmServerError):
        await scm.revoke(result.ssl_id, 0, "test")
    assert await control.calls(f"POST /api/ssl/v1/revoke/{result.ssl_id}") == 1
    assert (await scm.details(result.ssl_id)).status == "Issued"


@pytest.mark.parametrize("mode", ["drop", "502"])
async def test_ambiguous_enroll_recovered_without_duplicate(scm, control, unique_cn, mode):
    await control.faults(drop_after_enroll_count=1, drop_after_enroll_mode=mode)
    result, csr, _ = await enroll(scm, unique_cn)
    assert result.recovered
    assert await control.enrollments_for(csr) == 1
    await wait_collect(scm, result.ssl_id)
    # Asking again with the same marker finds the order instead of placing another.
    request = EnrollRequest(
        org_id=ORG_ID,
        csr=csr,
        cert_type=await profile_id(scm, "InstantSSL"),
        term=365,
        custom_fields=COST_CENTER,
    )
    again = await scm.enroll_once(request, f"certbroker:test-{unique_cn}")
    assert again.ssl_id == result.ssl_id and again.recovered
    assert await control.enrollments_for(csr) == 1


async def test_enroll_5xx_before_processing_enrolls_again_once(scm, control, unique_cn):
    await control.faults(rules=[{"path": "/ssl/v1/enroll", "count": 1, "status": 503}])
    result, csr, _ = await enroll(scm, unique_cn)
    assert not result.recovered
    assert await control.enrollments_for(csr) == 1


class TimeoutAfterSend(httpx.AsyncBaseTransport):
    """Sends the enroll to the real simulator, then reports a read timeout to the client.

    The simulator cannot make a response vanish after it processed the request without closing
    the connection, so this is the one fault simulated on our side of the socket.
    """

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.pending = 1

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path.endswith("/ssl/v1/enroll") and self.pending:
            self.pending -= 1
            await response.aclose()
            raise httpx.ReadTimeout("simulated", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_enroll_timeout_after_processing_is_recovered(sandbox, control, unique_cn):
    async with header_client(sandbox, transport=TimeoutAfterSend()) as scm:
        result, csr, _ = await enroll(scm, unique_cn)
    assert result.recovered
    assert await control.enrollments_for(csr) == 1
