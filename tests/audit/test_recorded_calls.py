"""What the audit log keeps of each mutation: actor, action, object, change, outcome; secrets
never; and nothing of a change that rolled back."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select

from app.audit import capture
from app.certificates.models import Certificate, CertificateStatus
from app.errors import Conflict
from app.organizations import service as organizations
from app.organizations.models import Organization
from app.runtime import Runtime
from tests.audit.conftest import Team, audit_rows
from tests.auth.factories import ALL_SCOPES, new_actor

SECRETS = {
    "scm_password": f"scm-pw-{uuid.uuid4().hex}",
    "eab_hmac_key": f"eab{uuid.uuid4().hex}",
    "tsig_secret": f"tsig-{uuid.uuid4().hex}",
    "passphrase": f"p12-{uuid.uuid4().hex}",
}


def org_body(**overrides: Any) -> dict[str, Any]:
    return {
        "name": f"org-{uuid.uuid4().hex[:8]}",
        "allowed_domains": ["example.com"],
        "auto_approve": False,
        "scm": {
            "base_url": "http://127.0.0.1:9/api",
            "login": "broker",
            "password": SECRETS["scm_password"],
            "customer_uri": "example",
            "org_id": 1234,
        },
        "acme": {
            "directory_url": "https://127.0.0.1:9/directory",
            "eab_kid": "kid-1",
            "eab_hmac_key": SECRETS["eab_hmac_key"],
        },
        **overrides,
    }


async def create_org(api: httpx.AsyncClient, team: Team, **overrides: Any) -> dict[str, Any]:
    answer = await api.post(
        "/v1/organizations", json=org_body(**overrides), headers=team.admin.headers
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def only(rows: list, **match: Any):
    found = [r for r in rows if all(getattr(r, k) == v for k, v in match.items())]
    assert len(found) == 1, (match, [(r.action, r.object_id, r.detail.get("status")) for r in rows])
    return found[0]


async def test_organization_create_update_delete(
    api: httpx.AsyncClient, runtime: Runtime, team: Team
):
    org = await create_org(api, team)
    patched = await api.patch(
        f"/v1/organizations/{org['id']}",
        json={"name": "renamed", "acme": {**org_body()["acme"]}},
        headers={**team.admin.headers, "X-Request-ID": "req-audit-1"},
    )
    deleted = await api.delete(f"/v1/organizations/{org['id']}", headers=team.admin.headers)
    assert patched.status_code == 200 and deleted.status_code == 204

    rows = await audit_rows(runtime, team.tenant_id, object_type="organization")

    created = only(rows, action="organizations_create")
    assert created.object_id == org["id"]
    assert (
        created.actor == team.admin.client_id
        and created.actor_issuer == runtime.settings.auth.issuer
    )
    assert created.detail["client_id"] == team.admin.client_id
    assert created.detail["status"] == 201 and created.detail["outcome"] == "succeeded"
    assert created.detail["method"] == "POST" and created.detail["path"] == "/v1/organizations"
    assert created.detail["change"]["name"] == org["name"]
    updated = only(rows, action="organizations_update")
    assert updated.object_id == org["id"] and updated.detail["request_id"] == "req-audit-1"
    assert updated.detail["change"]["name"] == "renamed"
    removed = only(rows, action="organizations_delete")
    assert removed.object_id == org["id"] and removed.detail["status"] == 204
    assert removed.detail["change"] is None


async def test_secrets_never_reach_the_stored_detail(
    api: httpx.AsyncClient, runtime: Runtime, team: Team
):
    dns = {
        "provider": "rfc2136",
        "server": "127.0.0.1",
        "tsig_key_name": "broker.",
        "tsig_secret": SECRETS["tsig_secret"],
    }
    org = await create_org(api, team, dns=dns)
    await api.post(  # refused (nothing to export), still audited, with the passphrase redacted
        f"/v1/certificates/{uuid.uuid4().hex}/pkcs12",
        json={"passphrase": SECRETS["passphrase"]},
        headers=team.admin.headers,
    )
    created = await api.post(
        "/v1/clients",
        json={"name": "ci", "scopes": ["certificates:read"]},
        headers=team.admin.headers,
    )
    await api.post(f"/v1/clients/{created.json()['id']}/rotate-secret", headers=team.admin.headers)

    rows = await audit_rows(runtime, team.tenant_id)

    stored = json.dumps([row.detail for row in rows])
    for secret in [*SECRETS.values(), created.json()["client_secret"]]:
        assert secret not in stored
    change = only(rows, action="organizations_create").detail["change"]
    assert change["scm"]["password"] == "[redacted]"
    assert change["scm"]["login"] == "broker"  # the rest stays readable
    assert change["acme"]["eab_hmac_key"] == "[redacted]"
    assert change["dns"]["tsig_secret"] == "[redacted]"
    assert change["dns"]["server"] == "127.0.0.1"
    export = only(rows, action="certificate.pkcs12.export")
    assert export.detail["change"] == {"passphrase": "[redacted]"}
    assert export.detail["status"] == 404 and export.detail["outcome"] == "failed"
    assert org["id"]


async def test_clients_create_rotate_revoke(api: httpx.AsyncClient, runtime: Runtime, team: Team):
    created = await api.post(
        "/v1/clients",
        json={"name": "deployer", "scopes": ["certificates:read"]},
        headers=team.admin.headers,
    )
    client_id = created.json()["id"]
    await api.post(f"/v1/clients/{client_id}/rotate-secret", headers=team.admin.headers)
    await api.post(f"/v1/clients/{client_id}/revoke", headers=team.admin.headers)
    # Asking for more than one holds is refused, and recorded as denied.
    refused = await api.post(
        "/v1/clients",
        json={"name": "root", "scopes": ["platform:admin"]},
        headers=team.admin.headers,
    )
    assert refused.status_code == 403

    rows = await audit_rows(runtime, team.tenant_id, object_type="client")

    assert only(rows, action="clients_create", object_id=client_id).detail["status"] == 201
    assert only(rows, action="clients_rotate_secret").object_id == client_id
    assert only(rows, action="clients_revoke").object_id == client_id
    denied = only(rows, action="clients_create", object_id=None)
    assert denied.detail["outcome"] == "denied" and "platform:admin" in denied.detail["error"]
    assert denied.detail["change"] == {"name": "root", "scopes": ["platform:admin"]}


async def test_tenants_create_update(api: httpx.AsyncClient, runtime: Runtime):
    platform = await new_actor(runtime, api, ALL_SCOPES)
    created = await api.post(
        "/v1/tenants", json={"name": f"t {uuid.uuid4().hex[:8]}"}, headers=platform.headers
    )
    tenant_id = created.json()["id"]
    updated = await api.patch(
        f"/v1/tenants/{tenant_id}", json={"status": "disabled"}, headers=platform.headers
    )
    assert created.status_code == 201 and updated.status_code == 200

    rows = await audit_rows(runtime, platform.tenant.id, object_type="tenant")

    assert only(rows, action="tenants_create").object_id == tenant_id
    update = only(rows, action="tenants_update")
    assert update.object_id == tenant_id and update.detail["change"] == {"status": "disabled"}


async def test_certificates_approvals_and_key_export(
    api: httpx.AsyncClient, runtime: Runtime, team: Team
):
    org = await create_org(api, team, approvers={"OV": [team.approver_id]})
    order = {
        "organization_id": org["id"],
        "product": "instantssl",
        "common_name": "www.example.com",
    }
    first = await api.post("/v1/certificates", json=order, headers=team.admin.headers)
    second = await api.post(
        "/v1/certificates",
        json={**order, "common_name": "api.example.com"},
        headers=team.admin.headers,
    )
    assert first.status_code == 202 and second.status_code == 202, first.text
    approvals = (await api.get("/v1/approvals", headers=team.admin.headers)).json()["items"]
    by_cert = {a["certificate_id"]: a["id"] for a in approvals}
    approved = await api.post(
        f"/v1/approvals/{by_cert[first.json()['id']]}/approve",
        json={"comment": "ok"},
        headers=team.approver(),
    )
    rejected = await api.post(
        f"/v1/approvals/{by_cert[second.json()['id']]}/reject", json={}, headers=team.approver()
    )
    assert approved.status_code == 200 and rejected.status_code == 200, approved.text
    key = await api.get(
        f"/v1/certificates/{first.json()['id']}/private-key.pem", headers=team.admin.headers
    )
    assert key.status_code == 200
    async with runtime.sessions() as session:  # pretend the CA issued it
        cert = await session.get(Certificate, first.json()["id"])
        cert.status = CertificateStatus.ISSUED
        await session.commit()
    revoked = await api.post(
        f"/v1/certificates/{first.json()['id']}/revoke",
        json={"reason": "keyCompromise"},
        headers=team.admin.headers,
    )
    assert revoked.status_code == 202, revoked.text

    rows = await audit_rows(runtime, team.tenant_id)

    creates = [r for r in rows if r.action == "certificates_create"]
    assert {r.object_id for r in creates} == {first.json()["id"], second.json()["id"]}
    approve = only(rows, action="approvals_approve")
    assert approve.object_id == by_cert[first.json()["id"]] and approve.actor == team.approver_id
    assert only(rows, action="approvals_reject").object_id == by_cert[second.json()["id"]]
    export = only(rows, action="certificate.private_key.export")
    assert export.object_id == first.json()["id"] and export.detail["status"] == 200
    assert export.detail["client_id"] == team.admin.client_id  # the request's context, one row
    revoke = only(rows, action="certificates_revoke")
    assert (
        revoke.object_id == first.json()["id"]
        and revoke.detail["change"]["reason"] == "keyCompromise"
    )
    assert "BEGIN" not in json.dumps([r.detail for r in rows])


async def test_domains_create_and_validate(api: httpx.AsyncClient, runtime: Runtime, team: Team):
    org = await create_org(api, team)
    domain = await api.post(
        "/v1/domains",
        json={"organization_id": org["id"], "name": "example.com"},
        headers=team.admin.headers,
    )
    assert domain.status_code == 201, domain.text
    # Nothing listens at the organization's SCM (port 9): the attempt is recorded as an error.
    started = await api.post(
        f"/v1/domains/{domain.json()['id']}/validations",
        json={"method": "cname"},
        headers=team.admin.headers,
    )
    assert started.status_code == 503, started.text

    rows = await audit_rows(runtime, team.tenant_id, object_type="domain")

    assert only(rows, action="domains_create").object_id == domain.json()["id"]
    attempt = only(rows, action="domains_validate")
    assert attempt.object_id == domain.json()["id"]
    assert attempt.detail["status"] == 503 and attempt.detail["outcome"] == "error"


async def test_a_rolled_back_change_leaves_no_success_row(
    api: httpx.AsyncClient, runtime: Runtime, team: Team, monkeypatch: pytest.MonkeyPatch
):
    def fail_after_saving(org: Organization, public_base_url: str) -> None:
        raise Conflict("failed after the organization was saved")

    monkeypatch.setattr(organizations, "to_public", fail_after_saving)
    body = org_body()

    answer = await api.post("/v1/organizations", json=body, headers=team.admin.headers)

    assert answer.status_code == 409
    async with runtime.sessions() as session:
        saved = await session.execute(select(Organization).where(Organization.name == body["name"]))
        assert saved.first() is None
    rows = await audit_rows(runtime, team.tenant_id, action="organizations_create")
    assert [(r.detail["outcome"], r.detail["status"]) for r in rows] == [("failed", 409)]
    assert rows[0].object_id is None


async def order_statements(
    api: httpx.AsyncClient, runtime: Runtime, team: Team, body: dict[str, Any]
) -> tuple[httpx.Response, list[str]]:
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", seen)
    try:
        answer = await api.post("/v1/certificates", json=body, headers=team.admin.headers)
    finally:
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", seen)
    return answer, statements


async def test_an_order_and_its_audit_row_are_written_together(
    api: httpx.AsyncClient, runtime: Runtime, team: Team, monkeypatch: pytest.MonkeyPatch
):
    org = await create_org(api, team, auto_approve=True)
    order = {"organization_id": org["id"], "product": "positivessl"}
    first, _ = await order_statements(api, runtime, team, {**order, "common_name": "a.example.com"})
    second, statements = await order_statements(
        api, runtime, team, {**order, "common_name": "b.example.com"}
    )
    assert first.status_code == 202 and second.status_code == 202, second.text

    rows = await audit_rows(runtime, team.tenant_id, action="certificates_create")
    assert [r.object_id for r in rows] == [first.json()["id"], second.json()["id"]]
    async with runtime.sessions() as session:
        cert = await session.get(Certificate, second.json()["id"])
        assert cert is not None and cert.job_id == second.json()["job_id"]
    inserts = [s for s in statements if "INSERT" in s]
    if runtime.engine.dialect.name == "postgresql":  # one statement: the rows and the audit row
        assert len(inserts) == 1 and "audit_event" in inserts[0] and "certificate" in inserts[0]

    # A row the database refuses leaves nothing of the order, and the call is recorded failed.
    real_event = capture._event
    calls: list[Any] = []

    def refused(*args: Any) -> Any:
        row = real_event(*args)
        if not calls:  # the success row only; the failure's own row is written as it should
            row.actor = None  # NOT NULL
        calls.append(row)
        return row

    monkeypatch.setattr(capture, "_event", refused)
    body = {**order, "common_name": "c.example.com"}
    with pytest.raises(Exception):
        await api.post("/v1/certificates", json=body, headers=team.admin.headers)
    async with runtime.sessions() as session:
        stored = await session.execute(
            select(Certificate).where(
                Certificate.tenant_id == team.tenant_id, Certificate.common_name == "c.example.com"
            )
        )
        assert stored.first() is None
    rows = await audit_rows(runtime, team.tenant_id, action="certificates_create")
    assert [r.detail["outcome"] for r in rows] == ["succeeded", "succeeded", "error"]
