"""EAB credentials: issue (the HMAC key shown once, kept encrypted), list, revoke, look up."""

from __future__ import annotations

import secrets

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.acme_server.jws import b64url, b64url_decode
from app.acme_server.models import (
    AcmeAccount,
    AcmeAuthorization,
    AcmeChallenge,
    AcmeCredential,
    AcmeOrder,
)
from app.acme_server.schemas import AcmeCredentialCreate
from app.auth.principal import Principal
from app.catalog import policy
from app.catalog.names import covered_by, normalise
from app.catalog.products import PRODUCTS, Backend, ValidationLevel, get_product
from app.crypto.secretbox import SecretBox
from app.db import new_id, utcnow
from app.errors import Conflict, NotFound, Unprocessable
from app.http.pages import keyset_page
from app.organizations.models import Organization
from app.organizations.service import org_policy


def default_product(org: Organization) -> str:
    """The organization's DV product: the first DV product of its catalog, else PositiveSSL."""
    for code in org.catalog:
        product = PRODUCTS.get(code)
        if product and product.validation_level is ValidationLevel.DV:
            return code
    return "positivessl"


def credential_context(credential: AcmeCredential) -> str:
    return f"acme-credential:{credential.id}"


def create_credential(
    session: AsyncSession,
    org: Organization,
    body: AcmeCredentialCreate,
    principal: Principal,
    box: SecretBox,
) -> tuple[AcmeCredential, str]:
    """A new credential and its HMAC key (base64url, no padding), which is never shown again."""
    code = body.product or default_product(org)
    product = get_product(code)
    rules = org_policy(org)
    problems = policy.check_product(product, code, rules)
    if product is not None and not problems:
        backend = policy.route(product, rules)
        if not (org.acme if backend is Backend.ACME else org.scm):
            problems.append(
                policy.FieldProblem(
                    "body.product",
                    f"the organization has no {backend.value.upper()} settings, needed for "
                    f"{product.name}",
                    "backend",
                )
            )
    domains = [normalise(d) for d in body.allowed_domains]
    for index, domain in enumerate(domains):
        if not any(covered_by(domain, allowed) for allowed in org.allowed_domains):
            problems.append(
                policy.FieldProblem(
                    f"body.allowed_domains.{index}",
                    f"{domain!r} is not under the organization's allowed domains",
                    "domain_not_allowed",
                )
            )
    if problems:
        raise Unprocessable(
            "; ".join(f"{p.field}: {p.message}" for p in problems),
            errors=[
                {"loc": p.field.split("."), "field": p.field, "msg": p.message, "type": p.kind}
                for p in problems
            ],
        )
    key = b64url(secrets.token_bytes(32))
    while key.startswith("-"):  # a leading "-" reads as an option to certbot's and lego's CLIs
        key = b64url(secrets.token_bytes(32))
    credential = AcmeCredential(
        id=new_id(),
        tenant_id=org.tenant_id,
        organization_id=org.id,
        name=body.name,
        product=code,
        allowed_domains=domains,
        hmac_key="",
        created_by=principal.subject,
    )
    credential.hmac_key = box.encrypt(key, context=credential_context(credential))
    session.add(credential)
    return credential, key


async def list_credentials(
    session: AsyncSession, org: Organization, cursor: str | None, limit: int
) -> tuple[list[AcmeCredential], str | None]:
    return await keyset_page(
        session,
        select(AcmeCredential).where(AcmeCredential.organization_id == org.id),
        key=AcmeCredential.created_at,
        id_column=AcmeCredential.id,
        cursor=cursor,
        limit=limit,
    )


async def get_credential(
    session: AsyncSession, org: Organization, credential_id: str
) -> AcmeCredential:
    credential = await session.get(AcmeCredential, credential_id)
    if credential is None or credential.organization_id != org.id:
        raise NotFound(f"ACME credential {credential_id} not found")
    return credential


def revoke_credential(credential: AcmeCredential) -> None:
    """Accounts bound to a revoked credential stop working at their next request."""
    if credential.revoked_at is not None:
        raise Conflict("the credential is already revoked")
    credential.revoked_at = utcnow()


def hmac_key(credential: AcmeCredential, box: SecretBox) -> bytes:
    return b64url_decode(
        box.decrypt_str(credential.hmac_key, context=credential_context(credential))
    )


def directory_url(base_url: str, org_id: str) -> str:
    return f"{base_url.rstrip('/')}/acme/{org_id}/directory"


async def remove_organization_acme(session: AsyncSession, org_id: str) -> None:
    """Everything the organization's directory holds; called when it has no certificates left."""
    orders = select(AcmeOrder.id).where(AcmeOrder.organization_id == org_id)
    authzs = select(AcmeAuthorization.id).where(AcmeAuthorization.order_id.in_(orders))  # type: ignore[attr-defined]
    await session.execute(delete(AcmeChallenge).where(AcmeChallenge.authorization_id.in_(authzs)))  # type: ignore[attr-defined]
    await session.execute(delete(AcmeAuthorization).where(AcmeAuthorization.order_id.in_(orders)))  # type: ignore[attr-defined]
    await session.execute(delete(AcmeOrder).where(AcmeOrder.organization_id == org_id))
    await session.execute(delete(AcmeAccount).where(AcmeAccount.organization_id == org_id))
    await session.execute(delete(AcmeCredential).where(AcmeCredential.organization_id == org_id))
