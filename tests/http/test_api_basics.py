"""Problem documents for every kind of error, health probes, request ids, logs, docs, spec drift."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest

from app.main import create_app
from app.openapi_export import build_spec, render
from app.runtime import Runtime
from app.settings import Settings
from tests.auth.factories import new_actor

ROOT = Path(__file__).resolve().parents[2]


def assert_problem(answer: httpx.Response, status: int) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["status"] == status
    assert body["type"].startswith("https://") and body["title"] and body["detail"]
    assert body["instance"].startswith("/")
    return body


async def test_problem_shapes(api: httpx.AsyncClient, runtime: Runtime) -> None:
    actor = await new_actor(runtime, api)
    # 401: no token, with a WWW-Authenticate challenge
    body = assert_problem(await api.get("/v1/certificates"), 401)
    assert "bearer" in body["detail"].lower()
    # 403: a scope the client lacks
    reader = await new_actor(runtime, api, scopes=["certificates:read"])
    forbidden = await api.post(
        "/v1/clients", json={"name": "x", "scopes": []}, headers=reader.headers
    )
    assert_problem(forbidden, 403)
    # 404: unknown route and unknown object
    assert_problem(await api.get("/v1/nothing-here", headers=actor.headers), 404)
    assert_problem(await api.get("/v1/certificates/0000", headers=actor.headers), 404)
    # 405
    assert_problem(await api.put("/v1/certificates", headers=actor.headers), 405)
    # 409: a duplicate organization name
    org = {"name": "dup", "allowed_domains": ["example.com"]}
    assert (await api.post("/v1/organizations", json=org, headers=actor.headers)).status_code == 201
    assert_problem(await api.post("/v1/organizations", json=org, headers=actor.headers), 409)
    # 422: request validation, naming the field
    bad = assert_problem(
        await api.post("/v1/organizations", json={"name": ""}, headers=actor.headers), 422
    )
    assert bad["errors"][0]["field"] == "body.name"
    assert {"loc", "field", "msg", "type"} <= set(bad["errors"][0])
    not_json = await api.post(
        "/v1/organizations",
        content=b"{",
        headers={**actor.headers, "content-type": "application/json"},
    )
    assert_problem(not_json, 422)


async def test_rate_limit_is_a_429_with_retry_after(settings: Settings, runtime: Runtime) -> None:
    limited = Settings(**{**settings.model_dump(), "rate_limit_per_minute": 3})
    limited_runtime = Runtime(**{**runtime.__dict__, "settings": limited})
    app = create_app(limited, limited_runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        actor = await new_actor(runtime, client)
        answers = [await client.get("/v1/organizations", headers=actor.headers) for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    body = assert_problem(answers[3], 429)
    assert int(answers[3].headers["retry-after"]) > 0
    assert "more than 3 requests" in body["detail"]


async def test_health_and_readiness(api: httpx.AsyncClient, settings: Settings) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    ready = await api.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "redis": "ok"}
    broken = Settings(**{**settings.model_dump(), "redis_url": "redis://127.0.0.1:1/0"})
    runtime = Runtime.build(broken)
    app = create_app(broken, runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        body = assert_problem(await client.get("/readyz"), 503)
    await runtime.close()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("failed")
    assert "redis" in body["detail"]


async def test_request_id_is_accepted_and_returned(api: httpx.AsyncClient) -> None:
    answer = await api.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert answer.headers["x-request-id"] == "abc-123"
    generated = await api.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert generated.headers["x-request-id"] != "bad id with spaces"
    assert len(generated.headers["x-request-id"]) == 32


async def test_no_secret_reaches_the_logs(
    api: httpx.AsyncClient, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    from app.logs import JsonFormatter

    caplog.set_level(logging.DEBUG)
    actor = await new_actor(runtime, api)
    created = await api.post(
        "/v1/organizations",
        json={
            "name": "secrets",
            "allowed_domains": ["example.com"],
            "scm": {
                "base_url": "http://127.0.0.1:9/api",
                "login": "l",
                "password": "scm-password-VALUE",
                "customer_uri": "c",
                "org_id": 1,
            },
            "acme": {
                "directory_url": "https://127.0.0.1:9/dir",
                "eab_kid": "kid",
                "eab_hmac_key": "eab-hmac-VALUE",
            },
        },
        headers=actor.headers,
    )
    assert created.status_code == 201, created.text
    assert "scm-password-VALUE" not in created.text and "eab-hmac-VALUE" not in created.text
    assert created.json()["scm"]["secret_set"] and created.json()["acme"]["eab_hmac_key_set"]
    client = await api.post(
        "/v1/clients", json={"name": "c", "scopes": ["certificates:read"]}, headers=actor.headers
    )
    secret = client.json()["client_secret"]
    token = await api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client.json()["client_id"], secret),
    )
    access = token.json()["access_token"]
    logging.getLogger("certbroker.test").info(
        "leaky %s and Bearer %s password=%s", access, access, "hunter2"
    )
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    text = "\n".join(lines)
    for secret_value in (
        secret,
        access,
        actor.secret,
        actor.token,
        "scm-password-VALUE",
        "eab-hmac-VALUE",
        "hunter2",
    ):
        assert secret_value not in text
    assert all(json.loads(line) for line in lines)
    # Stored encrypted, not in clear.
    from app.organizations.models import Organization

    async with runtime.sessions() as session:
        org = await session.get(Organization, created.json()["id"])
    assert org is not None and "scm-password-VALUE" not in (org.scm_secret or "")
    assert org.scm_secret.startswith("v1:") and "eab-hmac-VALUE" not in (org.acme_eab_secret or "")


async def test_docs_are_served_without_a_cdn(api: httpx.AsyncClient) -> None:
    docs = await api.get("/docs")
    assert docs.status_code == 200
    assert "/docs-assets/swagger-ui-bundle.js" in docs.text and "cdn" not in docs.text.lower()
    assert "oauth2RedirectUrl" in docs.text and "initOAuth" in docs.text
    redoc = await api.get("/redoc")
    assert "/docs-assets/redoc.standalone.js" in redoc.text and "fonts.googleapis" not in redoc.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        assert (await api.get(f"/docs-assets/{asset}")).status_code == 200


def test_committed_spec_matches_the_app() -> None:
    as_json, as_yaml = render(build_spec())
    committed_json = (ROOT / "openapi" / "openapi.json").read_text()
    committed_yaml = (ROOT / "openapi" / "openapi.yaml").read_text()
    assert committed_json == as_json, "openapi.json drifted from the app: run `make openapi`"
    assert committed_yaml == as_yaml, "openapi.yaml drifted from the app: run `make openapi`"


def test_spec_is_sdk_friendly() -> None:
    spec = build_spec()
    operation_ids = [
        op["operationId"]
        for path in spec["paths"].values()
        for op in path.values()
        if isinstance(op, dict) and "operationId" in op
    ]
    assert len(operation_ids) == len(set(operation_ids))
    assert {"certificates_create", "jobs_get", "oauth_token", "approvals_approve"} <= set(
        operation_ids
    )
    assert all("_" in op and op == op.lower() for op in operation_ids)
    schemes = spec["components"]["securitySchemes"]
    assert schemes["oauth2"]["flows"]["clientCredentials"]["tokenUrl"] == "/oauth/token"
    assert schemes["bearer"]["scheme"] == "bearer"
    create = spec["paths"]["/v1/certificates"]["post"]
    assert {"oauth2", "bearer"} <= {name for item in create["security"] for name in item}
    assert spec["components"]["schemas"]["CertificateCreate"].get("examples")
