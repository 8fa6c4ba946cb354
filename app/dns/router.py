"""DNS-01 settings help: the providers on offer, and a check of an organization's settings."""

from __future__ import annotations

from fastapi import APIRouter

from app.auth.dependencies import TenantAdmin, require_scopes
from app.auth.principal import Scope
from app.deps import DbSession, RuntimeDep
from app.dns.check import run_check
from app.dns.lexicon_catalog import catalog
from app.dns.org_settings import runtime_config
from app.dns.schemas import (
    DnsCheckReport,
    DnsCheckRequest,
    DnsProviderEntry,
    DnsProviderList,
    DnsProviderOption,
    Rfc2136SettingsIn,
)
from app.dns.tenant_slots import tenant_slots
from app.errors import Conflict, Unprocessable
from app.http.routing import GuardedRoute
from app.organizations.service import get_organization

router = APIRouter(prefix="/v1", tags=["dns"], route_class=GuardedRoute)

Reader = require_scopes(Scope.CERTIFICATES_READ)


def _native() -> list[DnsProviderEntry]:
    fields = Rfc2136SettingsIn.model_fields
    rfc2136 = [
        DnsProviderOption(
            name=name,
            help=field.description or "",
            secret=name == "tsig_secret",
            required=field.is_required(),
        )
        for name, field in fields.items()
        if name != "provider"
    ]
    return [DnsProviderEntry(name="rfc2136", kind="native", available=True, options=rfc2136)]


@router.get("/dns/providers", operation_id="dns_providers_list", response_model=DnsProviderList)
async def list_dns_providers(caller: Reader) -> DnsProviderList:
    """The DNS providers an organization's `dns` settings may name: `rfc2136` natively, and
    every provider API of dns-lexicon (`"provider": "lexicon", "lexicon_provider": NAME`) with
    the options it takes. Secret options go in `credentials`."""
    entries = _native()
    for info in catalog().values():
        entries.append(
            DnsProviderEntry(
                name=info.name,
                kind="lexicon",
                available=info.available,
                options=[
                    DnsProviderOption(
                        name=o.name, help=o.help, secret=o.secret, required=o.required
                    )
                    for o in info.options
                ],
            )
        )
    return DnsProviderList(providers=entries)


@router.post(
    "/organizations/{organization_id}/dns/check",
    operation_id="organizations_dns_check",
    response_model=DnsCheckReport,
    responses={
        404: {"description": "No such organization in your tenant"},
        409: {"description": "The organization has no DNS settings"},
    },
)
async def check_dns(
    organization_id: str,
    body: DnsCheckRequest,
    session: DbSession,
    runtime: RuntimeDep,
    caller: TenantAdmin,
) -> DnsCheckReport:
    """Try the organization's DNS settings without ordering anything: create a test TXT record
    through the configured provider, confirm the zone's authoritative servers serve it, delete
    it; each step is reported (`ok: false` and the step that failed when the settings do not
    work). Bounded in time; a tenant runs a few checks at once at most (429 beyond)."""
    org = await get_organization(session, organization_id, caller.tenant_id)
    if not org.dns_provider:
        raise Conflict(f"organization {org.name!r} has no DNS settings to check")
    kind = org.dns_provider
    config = runtime_config(org, runtime.secretbox)
    stored = org.dns or {}
    name = body.name or stored.get("zone") or (org.allowed_domains or [None])[0]
    if not name and kind != "cname-delegation":
        raise Unprocessable.field(
            "body.name", "give a name in the zone to test (the settings name no zone)"
        )
    # Nothing is written by this request: end its transaction so no database connection is
    # held while DNS servers and provider APIs (which the tenant chose) take their time.
    await session.commit()
    async with tenant_slots(runtime).slot(caller.tenant_id):
        return await run_check(
            runtime.dns_providers,
            kind,
            config,
            str(name or ""),
            runtime.settings.dns.check_timeout_seconds,
        )
