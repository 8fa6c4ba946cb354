"""ACME orders on the broker's own ordering path: newOrder runs the REST API's policy, finalize
places the certificate through `request_certificate`, and the order follows that certificate.

An order's state after finalize is read from its certificate (approval, issuance, rejection),
so the ACME view and `GET /v1/certificates/{id}` can never disagree.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pydantic import ValidationError
from sqlalchemy import select

from app.acme_server import ari
from app.acme_server.accounts import account_subject, acme_principal
from app.acme_server.envelope import AcmeAnswer, AcmeRequest
from app.acme_server.jws import b64url_decode
from app.acme_server.models import (
    AcmeAuthorization,
    AcmeChallenge,
    AcmeOrder,
    AuthzStatus,
    OrderStatus,
)
from app.acme_server.problems import AcmeProblem, problem_document, subproblem
from app.audit import service as audit
from app.auth.principal import Principal, Scope
from app.catalog.names import covered_by, normalise
from app.certificates import ordering
from app.certificates.models import Certificate, CertificateStatus
from app.certificates.schemas import CertificateCreate
from app.db import utcnow
from app.domains.service import unvalidated_names
from app.errors import AppError, Unprocessable

MAX_IDENTIFIERS = 100
MAX_LISTED_ORDERS = 1000
FAILED = (CertificateStatus.FAILED, CertificateStatus.REJECTED)


def order_json(ctx: AcmeRequest, order: AcmeOrder, authz_ids: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": order.status.value,
        "expires": _rfc3339(order.expires),
        "identifiers": [{"type": "dns", "value": name} for name in order.names],
        "authorizations": [ctx.directory.url("authz", i) for i in authz_ids],
        "finalize": ctx.directory.url("order", order.id, "finalize"),
    }
    if order.status is OrderStatus.VALID and order.certificate_id:
        body["certificate"] = ctx.directory.url("cert", order.certificate_id)
    if order.error:
        body["error"] = order.error
    if order.replaces:
        body["replaces"] = order.replaces
    return body


def _rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _identifiers(payload: dict[str, Any]) -> list[str]:
    identifiers = payload.get("identifiers")
    if not isinstance(identifiers, list) or not identifiers or len(identifiers) > MAX_IDENTIFIERS:
        raise AcmeProblem("malformed", f"identifiers must list 1 to {MAX_IDENTIFIERS} names")
    names: list[str] = []
    for item in identifiers:
        if not isinstance(item, dict) or not isinstance(item.get("value"), str):
            raise AcmeProblem("malformed", "each identifier needs a type and a value")
        if item.get("type") != "dns":
            raise AcmeProblem(
                "unsupportedIdentifier", f"identifier type {item.get('type')!r} is not supported"
            )
        name = normalise(item["value"])
        if name not in names:
            names.append(name)
    return names


def _rejected(names: list[str], problems: list[tuple[str | None, str, str]]) -> AcmeProblem:
    """(name or None, kind, reason) triples as one problem: subproblems per identifier."""
    subs = [subproblem(kind, name, reason) for name, kind, reason in problems if name]
    general = [(kind, reason) for name, kind, reason in problems if not name]
    kind = general[0][0] if general else subs[0]["type"].rsplit(":", 1)[1]
    detail = "; ".join(reason for _, _, reason in problems)
    return AcmeProblem(kind, detail, subproblems=subs)


def _policy_problems(names: list[str], problems: list[Any]) -> list[tuple[str | None, str, str]]:
    """The REST API's field problems, moved onto the identifiers they name."""
    found: list[tuple[str | None, str, str]] = []
    for problem in problems:
        where, name = problem.field, None
        if where == "body.common_name":
            name = names[0]
        elif where.startswith("body.sans."):
            index = int(where.rsplit(".", 1)[1]) + 1
            name = names[index] if index < len(names) else None
        if name is not None or problem.kind in ("domain_not_allowed", "invalid_name"):
            found.append((name, "rejectedIdentifier", problem.message))
        else:
            found.append(
                (
                    None,
                    "unauthorized" if where != "body.sans" else "rejectedIdentifier",
                    problem.message,
                )
            )
    return found


async def new_order(ctx: AcmeRequest) -> AcmeAnswer:
    account = ctx.require_account()
    assert ctx.credential is not None
    payload = ctx.jws.payload_object()
    names = _identifiers(payload)
    problems: list[tuple[str | None, str, str]] = []
    if ctx.credential.allowed_domains:
        for name in names:
            if not any(covered_by(name, d) for d in ctx.credential.allowed_domains):
                problems.append(
                    (
                        name,
                        "rejectedIdentifier",
                        f"{name} is not under this EAB key's domains "
                        f"({', '.join(ctx.credential.allowed_domains)})",
                    )
                )
    try:
        body = CertificateCreate(
            organization_id=ctx.org.id,
            product=ctx.credential.product,
            common_name=names[0],
            sans=names[1:],
        )
    except ValidationError as exc:
        raise AcmeProblem("rejectedIdentifier", f"the names cannot be ordered: {exc}") from None
    plan = await ordering.plan_order(ctx.session, ctx.org.tenant_id, body, ctx.runtime)
    problems += _policy_problems(names, plan.problems)
    if problems:
        raise _rejected(names, problems)
    replaces = await _replaced(ctx, payload.get("replaces"))
    now = utcnow()
    order = AcmeOrder(
        tenant_id=ctx.org.tenant_id,
        organization_id=ctx.org.id,
        account_id=account.id,
        product=ctx.credential.product,
        names=names,
        expires=now + dt.timedelta(hours=ctx.runtime.settings.acme_server.order_lifetime_hours),
        replaces=replaces,
    )
    ctx.session.add(order)
    await ctx.session.flush()
    authz_ids, all_valid = [], True
    for name in names:
        wildcard = name.startswith("*.")
        # Names the organization validated at the CA need nothing more from the requester.
        prevalidated = not await unvalidated_names(ctx.session, ctx.org, [name])
        authz = AcmeAuthorization(
            order_id=order.id,
            account_id=account.id,
            name=name[2:] if wildcard else name,
            wildcard=wildcard,
            status=AuthzStatus.VALID if prevalidated else AuthzStatus.PENDING,
            expires=order.expires,
        )
        ctx.session.add(authz)
        await ctx.session.flush()
        authz_ids.append(authz.id)
        all_valid = all_valid and prevalidated
        if not prevalidated:
            for kind in ("dns-01",) if wildcard else ("http-01", "dns-01"):
                token = secrets.token_urlsafe(32)
                ctx.session.add(AcmeChallenge(authorization_id=authz.id, type=kind, token=token))
    if all_valid:
        order.status = OrderStatus.READY
    ctx.credential.last_used_at = now
    audit.record(
        ctx.session,
        acme_principal(ctx.org.tenant_id, account_subject(account)),
        "acme.order.create",
        "acme_order",
        order.id,
        {"names": names, "product": order.product, "credential_id": ctx.credential.id},
    )
    location = ctx.directory.url("order", order.id)
    return AcmeAnswer(201, order_json(ctx, order, authz_ids), {"Location": location})


async def _replaced(ctx: AcmeRequest, cert_id: Any) -> str | None:
    """ARI's `replaces`: the certificate this order renews, when it is the organization's."""
    if cert_id is None:
        return None
    if not isinstance(cert_id, str):
        raise AcmeProblem("malformed", "replaces must be an ARI certificate identifier")
    cert = await ari.find_certificate(ctx.session, ctx.org, cert_id)
    if cert is None:
        raise AcmeProblem(
            "malformed", f"replaces names no certificate of this directory: {cert_id}"
        )
    return cert.id


async def load_order(ctx: AcmeRequest, order_id: str) -> AcmeOrder:
    account = ctx.require_account()
    order = await ctx.session.get(AcmeOrder, order_id[:32])
    if order is None or order.account_id != account.id:
        raise AcmeProblem("malformed", "no such order for this account", status=404)
    return order


async def authorization_ids(ctx: AcmeRequest, order: AcmeOrder) -> list[str]:
    rows = await ctx.session.execute(
        select(AcmeAuthorization.id, AcmeAuthorization.status)
        .where(AcmeAuthorization.order_id == order.id)
        .order_by(AcmeAuthorization.expires, AcmeAuthorization.id)
    )
    return [row[0] for row in rows]


async def sync_order(ctx: AcmeRequest, order: AcmeOrder) -> None:
    """Bring the order up to date: expiry, and after finalize its certificate's fate."""
    if order.status in (OrderStatus.PENDING, OrderStatus.READY) and order.expires < utcnow():
        order.status = OrderStatus.INVALID
        order.error = problem_document("malformed", "the order expired before it was finalized")
    if order.status is not OrderStatus.PROCESSING or order.certificate_id is None:
        return
    cert = await ctx.session.get(Certificate, order.certificate_id, populate_existing=True)
    if cert is None:
        return
    if cert.leaf_pem:
        order.status = OrderStatus.VALID
    elif cert.status in FAILED:
        order.status = OrderStatus.INVALID
        kind = "unauthorized" if cert.status is CertificateStatus.REJECTED else "serverInternal"
        order.error = problem_document(kind, f"{cert.status.value}: {cert.status_reason or ''}")
    else:
        return
    order.updated_at = utcnow()
    ctx.session.add(order)


def _retry(ctx: AcmeRequest, order: AcmeOrder) -> dict[str, str]:
    if order.status in (OrderStatus.PROCESSING, OrderStatus.PENDING):
        return {"Retry-After": str(ctx.runtime.settings.acme_server.retry_after_seconds)}
    return {}


async def order_resource(ctx: AcmeRequest, order_id: str) -> AcmeAnswer:
    order = await load_order(ctx, order_id)
    await sync_order(ctx, order)
    ids = await authorization_ids(ctx, order)
    return AcmeAnswer(200, order_json(ctx, order, ids), _retry(ctx, order))


async def list_orders(ctx: AcmeRequest, account_id: str) -> AcmeAnswer:
    account = ctx.require_account()
    if account.id != account_id:
        raise AcmeProblem("unauthorized", "an account may only list its own orders")
    rows = await ctx.session.execute(
        select(AcmeOrder.id)
        .where(AcmeOrder.account_id == account.id)
        .order_by(AcmeOrder.created_at.desc())  # type: ignore[attr-defined]
        .limit(MAX_LISTED_ORDERS)
    )
    return AcmeAnswer(200, {"orders": [ctx.directory.url("order", r[0]) for r in rows]})


def _csr_pem(payload: dict[str, Any]) -> tuple[str, set[str]]:
    raw = payload.get("csr")
    if not isinstance(raw, str):
        raise AcmeProblem("malformed", "finalize needs csr: base64url DER")
    try:
        csr = x509.load_der_x509_csr(b64url_decode(raw, "csr"))
    except ValueError:
        raise AcmeProblem("badCSR", "the CSR is not a DER certificate request") from None
    names: set[str] = set()
    for attribute in csr.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME):
        names.add(normalise(str(attribute.value)))
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names.update(normalise(n) for n in san.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        pass
    return csr.public_bytes(serialization.Encoding.PEM).decode(), names


async def finalize(ctx: AcmeRequest, order_id: str) -> AcmeAnswer:
    order = await load_order(ctx, order_id)
    await sync_order(ctx, order)
    if order.status is not OrderStatus.READY:
        raise AcmeProblem("orderNotReady", f"the order is {order.status.value}, not ready")
    pem, csr_names = _csr_pem(ctx.jws.payload_object())
    if csr_names != set(order.names):
        raise AcmeProblem(
            "badCSR",
            f"the CSR names {', '.join(sorted(csr_names))}, the order {', '.join(order.names)}",
        )
    account = ctx.require_account()
    body = CertificateCreate(
        organization_id=ctx.org.id,
        product=order.product,
        common_name=order.names[0],
        sans=order.names[1:],
        csr=pem,
        comments=f"ordered over ACME by account {account.id}",
        labels={"acme_account": account.id},
    )
    principal = Principal(
        tenant_id=ctx.org.tenant_id,
        subject=account_subject(account),
        scopes=frozenset({Scope.CERTIFICATES_WRITE.value}),
        issuer="acme",
    )
    try:
        # The one ordering path: the same checks, events, approvals, jobs as POST /v1/certificates.
        cert, _ = await ordering.request_certificate(ctx.session, ctx.runtime, principal, body)
    except Unprocessable as refused:
        fields = {e["field"] for e in refused.errors or []}
        kind = "badCSR" if "body.csr" in fields else "rejectedIdentifier"
        raise AcmeProblem(kind, refused.detail) from None
    except AppError as refused:
        raise AcmeProblem("unauthorized", refused.detail) from None
    if order.replaces:
        cert.renewal_of = order.replaces
    order.certificate_id = cert.id
    order.status = OrderStatus.PROCESSING
    order.updated_at = utcnow()
    ctx.session.add(order)
    audit.record(
        ctx.session,
        acme_principal(ctx.org.tenant_id, account_subject(account)),
        "acme.order.finalize",
        "certificate",
        cert.id,
        {"acme_order": order.id, "names": order.names, "certificate_status": cert.status.value},
    )
    await sync_order(ctx, order)
    ids = await authorization_ids(ctx, order)
    headers = {"Location": ctx.directory.url("order", order.id), **_retry(ctx, order)}
    return AcmeAnswer(200, order_json(ctx, order, ids), headers)


async def certificate(ctx: AcmeRequest, cert_id: str) -> AcmeAnswer:
    """The PEM chain, leaf first, for an order of this account."""
    account = ctx.require_account()
    owned = await ctx.session.execute(
        select(AcmeOrder.id).where(
            AcmeOrder.certificate_id == cert_id[:32], AcmeOrder.account_id == account.id
        )
    )
    cert = await ctx.session.get(Certificate, cert_id[:32]) if owned.first() else None
    if cert is None or not cert.leaf_pem:
        raise AcmeProblem("malformed", "no such certificate for this account", status=404)
    leaf = cert.leaf_pem if cert.leaf_pem.endswith("\n") else cert.leaf_pem + "\n"
    return AcmeAnswer(
        200, leaf + (cert.chain_pem or ""), media_type="application/pem-certificate-chain"
    )
