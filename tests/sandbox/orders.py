"""Test orders: a valid enroll body for a fresh, pre-validated name, and waiting for a status."""

from __future__ import annotations

import asyncio
import uuid

from tests.sandbox.csrs import make_csr, unique_host


def enroll_body(common_name: str | None = None, **overrides) -> dict:
    """A valid InstantSSL enroll for a pre-validated name, with the mandatory custom field."""
    name = common_name or unique_host()
    body = {
        "orgId": 1234,
        "csr": make_csr(name),
        "certType": 224,
        "term": 365,
        "subjAltNames": name,
        "comments": f"marker-{uuid.uuid4().hex}",
        "customFields": [{"name": "costCenter", "value": "42"}],
    }
    return body | overrides


async def wait_for_status(scm, ssl_id: int, status: str, attempts: int = 100) -> dict:
    for _ in range(attempts):
        details = (await scm.get(f"/ssl/v1/{ssl_id}")).json()
        if details["status"] == status:
            return details
        await asyncio.sleep(0.05)
    raise AssertionError(f"order {ssl_id} never reached {status}: {details['status']}")
