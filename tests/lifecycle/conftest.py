"""Lifecycle test helpers: rows made directly in the database (for the rules that need no CA),
a short-lived-certificate pebble for the end-to-end renewals, and a second tenant's token."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest

from app.certificates.models import Certificate, CertificateSource, CertificateStatus, names_text
from app.db import utcnow
from app.organizations.models import Organization
from app.runtime import Runtime
from tests.auth.factories import TENANT_SCOPES, fetch_token, new_client, new_tenant
from tests.fixtures.e2e import LiveApi
from tests.fixtures.pebble import PebbleServer

SHORT_LIFETIME = 3600  # seconds; the renewal window is then 40 minutes (two thirds)


@pytest.fixture(scope="session")
def short_pebble(pebble_factory: Any, live_api: LiveApi) -> PebbleServer:
    """A pebble issuing one-hour certificates, validating HTTP-01 against the broker's API."""
    return pebble_factory(http_port=live_api.port, validity_seconds=SHORT_LIFETIME)


async def make_org(runtime: Runtime, tenant_id: str, **values: Any) -> Organization:
    org = Organization(
        tenant_id=tenant_id,
        name=f"org-{uuid.uuid4().hex[:8]}",
        allowed_domains=["example.org"],
        **values,
    )
    async with runtime.sessions() as session:
        session.add(org)
        await session.commit()
    return org


async def make_issued(
    runtime: Runtime,
    org: Organization,
    *,
    not_before: dt.datetime,
    not_after: dt.datetime,
    backend: str = "acme",
    source: CertificateSource = CertificateSource.BROKER,
    **values: Any,
) -> Certificate:
    """An issued certificate row; its names are outside the org's allowed domains, so a renewal
    the worker might pick up is refused at ordering instead of reaching a CA."""
    name = f"{uuid.uuid4().hex[:8]}.example.com"
    cert = Certificate(
        tenant_id=org.tenant_id,
        organization_id=org.id,
        product="positivessl",
        validation_level="DV",
        backend=backend,
        common_name=name,
        names=[name],
        names_text=names_text([name]),
        term_days=90,
        key_type="EC-P256",
        key_source="csr",
        csr_pem="",
        public_key_sha256="",
        requested_by="test",
        status=CertificateStatus.ISSUED,
        not_before=not_before,
        not_after=not_after,
        leaf_pem="(not read: the ARI in these tests is a fake)",
        issued_at=utcnow(),
        source=source,
        **values,
    )
    async with runtime.sessions() as session:
        session.add(cert)
        await session.commit()
    return cert


async def other_tenant_headers(runtime: Runtime, http: httpx.AsyncClient) -> dict[str, str]:
    row = await new_tenant(runtime, "lc-other")
    _, client_id, secret = await new_client(runtime, row.id, TENANT_SCOPES)
    answer = await fetch_token(http, client_id, secret)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}
