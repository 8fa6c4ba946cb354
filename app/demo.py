"""`make run`'s first-run set-up: a demo tenant with an API client, credentials kept in var/."""

from __future__ import annotations

import json
from pathlib import Path

from app.auth.principal import Scope
from app.db import session_scope
from app.runtime import Runtime
from app.settings import Settings

DEMO_TENANT = "demo"


async def bootstrap_demo(settings: Settings, credentials_file: Path) -> dict[str, str]:
    """Create the demo tenant and client when missing; print how to use them either way.

    The client secret is only known at creation, so it is written to `credentials_file`
    (mode 0600) for later runs; delete the file and the client to start over.
    """
    from app.auth.signing_keys import ensure_signing_key
    from app.clients.service import create_api_client
    from app.tenants.service import create_tenant, get_tenant_by_name

    runtime = Runtime.build(settings)
    try:
        async for session in session_scope(runtime.sessions):
            await ensure_signing_key(session, runtime)
            tenant = await get_tenant_by_name(session, DEMO_TENANT)
            if tenant is None or not credentials_file.exists():
                if tenant is None:
                    tenant = await create_tenant(session, DEMO_TENANT)
                client, secret = await create_api_client(
                    session, tenant.id, "demo-client", [scope.value for scope in Scope]
                )
                credentials = {
                    "tenant_id": tenant.id,
                    "client_id": client.client_id,
                    "client_secret": secret,
                }
                credentials_file.parent.mkdir(parents=True, exist_ok=True)
                credentials_file.write_text(json.dumps(credentials, indent=2) + "\n")
                credentials_file.chmod(0o600)
    finally:
        await runtime.close()
    credentials = json.loads(credentials_file.read_text())
    base = settings.public_base_url.rstrip("/")
    print(
        "\nCertbroker demo tenant\n"
        f"  client_id:     {credentials['client_id']}\n"
        f"  client_secret: {credentials['client_secret']}\n"
        f"  (kept in {credentials_file})\n"
        f"  Swagger UI:    {base}/docs  (Authorize → client credentials)\n"
        f"  token:         curl -u CLIENT_ID:SECRET -d grant_type=client_credentials"
        f" {base}/oauth/token\n"
    )
    return credentials
