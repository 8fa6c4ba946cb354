"""ACME accounts: newAccount with External Account Binding, lookup, update, keyChange."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.acme_server import credentials
from app.acme_server import jws as jose
from app.acme_server.envelope import AcmeAnswer, AcmeRequest
from app.acme_server.models import AccountStatus, AcmeAccount, AcmeCredential
from app.acme_server.problems import AcmeProblem
from app.audit import service as audit
from app.auth.principal import Principal
from app.db import utcnow

MAX_CONTACTS = 10


def acme_principal(tenant_id: str, subject: str) -> Principal:
    """Who an ACME request acts as, in the audit log and on certificate events."""
    return Principal(tenant_id=tenant_id, subject=subject, scopes=frozenset(), issuer="acme")


def account_subject(account: AcmeAccount) -> str:
    return f"acme-account:{account.id}"


def account_json(ctx: AcmeRequest, account: AcmeAccount) -> dict[str, Any]:
    return {
        "status": account.status.value,
        "contact": account.contact,
        "termsOfServiceAgreed": True,
        "orders": ctx.directory.url("account", account.id, "orders"),
    }


def _contacts(payload: dict[str, Any]) -> list[str]:
    contact = payload.get("contact", [])
    if not isinstance(contact, list) or len(contact) > MAX_CONTACTS:
        raise AcmeProblem("malformed", f"contact must be a list of up to {MAX_CONTACTS} URLs")
    for item in contact:
        if not isinstance(item, str) or not item.startswith("mailto:") or len(item) > 320:
            raise AcmeProblem("unsupportedContact", f"only mailto: contacts are accepted: {item!r}")
    return contact


async def _by_thumbprint(ctx: AcmeRequest, thumbprint: str) -> AcmeAccount | None:
    row = await ctx.session.execute(
        select(AcmeAccount).where(
            AcmeAccount.organization_id == ctx.org.id, AcmeAccount.thumbprint == thumbprint
        )
    )
    return row.scalar_one_or_none()


async def new_account(ctx: AcmeRequest) -> AcmeAnswer:
    jwk = jose.canonical_jwk(ctx.jwk)
    payload = ctx.jws.payload_object()
    thumbprint = jose.thumbprint(jwk)
    existing = await _by_thumbprint(ctx, thumbprint)
    if existing is not None:
        location = ctx.directory.url("account", existing.id)
        return AcmeAnswer(200, account_json(ctx, existing), {"Location": location})
    if payload.get("onlyReturnExisting") is True:
        raise AcmeProblem("accountDoesNotExist", "no account with this key in this directory")
    contact = _contacts(payload)
    binding = payload.get("externalAccountBinding")
    if binding is None:
        raise AcmeProblem(
            "externalAccountRequired",
            "this directory needs an external account binding: create EAB credentials with "
            f"POST /v1/organizations/{ctx.org.id}/acme-credentials",
        )
    credential = await _check_binding(ctx, binding, jwk)
    account = AcmeAccount(
        tenant_id=ctx.org.tenant_id,
        organization_id=ctx.org.id,
        credential_id=credential.id,
        jwk=jwk,
        thumbprint=thumbprint,
        contact=contact,
    )
    ctx.session.add(account)
    credential.last_used_at = utcnow()
    try:
        await ctx.session.flush()
    except IntegrityError:  # the same key registered concurrently
        raise AcmeProblem(
            "malformed", "this key was registered at the same moment; retry"
        ) from None
    audit.record(
        ctx.session,
        acme_principal(ctx.org.tenant_id, f"acme-eab:{credential.id}"),
        "acme.account.create",
        "acme_account",
        account.id,
        {"credential_id": credential.id, "organization_id": ctx.org.id, "contact": contact},
    )
    location = ctx.directory.url("account", account.id)
    return AcmeAnswer(201, account_json(ctx, account), {"Location": location})


async def _check_binding(ctx: AcmeRequest, binding: Any, jwk: dict[str, str]) -> AcmeCredential:
    """RFC 8555 §7.3.4: an HMAC JWS by a live credential of this organization over the very
    key that signs the outer request, addressed to this newAccount URL."""
    inner = jose.parse_jws(binding if isinstance(binding, dict) else b"", "externalAccountBinding")
    header = inner.protected
    if "nonce" in header or "jwk" in header:
        raise AcmeProblem("malformed", "the external account binding must carry no nonce or jwk")
    if header.get("url") != ctx.url:
        raise AcmeProblem("unauthorized", "the external account binding's url is not newAccount")
    kid = header.get("kid")
    credential = await ctx.session.get(AcmeCredential, kid) if isinstance(kid, str) else None
    if credential is None or credential.organization_id != ctx.org.id:
        raise AcmeProblem("unauthorized", "unknown external account key id for this directory")
    if credential.revoked_at is not None:
        raise AcmeProblem("unauthorized", "this external account key was revoked")
    jose.verify_mac(inner, credentials.hmac_key(credential, ctx.runtime.secretbox))
    if jose.canonical_jwk(inner.payload) != jwk:
        raise AcmeProblem("unauthorized", "the external account binding is for another key")
    return credential


async def account_resource(ctx: AcmeRequest, account_id: str) -> AcmeAnswer:
    """POST to the account URL: read (empty payload), update contacts, or deactivate."""
    account = ctx.require_account()
    if account.id != account_id:
        raise AcmeProblem("unauthorized", "an account may only read or change itself")
    payload = ctx.jws.payload
    if payload is not None:
        if not isinstance(payload, dict):
            raise AcmeProblem("malformed", "the payload must be a JSON object")
        if "contact" in payload:
            account.contact = _contacts(payload)
        if payload.get("status") == "deactivated":
            account.status = AccountStatus.DEACTIVATED
            audit.record(
                ctx.session,
                acme_principal(account.tenant_id, account_subject(account)),
                "acme.account.deactivate",
                "acme_account",
                account.id,
            )
        elif "status" in payload:
            raise AcmeProblem("malformed", "an account may only set its status to deactivated")
        ctx.session.add(account)
    return AcmeAnswer(200, account_json(ctx, account))


async def key_change(ctx: AcmeRequest) -> AcmeAnswer:
    """RFC 8555 §7.3.5: the outer JWS by the old key, the inner by the new one."""
    account = ctx.require_account()
    inner = jose.parse_jws(ctx.jws.payload_object(), "the keyChange payload")
    jose.check_header(inner, url=ctx.url, expect_nonce=False)
    new_jwk = inner.protected.get("jwk")
    if new_jwk is None:
        raise AcmeProblem("malformed", "the inner JWS must carry the new key as jwk")
    jose.verify(inner, jose.public_key(new_jwk))
    payload = inner.payload_object()
    if payload.get("account") != ctx.jws.protected.get("kid"):
        raise AcmeProblem("malformed", "the inner payload names another account")
    if jose.canonical_jwk(payload.get("oldKey")) != jose.canonical_jwk(account.jwk):
        raise AcmeProblem("malformed", "oldKey is not the account's current key")
    new_thumbprint = jose.thumbprint(new_jwk)
    taken = await _by_thumbprint(ctx, new_thumbprint)
    if taken is not None:
        location = ctx.directory.url("account", taken.id)
        raise AcmeProblem(
            "malformed",
            "the new key belongs to another account",
            status=409,
            headers={"Location": location},
        )
    account.jwk, account.thumbprint = jose.canonical_jwk(new_jwk), new_thumbprint
    ctx.session.add(account)
    audit.record(
        ctx.session,
        acme_principal(account.tenant_id, account_subject(account)),
        "acme.account.key_change",
        "acme_account",
        account.id,
        {"thumbprint": new_thumbprint},
    )
    return AcmeAnswer(200, account_json(ctx, account))
