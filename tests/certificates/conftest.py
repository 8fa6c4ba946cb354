"""End-to-end environment: the API over real HTTP, a real worker, pebble and the SCM simulator.

Pebble validates HTTP-01 against the API's own port, so the broker answers challenges from its
database exactly as in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

from app.main import create_app
from app.runtime import Runtime
from app.settings import Settings
from app.worker import build_worker
from tests.auth.factories import TENANT_SCOPES, fetch_token, new_client, new_tenant
from tests.fixtures.pebble import PebbleServer, free_port
from tests.fixtures.scm_sandbox import ScmSandbox


@dataclass
class LiveApi:
    url: str
    port: int


@pytest.fixture(scope="session")
async def live_api(settings: Settings, runtime: Runtime) -> AsyncIterator[LiveApi]:
    port = free_port()
    app = create_app(settings, runtime)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield LiveApi(url=f"http://127.0.0.1:{port}", port=port)
    server.should_exit = True
    await task


@pytest.fixture(scope="session")
async def worker(settings: Settings) -> AsyncIterator[None]:
    arq_worker = build_worker(settings, handle_signals=False, poll_delay=0.05)
    task = asyncio.create_task(arq_worker.async_run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await arq_worker.close()


@pytest.fixture(scope="session")
def broker_pebble(pebble_factory: Any, live_api: LiveApi) -> PebbleServer:
    """A pebble whose HTTP-01 validations reach the broker's API port."""
    return pebble_factory(http_port=live_api.port)


@dataclass
class Tenant:
    """A tenant with API clients for each role, and their tokens."""

    id: str
    http: httpx.AsyncClient
    ids: dict[str, str]  # role -> API client id (the principal's subject)
    tokens: dict[str, str]

    def as_(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture
async def tenant(runtime: Runtime, live_api: LiveApi, worker: None) -> AsyncIterator[Tenant]:
    """A fresh tenant: `requester` (everything but approvals), `approver`, `admin`."""
    async with httpx.AsyncClient(base_url=live_api.url, timeout=30) as http:
        row = await new_tenant(runtime, "e2e")
        tokens: dict[str, str] = {}
        ids: dict[str, str] = {}
        roles = {
            "requester": [s for s in TENANT_SCOPES if s != "approvals:write"],
            "approver": ["certificates:read", "approvals:write"],
            "admin": TENANT_SCOPES,
        }
        for role, scopes in roles.items():
            _, client_id, secret = await new_client(runtime, row.id, scopes)
            answer = await fetch_token(http, client_id, secret)
            assert answer.status_code == 200, answer.text
            tokens[role], ids[role] = answer.json()["access_token"], client_id
        yield Tenant(id=row.id, http=http, ids=ids, tokens=tokens)


def scm_settings(scm: ScmSandbox, **overrides: Any) -> dict[str, Any]:
    return {
        "base_url": scm.base_url,
        "login": scm.login,
        "password": scm.password,
        "customer_uri": scm.customer_uri,
        "org_id": 1234,
        "custom_fields": {"costCenter": "42"},
        **overrides,
    }


def acme_settings(pebble: PebbleServer) -> dict[str, Any]:
    return {
        "directory_url": pebble.directory_url,
        "eab_kid": pebble.eab_kid,
        "eab_hmac_key": pebble.eab_keys[pebble.eab_kid],
        "contact_email": "pki@example.com",
        "ca_bundle": pebble.ca_bundle,
        "challenge_types": ["http-01"],
    }


async def create_org(tenant: Tenant, **body: Any) -> dict[str, Any]:
    body.setdefault("name", f"org-{uuid.uuid4().hex[:8]}")
    answer = await tenant.http.post("/v1/organizations", json=body, headers=tenant.as_("admin"))
    assert answer.status_code == 201, answer.text
    return answer.json()


async def wait_for_status(
    tenant: Tenant, cert_id: str, statuses: set[str], timeout: float = 45.0
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        answer = await tenant.http.get(
            f"/v1/certificates/{cert_id}", headers=tenant.as_("requester")
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        if body["status"] in statuses:
            return body
        if asyncio.get_running_loop().time() > deadline:
            events = await tenant.http.get(
                f"/v1/certificates/{cert_id}/events", headers=tenant.as_("requester")
            )
            raise AssertionError(f"status {body['status']} after {timeout}s; events: {events.text}")
        await asyncio.sleep(0.1)
