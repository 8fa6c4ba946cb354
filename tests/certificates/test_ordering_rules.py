"""Every check an order must pass, each a 422 naming the field; preflight; approval timeout;
domain pre-validation; listing; tenant walls."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import update

from app.approvals.models import Approval
from app.catalog.products import KeyType
from app.crypto.csr import build_csr
from app.crypto.keys import generate_key
from app.db import utcnow
from app.jobs.models import Job
from app.outbox import nudge
from app.runtime import Runtime
from tests.fixtures.e2e import (
    Tenant,
    create_org,
    scm_settings,
    wait_for_domains,
    wait_for_status,
)
from tests.fixtures.scm_sandbox import ScmSandbox


@pytest.fixture
async def scm_org(tenant: Tenant, scm_sandbox: ScmSandbox) -> dict:
    return await create_org(
        tenant,
        allowed_domains=["example.com"],
        scm=scm_settings(scm_sandbox),
        catalog=["instantssl", "instantssl-pro", "ev-ssl", "positivessl-multi-domain"],
        backend_overrides={"positivessl-multi-domain": "scm"},
    )


def csr_for(names: list[str], key_type: KeyType = KeyType.EC_P256) -> str:
    return build_csr(generate_key(key_type), names)


async def order(tenant: Tenant, **body: object):
    return await tenant.http.post("/v1/certificates", json=body, headers=tenant.as_("requester"))


def fields(answer) -> dict[str, str]:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["status"] == 422 and body["type"].endswith("/validation-error")
    return {e["field"]: e["msg"] for e in body["errors"]}


async def test_each_rule_is_a_422_naming_the_field(tenant: Tenant, scm_org: dict) -> None:
    base = {"organization_id": scm_org["id"], "product": "instantssl"}
    cases = [
        (
            {"common_name": "a.example.com", "csr": "garbage"},
            "body.csr",
            "not a PEM certificate request",
        ),
        (
            {"common_name": "a.example.com", "csr": csr_for(["b.example.com"])},
            "body.csr",
            "the CSR names b.example.com",
        ),
        (
            {"common_name": "a.example.com", "csr": csr_for(["a.example.com"], KeyType.RSA_3072)},
            None,
            None,
        ),
        (
            {"common_name": "a.other.net"},
            "body.common_name",
            "not under the organization's allowed domains",
        ),
        ({"common_name": "*.example.com"}, "body.common_name", "does not allow wildcards"),
        (
            {"common_name": "a.example.com", "sans": ["b.example.com", "c.example.com"]},
            "body.sans",
            "at most 2 names",
        ),
        (
            {"common_name": "a.example.com", "term_days": 999},
            "body.term_days",
            "999 days is not offered",
        ),
        (
            {"common_name": "a.example.com", "product": "positivessl"},
            "body.product",
            "not in this organization's catalog",
        ),
        ({"common_name": "localhost"}, "body.common_name", "not a fully qualified domain name"),
        ({"common_name": "a.example.com", "sans": ["a.example.com"]}, "body.sans", "repeated"),
    ]
    for extra, field, message in cases:
        answer = await order(tenant, **{**base, **extra})
        if field is None:
            assert answer.status_code == 202, answer.text  # RSA 3072 is allowed for InstantSSL
            continue
        problems = fields(answer)
        assert field in problems, (extra, problems)
        assert message in problems[field], (extra, problems)

    # FastAPI's own validation speaks the same shape.
    problems = fields(
        await order(
            tenant, organization_id=scm_org["id"], product="gold-ssl", common_name="a.example.com"
        )
    )
    assert "body.product" in problems
    problems = fields(await order(tenant, organization_id=scm_org["id"], product="instantssl"))
    assert "body.common_name" in problems


async def test_unsupported_key_in_csr_and_missing_backend(tenant: Tenant, scm_org: dict) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP521R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "k.example.com")]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("k.example.com")]), False)
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
        .decode()
    )
    problems = fields(
        await order(
            tenant,
            organization_id=scm_org["id"],
            product="instantssl",
            common_name="k.example.com",
            csr=csr,
        )
    )
    assert "unsupported key" in problems["body.csr"]
    acme_less = await create_org(tenant, allowed_domains=["example.com"])
    problems = fields(
        await order(
            tenant,
            organization_id=acme_less["id"],
            product="positivessl",
            common_name="x.example.com",
        )
    )
    assert "has no ACME settings" in problems["body.organization_id"]


async def test_preflight_says_what_would_happen(tenant: Tenant, scm_org: dict) -> None:
    # A new organization's domains are read from SCM, where example.com is pre-validated.
    await wait_for_domains(tenant, scm_org["id"], {"example.com": "validated"})
    answer = await tenant.http.post(
        "/v1/certificates/preflight",
        json={
            "organization_id": scm_org["id"],
            "product": "ev-ssl",
            "common_name": "pre.example.com",
        },
        headers=tenant.as_("requester"),
    )
    assert answer.status_code == 200, answer.text
    plan = answer.json()
    assert plan["ok"] and plan["backend"] == "scm" and plan["approval_required"]
    assert plan["validation_level"] == "EV" and plan["term_days"] == 365
    assert plan["names_needing_validation"] == []
    bad = await tenant.http.post(
        "/v1/certificates/preflight",
        json={"organization_id": scm_org["id"], "product": "ev-ssl", "common_name": "x.evil.net"},
        headers=tenant.as_("requester"),
    )
    assert bad.status_code == 200 and not bad.json()["ok"]
    assert bad.json()["problems"][0]["field"] == "body.common_name"
    listed = await tenant.http.get("/v1/certificates", headers=tenant.as_("requester"))
    assert listed.json()["items"] == []  # preflight ordered nothing


async def test_an_approval_that_times_out(tenant: Tenant, scm_org: dict, runtime: Runtime) -> None:
    answer = await order(
        tenant, organization_id=scm_org["id"], product="ev-ssl", common_name="late.example.com"
    )
    assert answer.status_code == 202, answer.text
    cert_id = answer.json()["id"]
    approvals = await tenant.http.get("/v1/approvals", headers=tenant.as_("approver"))
    (approval,) = [a for a in approvals.json()["items"] if a["certificate_id"] == cert_id]
    # Move the clock: the deadline and its expiry job are due now.
    past = utcnow() - dt.timedelta(seconds=1)
    async with runtime.sessions() as session:
        await session.execute(
            update(Approval)
            .where(Approval.id == approval["id"])
            .values(expires_at=past, created_at=past - dt.timedelta(hours=72))
        )
        await session.execute(
            update(Job).where(Job.subject_id == approval["id"]).values(run_at=past)
        )
        await session.commit()
    # The expiry job was queued in Redis for 72 hours from now; the reconciler re-stages work
    # whose time has come only when Redis lost it, so hand it over again explicitly.
    from app.jobs.models import JobState
    from app.outbox import stage_job

    async with runtime.sessions() as session:
        job = (
            await session.execute(Job.__table__.select().where(Job.subject_id == approval["id"]))
        ).first()
        row = await session.get(Job, job.id)
        assert row is not None and row.state in (JobState.QUEUED, JobState.PENDING)
        stage_job(session, row, past)
        await session.commit()
    await nudge(runtime.redis, runtime.settings.jobs.queue_name)
    cert = await wait_for_status(tenant, cert_id, {"rejected"})
    assert "approval expired: nobody approved within 72 hours" in cert["status_reason"]
    late = await tenant.http.post(
        f"/v1/approvals/{approval['id']}/approve", json={}, headers=tenant.as_("approver")
    )
    assert late.status_code in (403, 409)


async def test_domain_prevalidated_then_ordered(tenant: Tenant, scm_sandbox: ScmSandbox) -> None:
    # A name the simulator has never validated (it is shared by every test of the session).
    base = f"pre-{uuid.uuid4().hex[:8]}.example.net"
    org = await create_org(
        tenant,
        allowed_domains=[base],
        scm=scm_settings(scm_sandbox),
        unvalidated_domains="fail",
    )
    refused = await order(
        tenant,
        organization_id=org["id"],
        product="instantssl",
        common_name=f"www.{base}",
    )
    assert "not yet validated" in fields(refused)["body.common_name"]

    domain = await tenant.http.post(
        "/v1/domains",
        json={"name": base, "organization_id": org["id"]},
        headers=tenant.as_("requester"),
    )
    assert domain.status_code == 201, domain.text
    assert domain.json()["ready_for"] == []
    started = await tenant.http.post(
        f"/v1/domains/{domain.json()['id']}/validations",
        json={"method": "cname"},
        headers=tenant.as_("requester"),
    )
    assert started.status_code == 201, started.text
    instructions = started.json()["instructions"]
    assert instructions["host"].startswith("_") and instructions["host"].endswith(f".{base}.")
    assert instructions["point"].endswith(".sectigo.com.")
    for _ in range(300):
        current = await tenant.http.get(
            f"/v1/domains/{domain.json()['id']}", headers=tenant.as_("requester")
        )
        if current.json()["status"] in ("validated", "failed"):
            break
        import asyncio

        await asyncio.sleep(0.1)
    assert current.json()["status"] == "validated", current.text
    assert current.json()["ready_for"] == ["DV", "OV", "EV"]
    answer = await order(
        tenant,
        organization_id=org["id"],
        product="instantssl",
        common_name=f"www.{base}",
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "submitted"
    cert = await wait_for_status(tenant, answer.json()["id"], {"issued", "failed"})
    assert cert["status"] == "issued", cert


async def test_unvalidated_domain_is_validated_on_order(
    tenant: Tenant, scm_sandbox: ScmSandbox
) -> None:
    base = f"onorder-{uuid.uuid4().hex[:8]}.example.net"  # never validated at the simulator
    org = await create_org(tenant, allowed_domains=[base], scm=scm_settings(scm_sandbox))
    answer = await order(tenant, organization_id=org["id"], product="instantssl", common_name=base)
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "pending_validation"
    # The answer names the job working on it: here the domain's validation.
    job = await tenant.http.get(
        f"/v1/jobs/{answer.json()['job_id']}", headers=tenant.as_("requester")
    )
    assert job.status_code == 200 and job.json()["kind"] == "domain.validate", job.text
    cert = await wait_for_status(tenant, answer.json()["id"], {"issued", "failed"})
    assert cert["job_id"] and cert["job_id"] != answer.json()["job_id"]  # issuance now
    assert cert["status"] == "issued", cert
    events = await tenant.http.get(
        f"/v1/certificates/{cert['id']}/events", headers=tenant.as_("requester")
    )
    statuses = [e["to_status"] for e in events.json()["items"]]
    assert statuses.index("pending_validation") < statuses.index("submitted")
    assert statuses[-1] == "issued"


async def test_listing_filters_and_cursor(tenant: Tenant, scm_org: dict) -> None:
    ids = []
    for index in range(5):
        answer = await order(
            tenant,
            organization_id=scm_org["id"],
            product="instantssl",
            common_name=f"list{index}.example.com",
            labels={"team": "a" if index % 2 else "b"},
        )
        assert answer.status_code == 202, answer.text
        ids.append(answer.json()["id"])
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await tenant.http.get(
            "/v1/certificates", params=params, headers=tenant.as_("requester")
        )
        assert page.status_code == 200, page.text
        seen += [c["id"] for c in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))
    by_label = await tenant.http.get(
        "/v1/certificates", params={"label": "team=a"}, headers=tenant.as_("requester")
    )
    assert {c["id"] for c in by_label.json()["items"]} == {ids[1], ids[3]}
    by_name = await tenant.http.get(
        "/v1/certificates", params={"name": "list3"}, headers=tenant.as_("requester")
    )
    assert [c["id"] for c in by_name.json()["items"]] == [ids[3]]
    bad = await tenant.http.get(
        "/v1/certificates", params={"cursor": "nonsense!"}, headers=tenant.as_("requester")
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.cursor"
    bad_label = await tenant.http.get(
        "/v1/certificates", params={"label": "x"}, headers=tenant.as_("requester")
    )
    assert bad_label.status_code == 422


async def test_another_tenants_objects_are_404(
    tenant: Tenant,
    scm_org: dict,
    runtime: Runtime,
    live_api,
    worker,
) -> None:
    from tests.fixtures.e2e import Tenant as TenantType  # noqa: F401

    answer = await order(
        tenant, organization_id=scm_org["id"], product="ev-ssl", common_name="wall.example.com"
    )
    cert_id = answer.json()["id"]
    approvals = await tenant.http.get("/v1/approvals", headers=tenant.as_("approver"))
    approval_id = next(a for a in approvals.json()["items"] if a["certificate_id"] == cert_id)["id"]
    domain = await tenant.http.post(
        "/v1/domains",
        json={"name": "example.com", "organization_id": scm_org["id"]},
        headers=tenant.as_("requester"),
    )
    job_id = answer.json()["job_id"]

    from tests.auth.factories import TENANT_SCOPES, fetch_token, new_client, new_tenant

    other = await new_tenant(runtime, "other")
    _, client_id, secret = await new_client(runtime, other.id, TENANT_SCOPES)
    token = (await fetch_token(tenant.http, client_id, secret)).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    paths = [
        ("GET", f"/v1/certificates/{cert_id}"),
        ("GET", f"/v1/certificates/{cert_id}/events"),
        ("PATCH", f"/v1/certificates/{cert_id}"),
        ("POST", f"/v1/certificates/{cert_id}/renew"),
        ("GET", f"/v1/certificates/{cert_id}/certificate.pem"),
        ("GET", f"/v1/certificates/{cert_id}/chain.pem"),
        ("GET", f"/v1/certificates/{cert_id}/fullchain.pem"),
        ("GET", f"/v1/certificates/{cert_id}/private-key.pem"),
        ("POST", f"/v1/certificates/{cert_id}/pkcs12"),
        ("POST", f"/v1/certificates/{cert_id}/revoke"),
        ("GET", f"/v1/approvals/{approval_id}"),
        ("POST", f"/v1/approvals/{approval_id}/approve"),
        ("POST", f"/v1/approvals/{approval_id}/reject"),
        ("GET", f"/v1/organizations/{scm_org['id']}"),
        ("PATCH", f"/v1/organizations/{scm_org['id']}"),
        ("DELETE", f"/v1/organizations/{scm_org['id']}"),
        ("GET", f"/v1/domains/{domain.json()['id']}"),
        ("POST", f"/v1/domains/{domain.json()['id']}/validations"),
    ]
    if job_id:
        paths.append(("GET", f"/v1/jobs/{job_id}"))
    bodies = {
        "pkcs12": {"passphrase": "long enough"},
        "revoke": {},
        "approve": {},
        "reject": {},
        "validations": {"method": "cname"},
    }
    for method, path in paths:
        body = next(
            (v for k, v in bodies.items() if path.endswith(k)),
            {} if method in ("POST", "PATCH") else None,
        )
        answer = await tenant.http.request(method, path, json=body, headers=headers)
        assert answer.status_code == 404, (method, path, answer.status_code, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    # And cross-tenant ordering against someone else's organization is a 404 too.
    foreign = await tenant.http.post(
        "/v1/certificates",
        json={
            "organization_id": scm_org["id"],
            "product": "instantssl",
            "common_name": "x.example.com",
        },
        headers=headers,
    )
    assert foreign.status_code == 404
    listing = await tenant.http.get("/v1/certificates", headers=headers)
    assert listing.json()["items"] == []


async def test_labels_and_renewal_settings_can_change(tenant: Tenant, scm_org: dict) -> None:
    answer = await order(
        tenant,
        organization_id=scm_org["id"],
        product="instantssl",
        common_name="patch.example.com",
        labels={"team": "a"},
    )
    cert = await wait_for_status(tenant, answer.json()["id"], {"issued"})
    assert cert["auto_renew"] and cert["renew_after"] is not None
    path = f"/v1/certificates/{cert['id']}"
    patched = await tenant.http.patch(
        path, json={"labels": {"team": "b"}, "auto_renew": False}, headers=tenant.as_("requester")
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["labels"] == {"team": "b"} and patched.json()["renew_after"] is None
    found = await tenant.http.get(
        "/v1/certificates", params={"label": "team=b"}, headers=tenant.as_("requester")
    )
    assert [c["id"] for c in found.json()["items"]] == [cert["id"]]
    again = await tenant.http.patch(
        path, json={"auto_renew": True, "renew_before_days": 40}, headers=tenant.as_("requester")
    )
    assert again.json()["renew_after"] is not None
    bad = await tenant.http.patch(
        path, json={"renew_before_days": 0}, headers=tenant.as_("requester")
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.renew_before_days"
    reader = await tenant.http.patch(path, json={"comments": "x"}, headers=tenant.as_("approver"))
    assert reader.status_code == 403


async def test_approvals_decidable_by_me(tenant: Tenant, scm_sandbox: ScmSandbox) -> None:
    """`decidable_by_me` keeps the requests the caller may decide: a listed approver for the
    organization and level, never the requester of the certificate."""
    org = await create_org(
        tenant,
        allowed_domains=["example.com"],
        scm=scm_settings(scm_sandbox),
        approvers={"EV": [tenant.ids["approver"], tenant.ids["requester"]]},
    )
    other = await create_org(tenant, allowed_domains=["example.com"], scm=scm_settings(scm_sandbox))
    ids = []
    for org_id in (org["id"], other["id"]):
        answer = await order(
            tenant, organization_id=org_id, product="ev-ssl", common_name="mine.example.com"
        )
        assert answer.status_code == 202, answer.text
        ids.append(answer.json()["id"])

    async def listed(role: str, **query: object) -> set[str]:
        answer = await tenant.http.get("/v1/approvals", params=query, headers=tenant.as_(role))
        assert answer.status_code == 200, answer.text
        return {a["certificate_id"] for a in answer.json()["items"]} & set(ids)

    assert await listed("approver") == set(ids)
    assert await listed("approver", decidable_by_me="true") == {ids[0]}
    # Listed for EV, but the requester of both: nothing to decide.
    assert await listed("requester", decidable_by_me="true") == set()
    assert await listed("admin", decidable_by_me="true") == set()
