"""Organization rules: creation, updates with write-only secrets, and the backend settings the
issuers get. Never commits."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.names import name_problem, normalise
from app.catalog.policy import OrgPolicy
from app.catalog.products import Backend
from app.crypto.pem import key_matches_certificate
from app.crypto.secretbox import SecretBox
from app.db import utcnow
from app.dns.org_settings import apply_dns, public_settings, runtime_config
from app.egress.policy import EgressPolicy
from app.errors import Conflict, NotFound, Unprocessable
from app.http.pages import DEFAULT_LIMIT, keyset_page
from app.organizations.models import Organization
from app.organizations.schemas import (
    AcmeSettingsIn,
    AcmeSettingsOut,
    OrganizationCreate,
    OrganizationPublic,
    OrganizationUpdate,
    ScmSettingsIn,
    ScmSettingsOut,
)


async def get_organization(session: AsyncSession, org_id: str, tenant_id: str) -> Organization:
    org = await session.get(Organization, org_id)
    if org is None or org.tenant_id != tenant_id:
        raise NotFound(f"organization {org_id} not found")
    return org


async def list_organizations(
    session: AsyncSession,
    tenant_id: str,
    *,
    name: str | None = None,
    sandbox: bool | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> tuple[list[Organization], str | None]:
    """One page of a tenant's organizations by name, and the next page's cursor."""
    query = select(Organization).where(Organization.tenant_id == tenant_id)
    if name:
        query = query.where(func.lower(Organization.name).contains(name.lower(), autoescape=True))
    if sandbox is not None:
        query = query.where(Organization.sandbox == sandbox)  # type: ignore[arg-type]
    return await keyset_page(
        session, query, key=Organization.name, id_column=Organization.id, cursor=cursor, limit=limit
    )


def _domains(domains: list[str]) -> list[str]:
    cleaned = []
    for index, raw in enumerate(domains):
        domain = normalise(raw)
        problem = name_problem(domain)
        if problem or domain.startswith("*."):
            raise Unprocessable.field(
                f"body.allowed_domains.{index}", f"{raw!r}: {problem or 'give the base domain'}"
            )
        cleaned.append(domain)
    return sorted(set(cleaned))


def _apply_scm(org: Organization, scm: ScmSettingsIn, box: SecretBox, egress: EgressPolicy) -> None:
    egress.check_url(scm.base_url, field="body.scm.base_url")
    if scm.token_url:
        egress.check_url(scm.token_url, field="body.scm.token_url")
    secret = scm.password or scm.client_secret
    org.scm = scm.model_dump(exclude={"password", "client_secret", "client_key_pem"})
    if secret is not None:
        org.scm_secret = box.encrypt(secret.get_secret_value(), context=f"org:{org.id}:scm")
    _apply_client_key(org, scm, box)
    if org.scm_secret is None and scm.auth_style != "client_cert":
        needed = "password" if scm.auth_style == "header" else "client_secret"
        raise Unprocessable.field(
            f"body.scm.{needed}", f"required for auth_style {scm.auth_style!r}"
        )


def _apply_client_key(org: Organization, scm: ScmSettingsIn, box: SecretBox) -> None:
    """The client key follows its certificate: a new key is stored, a kept key must fit the
    new certificate, and no certificate means no key."""
    context = f"org:{org.id}:scm-client-key"
    if scm.client_cert_pem is None:
        org.scm_client_key_secret = None
    elif scm.client_key_pem is not None:
        org.scm_client_key_secret = box.encrypt(
            scm.client_key_pem.get_secret_value(), context=context
        )
    elif org.scm_client_key_secret is not None:
        kept = box.decrypt_str(org.scm_client_key_secret, context=context)
        if not key_matches_certificate(kept, scm.client_cert_pem):
            raise Unprocessable.field(
                "body.scm.client_key_pem", "the stored key does not fit this certificate"
            )
    if scm.auth_style == "client_cert":
        if scm.client_cert_pem is None:
            raise Unprocessable.field("body.scm.client_cert_pem", "required for client_cert")
        if org.scm_client_key_secret is None:
            raise Unprocessable.field("body.scm.client_key_pem", "required for client_cert")


def _apply_acme(
    org: Organization, acme: AcmeSettingsIn, box: SecretBox, egress: EgressPolicy
) -> None:
    if not acme.directory_url.lower().startswith("https://"):
        raise Unprocessable.field("body.acme.directory_url", "must use https")
    egress.check_url(acme.directory_url, field="body.acme.directory_url")
    org.acme = acme.model_dump(exclude={"eab_hmac_key"})
    if acme.eab_hmac_key is not None:
        org.acme_eab_secret = box.encrypt(
            acme.eab_hmac_key.get_secret_value(), context=f"org:{org.id}:acme"
        )
    if acme.eab_from_scm and org.scm is None:
        raise Unprocessable.field("body.acme.eab_from_scm", "needs SCM settings to fetch EAB from")


async def create_organization(
    session: AsyncSession,
    tenant_id: str,
    body: OrganizationCreate,
    box: SecretBox,
    egress: EgressPolicy,
) -> Organization:
    org = Organization(tenant_id=tenant_id, name=body.name)
    _apply_policy(org, body.model_dump(exclude={"name", "scm", "acme", "dns"}))
    if body.scm:
        _apply_scm(org, body.scm, box, egress)
    if body.acme:
        _apply_acme(org, body.acme, box, egress)
    if body.dns:
        await apply_dns(org, body.dns, box, egress)
    await _save(session, org)
    return org


async def update_organization(
    session: AsyncSession,
    org: Organization,
    body: OrganizationUpdate,
    box: SecretBox,
    egress: EgressPolicy,
) -> Organization:
    changes = body.model_dump(exclude_unset=True, exclude={"scm", "acme", "dns"})
    if "name" in changes:
        org.name = changes.pop("name")
    _apply_policy(org, changes)
    _clear_nulled_settings(org, body)
    if body.scm:
        _apply_scm(org, body.scm, box, egress)
    if body.acme:
        _apply_acme(org, body.acme, box, egress)
    if body.dns:
        await apply_dns(org, body.dns, box, egress)
    org.updated_at = utcnow()
    await _save(session, org)
    return org


def _clear_nulled_settings(org: Organization, body: OrganizationUpdate) -> None:
    """`"scm": null` (or acme, dns) removes those settings and their stored secrets."""
    nulled = {
        f for f in ("scm", "acme", "dns") if f in body.model_fields_set and getattr(body, f) is None
    }
    if "scm" in nulled:
        if org.acme and org.acme.get("eab_from_scm") and "acme" not in nulled:
            raise Unprocessable.field("body.scm", "acme.eab_from_scm needs the SCM settings")
        org.scm, org.scm_secret, org.scm_client_key_secret = None, None, None
    if "acme" in nulled:
        org.acme, org.acme_eab_secret = None, None
    if "dns" in nulled:
        org.dns_provider, org.dns, org.dns_secret = None, None, None


def _apply_policy(org: Organization, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if key == "allowed_domains":
            value = _domains(value)
        elif key in ("backend_overrides",):
            value = {k: Backend(v).value for k, v in value.items()}
        elif key == "alert_thresholds":
            value = sorted({int(v) for v in value}, reverse=True)
        setattr(org, key, value)


async def _save(session: AsyncSession, org: Organization) -> None:
    # No autoflush: a rename to a taken name would otherwise hit the unique index inside the
    # check that is there to answer it with a 409.
    with session.no_autoflush:
        existing = await session.execute(
            select(func.count())
            .select_from(Organization)
            .where(Organization.tenant_id == org.tenant_id, Organization.name == org.name)
            .where(Organization.id != org.id)
        )
    if existing.scalar_one():
        raise Conflict(f"an organization named {org.name!r} already exists")
    session.add(org)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(f"an organization named {org.name!r} already exists") from None


async def delete_organization(session: AsyncSession, org: Organization) -> None:
    """Delete an organization with what it owns: its domains and their validation history, its
    inventory watermark. Its certificates are the tenant's record of what was issued, so an
    organization that has any is kept (409 saying so), and so is one whose domain validation
    is still running."""
    # Imported here: these modules refer to organizations.
    from app.acme_server.credentials import remove_organization_acme
    from app.certificates.models import Certificate
    from app.domains.service import remove_organization_domains
    from app.inventory.service import forget_organization

    used = await session.execute(
        select(func.count()).select_from(Certificate).where(Certificate.organization_id == org.id)
    )
    if count := used.scalar_one():
        raise Conflict(
            f"the organization has {count} certificate(s), kept as the record of what was "
            "issued; it cannot be deleted"
        )
    await remove_organization_domains(session, org.id)
    await forget_organization(session, org.id)
    await remove_organization_acme(session, org.id)
    await session.flush()
    await session.delete(org)


def to_public(org: Organization, public_base_url: str) -> OrganizationPublic:
    return OrganizationPublic(
        id=org.id,
        acme_directory_url=f"{public_base_url.rstrip('/')}/acme/{org.id}/directory",
        name=org.name,
        sandbox=org.sandbox,
        scm=ScmSettingsOut(
            **_known(org.scm, ScmSettingsOut),
            secret_set=org.scm_secret is not None,
            client_key_set=org.scm_client_key_secret is not None,
        )
        if org.scm
        else None,
        acme=AcmeSettingsOut(
            **_known(org.acme, AcmeSettingsOut), eab_hmac_key_set=org.acme_eab_secret is not None
        )
        if org.acme
        else None,
        dns=public_settings(org),
        allowed_domains=org.allowed_domains,
        catalog=org.catalog,  # type: ignore[arg-type]
        default_terms=org.default_terms,  # type: ignore[arg-type]
        backend_overrides=org.backend_overrides,  # type: ignore[arg-type]
        auto_approve=org.auto_approve,
        approvers=org.approvers,  # type: ignore[arg-type]
        approval_timeout_hours=org.approval_timeout_hours,
        unvalidated_domains=org.unvalidated_domains,  # type: ignore[arg-type]
        alert_thresholds=org.alert_thresholds,
        created_at=org.created_at,
        updated_at=org.updated_at,
    )


def _known(stored: dict[str, Any], schema: type[BaseModel]) -> dict[str, Any]:
    # Rows written before a setting was removed may still hold it: answer what is known.
    return {k: v for k, v in stored.items() if k in schema.model_fields}


def org_policy(org: Organization) -> OrgPolicy:
    return OrgPolicy(
        allowed_domains=tuple(org.allowed_domains),
        catalog=tuple(org.catalog),
        default_terms=dict(org.default_terms),
        backend_overrides={k: Backend(v) for k, v in org.backend_overrides.items()},
        auto_approve=org.auto_approve,
    )


def scm_backend_config(org: Organization, box: SecretBox) -> dict[str, Any]:
    if not org.scm:
        raise Unprocessable.field("body.organization_id", "the organization has no SCM settings")
    config = dict(org.scm)
    if org.scm_secret:
        secret = box.decrypt_str(org.scm_secret, context=f"org:{org.id}:scm")
        config["client_secret" if config.get("auth_style") == "oauth" else "password"] = secret
    if org.scm_client_key_secret:
        config["client_key_pem"] = box.decrypt_str(
            org.scm_client_key_secret, context=f"org:{org.id}:scm-client-key"
        )
    return {k: v for k, v in config.items() if v is not None}


def acme_backend_config(org: Organization, box: SecretBox) -> dict[str, Any]:
    if not org.acme:
        raise Unprocessable.field("body.organization_id", "the organization has no ACME settings")
    broker_only = ("eab_from_scm", "scm_acme_server")
    config = {k: v for k, v in org.acme.items() if v is not None and k not in broker_only}
    if org.acme_eab_secret:
        config["eab_hmac_key"] = box.decrypt_str(org.acme_eab_secret, context=f"org:{org.id}:acme")
    config["account_scope"] = org.id
    if org.dns_provider:
        config["dns_provider"] = org.dns_provider
        config["dns_config"] = dns_config(org, box)
    return config


def dns_config(org: Organization, box: SecretBox) -> dict[str, Any]:
    """The organization's DNS provider config as the provider registry takes it."""
    return runtime_config(org, box)
