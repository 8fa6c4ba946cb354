"""In-process checks of the app (ASGITransport): reset, v2 paths, date patterns, unknown routes."""

from __future__ import annotations

import ssl

import httpx
import pytest

from app.sandbox.scm.app import create_scm_app
from app.sandbox.scm.config import ScmSandboxConfig
from app.sandbox.scm.dates import DateFormatter
from tests.sandbox.orders import enroll_body

HEADERS = {"login": "sandbox", "password": "sandbox", "customerUri": "sandbox"}


@pytest.fixture(scope="module")
def app():
    return create_scm_app(ScmSandboxConfig())


def client(app) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://scm.test", headers=HEADERS)


async def test_reset_forgets_orders_but_keeps_the_ca(app):
    async with client(app) as scm:
        root = (await scm.get("/__sandbox/ca/root.pem")).text
        ssl_id = (await scm.post("/api/ssl/v2/enroll", json=enroll_body())).json()["sslId"]
        assert (await scm.get(f"/api/ssl/v2/{ssl_id}")).status_code == 200
        assert (await scm.post("/__sandbox/reset")).status_code == 204
        assert (await scm.get(f"/api/ssl/v1/{ssl_id}")).status_code == 404
        assert (await scm.get("/__sandbox/counters")).json()["orders"] == 0
        assert (await scm.get("/__sandbox/ca/root.pem")).text == root


async def test_unknown_route_is_error_json(app):
    async with client(app) as scm:
        response = await scm.get("/api/nothing/v1/here")
    assert response.status_code == 404
    assert set(response.json()) == {"code", "description"}


async def test_dropped_connection_without_uvicorn_is_502(app):
    async with client(app) as scm:
        await scm.put("/__sandbox/faults", json={"rules": [{"path": "/ssl", "drop": True}]})
        assert (await scm.get("/api/ssl/v1/types")).status_code == 502
        await scm.delete("/__sandbox/faults")


def test_java_date_patterns():
    moment = 1748000000.123  # 2025-05-23T11:33:20.123Z
    assert DateFormatter(None)(moment) == "05/23/2025"
    assert DateFormatter("iso_hms")(moment) == "2025-05-23T11:33:20.123Z"
    assert DateFormatter("JP")(moment) == "2025/05/23"
    assert DateFormatter("dd.MM.yyyy")(moment) == "23.05.2025"


async def test_mtls_listener_refuses_clients_without_a_certificate(scm_sandbox):
    context = ssl.create_default_context(cafile=str(scm_sandbox.ca_bundle_path))
    async with httpx.AsyncClient(verify=context) as anonymous:
        with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
            await anonymous.get(
                f"{scm_sandbox.private_base_url}/ssl/v1/types", headers=scm_sandbox.private_headers
            )
