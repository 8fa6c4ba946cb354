"""The broker as an ACME server in its own environment (tests/acme_server and
bench/acme_facade.py): a PostgreSQL database, the API over HTTP on a free port (its public
URL, so the directory's URLs are the ones clients reach), a worker, pebble as the upstream CA
(the SCM simulator too, through its own fixture), challtestsrv as everyone's DNS.

Its own database and queue, so the session's other workers never take these jobs (the relay
is database-wide) and this worker never takes theirs.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlmodel import SQLModel

from app.db import create_engine
from app.main import create_app
from app.models import import_all_models
from app.runtime import Runtime
from app.settings import Settings
from app.wiring import register_backends
from tests.auth.factories import TENANT_SCOPES, fetch_token, new_client, new_tenant
from tests.fixtures.acme_servers import ChallTestSrv, PebbleServer, free_port
from tests.fixtures.app import SESSION_TAG, create_pg_database, drop_pg_database, make_settings
from tests.in_process_worker import in_process_worker


@dataclass
class AcmeEnv:
    url: str
    api_port: int
    settings: Settings
    runtime: Runtime
    http01_port: int  # where the broker fetches clients' HTTP-01 answers
    challtestsrv: ChallTestSrv
    pebble: PebbleServer
    tenant_id: str
    http: httpx.AsyncClient
    tokens: dict[str, str]  # role -> bearer token
    ids: dict[str, str]  # role -> API client id

    def as_(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def directory(self, org_id: str) -> str:
        return f"{self.url}/acme/{org_id}/directory"

    async def create_org(self, **body: Any) -> dict[str, Any]:
        body.setdefault("name", f"org-{uuid.uuid4().hex[:8]}")
        answer = await self.http.post("/v1/organizations", json=body, headers=self.as_("admin"))
        assert answer.status_code == 201, answer.text
        return answer.json()

    async def credential(self, org_id: str, **body: Any) -> dict[str, Any]:
        answer = await self.http.post(
            f"/v1/organizations/{org_id}/acme-credentials", json=body, headers=self.as_("admin")
        )
        assert answer.status_code == 201, answer.text
        return answer.json()

    def acme_settings(self, pebble: PebbleServer | None = None) -> dict[str, Any]:
        pebble = pebble or self.pebble
        return {
            "directory_url": pebble.directory_url,
            "eab_kid": pebble.eab_kid,
            "eab_hmac_key": pebble.eab_keys[pebble.eab_kid],
            "contact_email": "pki@example.com",
            "ca_bundle_pem": Path(pebble.ca_bundle).read_text(),
            "challenge_types": ["http-01"],
        }


@asynccontextmanager
async def acme_environment(
    challtestsrv: ChallTestSrv, start_pebble: Callable[[int], PebbleServer]
) -> AsyncIterator[AcmeEnv]:
    """`start_pebble(api_port)` starts the upstream pebble, validating HTTP-01 at that port."""
    import_all_models()
    db_name = f"certbroker_acme_{SESSION_TAG}_{uuid.uuid4().hex[:6]}"
    database_url = await create_pg_database(db_name)
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    await engine.dispose()

    port, http01_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    settings = make_settings(
        database_url,
        public_base_url=url,
        acme_server={
            "http01_port": http01_port,
            "resolvers": [challtestsrv.dns_server],
            "retry_after_seconds": 1,
            "validation_timeout_seconds": 5,
        },
    )
    runtime = Runtime.build(settings)
    register_backends(runtime)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, runtime), host="127.0.0.1", port=port, log_config=None)
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    # Pebble validates the broker's own upstream HTTP-01 at the broker's API port.
    pebble = start_pebble(port)

    async with in_process_worker(settings), httpx.AsyncClient(base_url=url, timeout=30) as http:
        tenant = await new_tenant(runtime, "acme")
        roles = {
            "requester": [s for s in TENANT_SCOPES if s != "approvals:write"],
            "approver": ["certificates:read", "approvals:write"],
            "admin": TENANT_SCOPES,
        }
        tokens, ids = {}, {}
        for role, scopes in roles.items():
            _, client_id, secret = await new_client(runtime, tenant.id, scopes)
            answer = await fetch_token(http, client_id, secret)
            assert answer.status_code == 200, answer.text
            tokens[role], ids[role] = answer.json()["access_token"], client_id
        yield AcmeEnv(
            url,
            port,
            settings,
            runtime,
            http01_port,
            challtestsrv,
            pebble,
            tenant.id,
            http,
            tokens,
            ids,
        )

    server.should_exit = True
    await serving
    await runtime.close()
    await drop_pg_database(db_name)
