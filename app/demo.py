"""`make run`'s first-run set-up: a demo tenant with API clients, credentials kept in var/, and,
with the simulators running, a sandbox organization wired to them."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Scope
from app.db import session_scope
from app.runtime import Runtime
from app.settings import Settings

log = logging.getLogger(__name__)

DEMO_TENANT = "demo"
SANDBOX_ORGANIZATION = "Sandbox (simulators)"
# Pre-validated in the SCM simulator for its organization 1234 (app/sandbox/scm/catalog.py).
SANDBOX_DOMAINS = ["example.com", "example.org"]
SANDBOX_SCM_ORG_ID = 1234
SANDBOX_SCM_CUSTOM_FIELDS = {"costCenter": "42"}  # the simulator's mandatory custom field
APPROVER_SCOPES = [Scope.CERTIFICATES_READ.value, Scope.APPROVALS_WRITE.value]


@dataclass(frozen=True)
class SandboxWiring:
    """Where the local simulators listen; the sandbox organization is pointed at them."""

    scm_base_url: str  # e.g. http://127.0.0.1:8500/api
    acme_directory_url: str  # e.g. https://127.0.0.1:14000/dir
    acme_ca_bundle: str  # path of the CA that signed pebble's HTTPS listener (the sandbox's own)
    eab_kid: str
    eab_hmac_key: str = field(repr=False)
    scm_login: str = "sandbox"
    scm_password: str = field(default="sandbox", repr=False)
    scm_customer_uri: str = "sandbox"

    def organization_settings(self, approver_id: str) -> dict[str, Any]:
        return {
            "allowed_domains": SANDBOX_DOMAINS,
            "scm": {
                "base_url": self.scm_base_url,
                "login": self.scm_login,
                "password": self.scm_password,
                "customer_uri": self.scm_customer_uri,
                "org_id": SANDBOX_SCM_ORG_ID,
                "custom_fields": SANDBOX_SCM_CUSTOM_FIELDS,
            },
            "acme": {
                "directory_url": self.acme_directory_url,
                "eab_kid": self.eab_kid,
                "eab_hmac_key": self.eab_hmac_key,
                "contact_email": "pki@example.com",
                "ca_bundle_pem": Path(self.acme_ca_bundle).read_text()
                if self.acme_ca_bundle
                else None,
                "challenge_types": ["http-01"],
            },
            # The requester may never approve its own EV order, so a second client does.
            "approvers": {"EV": [approver_id]},
        }


async def bootstrap_demo(
    settings: Settings, credentials_file: Path, sandbox: SandboxWiring | None = None
) -> dict[str, Any]:
    """Create the demo tenant, its client and an approver client when missing; with `sandbox`,
    create or re-wire the sandbox organization. Print how to use them either way.

    Client secrets are only known at creation, so they are written to `credentials_file`
    (mode 0600) for later runs; delete the file to get new clients.
    """
    from app.auth.signing_keys import ensure_signing_key
    from app.tenants.service import create_tenant, get_tenant_by_name

    runtime = Runtime.build(settings)
    try:
        async with session_scope(runtime.sessions) as session:
            await ensure_signing_key(session, runtime)
            tenant = await get_tenant_by_name(session, DEMO_TENANT)
            if tenant is None:
                tenant = await create_tenant(session, DEMO_TENANT)
            credentials = _read(credentials_file) or {}
            if credentials.get("tenant_id") != tenant.id:
                credentials = {"tenant_id": tenant.id}
            if "client_id" not in credentials:
                scopes = [scope.value for scope in Scope]
                credentials.update(await _new_client(session, tenant.id, "demo-client", scopes))
            if "approver" not in credentials:
                credentials["approver"] = await _new_client(
                    session, tenant.id, "demo-approver", APPROVER_SCOPES
                )
            if sandbox is not None:
                org_id = await _wire_sandbox_organization(
                    session, runtime, tenant.id, sandbox, credentials["approver"]["client_id"]
                )
                credentials["sandbox_organization_id"] = org_id
            _write(credentials_file, credentials)
    finally:
        await runtime.close()
    _print_usage(settings, credentials_file, credentials)
    return credentials


async def _new_client(
    session: AsyncSession, tenant_id: str, name: str, scopes: list[str]
) -> dict[str, str]:
    from app.clients.service import create_api_client

    client, secret = await create_api_client(session, tenant_id, name, scopes)
    return {"client_id": client.client_id, "client_secret": secret}


async def _wire_sandbox_organization(
    session: AsyncSession,
    runtime: Runtime,
    tenant_id: str,
    sandbox: SandboxWiring,
    approver_id: str,
) -> str:
    """Create the sandbox organization, or point the existing one at today's simulators."""
    from app.acme_state.models import AcmeAccountKey
    from app.domains.sync import queue_domain_sync
    from app.organizations.schemas import OrganizationCreate, OrganizationUpdate
    from app.organizations.service import (
        create_organization,
        list_organizations,
        update_organization,
    )

    wiring = sandbox.organization_settings(approver_id)
    existing = [
        org
        for org in (await list_organizations(session, tenant_id, name=SANDBOX_ORGANIZATION))[0]
        if org.name == SANDBOX_ORGANIZATION
    ]
    if existing:
        org = await update_organization(
            session,
            existing[0],
            OrganizationUpdate.model_validate(wiring),
            runtime.secretbox,
            runtime.egress,
        )
    else:
        org = await create_organization(
            session,
            tenant_id,
            OrganizationCreate.model_validate({"name": SANDBOX_ORGANIZATION, **wiring}),
            runtime.secretbox,
            runtime.egress,
        )
    org.sandbox = True
    session.add(org)
    # The simulator's pre-validated domains (example.com, example.org) show in GET /v1/domains
    # and preflight as soon as the worker has read them.
    await queue_domain_sync(session, org)
    # Pebble forgets its accounts at every start: drop the stored account URL so the broker
    # registers its kept key again instead of using an account pebble no longer knows.
    await session.execute(
        update(AcmeAccountKey).where(AcmeAccountKey.scope == org.id).values(account_url=None)
    )
    log.warning(
        "sandbox organization %s (%s) is wired to the local simulators: SCM %s, ACME %s",
        org.name,
        org.id,
        sandbox.scm_base_url,
        sandbox.acme_directory_url,
    )
    return org.id


def _read(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.exists() else None


def _write(path: Path, credentials: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(credentials, indent=2) + "\n")
    path.chmod(0o600)


def _print_usage(settings: Settings, credentials_file: Path, credentials: dict[str, Any]) -> None:
    base = settings.public_base_url.rstrip("/")
    approver = credentials["approver"]
    lines = [
        "",
        "Certbroker demo tenant",
        f"  client_id:     {credentials['client_id']}   (every scope; orders certificates)",
        f"  client_secret: {credentials['client_secret']}",
        f"  approver:      {approver['client_id']}   (certificates:read approvals:write)",
        f"  approver secret: {approver['client_secret']}",
        f"  (kept in {credentials_file})",
    ]
    if "sandbox_organization_id" in credentials:
        lines.append(
            f"  SANDBOX organization {SANDBOX_ORGANIZATION!r}: "
            f"{credentials['sandbox_organization_id']} (domains {', '.join(SANDBOX_DOMAINS)};"
            " certificates come from the local simulators, not from Sectigo)"
        )
    lines += [
        f"  Swagger UI:    {base}/docs  (Authorize → client credentials)",
        f"  Dashboard:     {base}/dashboard/  (sign in with a client id and secret above)",
        f"  token:         curl -u CLIENT_ID:SECRET -d grant_type=client_credentials"
        f" {base}/oauth/token",
        "",
    ]
    print("\n".join(lines), flush=True)
