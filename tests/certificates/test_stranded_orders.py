"""An OV order left in pending_validation by a race (its transaction committed just after its
domain's validation ended and released the orders it could see) is moved on by the workers'
reconciler, once, instead of waiting forever."""

from __future__ import annotations

import datetime as dt

from app.certificates.models import Certificate, CertificateStatus
from app.db import session_scope, utcnow
from app.runtime import Runtime
from tests.fixtures.e2e import Tenant, create_org, scm_settings, wait_for_status
from tests.fixtures.scm_sandbox import ScmSandbox


async def test_an_order_stranded_in_pending_validation_is_issued(
    tenant: Tenant, scm_sandbox: ScmSandbox, runtime: Runtime
) -> None:
    org = await create_org(
        tenant, allowed_domains=["stranded.example.net"], scm=scm_settings(scm_sandbox)
    )
    first = await tenant.http.post(
        "/v1/certificates",
        json={
            "organization_id": org["id"],
            "product": "instantssl",
            "common_name": "a.stranded.example.net",
        },
        headers=tenant.as_("requester"),
    )
    assert first.status_code == 202, first.text
    issued = await wait_for_status(tenant, first.json()["id"], {"issued", "failed"})
    assert issued["status"] == "issued", issued  # the domain is validated now

    # The race's outcome: an order waiting for a validation that has already ended.
    async with session_scope(runtime.sessions) as session:
        model = await session.get(Certificate, first.json()["id"])
        assert model is not None
        stranded = Certificate(
            tenant_id=model.tenant_id,
            organization_id=model.organization_id,
            product=model.product,
            validation_level=model.validation_level,
            backend=model.backend,
            common_name=model.common_name,
            names=model.names,
            names_text=model.names_text,
            term_days=model.term_days,
            key_type=model.key_type,
            key_source=model.key_source,
            private_key=None,
            csr_pem=model.csr_pem,
            public_key_sha256=model.public_key_sha256,
            requested_by=model.requested_by,
            status=CertificateStatus.PENDING_VALIDATION,
            updated_at=utcnow() - dt.timedelta(seconds=30),
        )
        session.add(stranded)
    cert = await wait_for_status(tenant, stranded.id, {"issued", "failed"})
    assert cert["status"] == "issued", cert
    events = await tenant.http.get(
        f"/v1/certificates/{stranded.id}/events", headers=tenant.as_("requester")
    )
    assert [e["to_status"] for e in events.json()["items"]].count("submitted") == 1
