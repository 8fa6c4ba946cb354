"""Expiry alerts with a controlled clock: each threshold once across many checks, expiry, the
organization's own thresholds, imported certificates, webhooks, and the alerts API."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select

from app.certificates.models import (
    Certificate,
    CertificateEvent,
    CertificateSource,
    CertificateStatus,
)
from app.db import utcnow
from app.lifecycle.expiry import check_expiry, schedule_expiry
from app.lifecycle.jobs import check_expiry_all
from app.lifecycle.models import Alert
from app.organizations.models import Organization
from app.runtime import Runtime
from app.webhooks.models import WebhookEvent, WebhookSubscription
from tests.auth.factories import new_tenant
from tests.fixtures.e2e import Tenant
from tests.lifecycle.conftest import make_issued, make_org, other_tenant_headers

DAY = dt.timedelta(days=1)


async def watch(runtime: Runtime, cert: Certificate) -> None:
    """What issuance (or an import) does: schedule the first threshold."""
    async with runtime.sessions() as session:
        row = await session.get(Certificate, cert.id)
        assert row is not None
        org = await session.get(Organization, row.organization_id)
        assert org is not None
        schedule_expiry(row, org)
        await session.commit()


async def alerts_of(runtime: Runtime, cert_id: str) -> list[Alert]:
    async with runtime.sessions() as session:
        rows = await session.execute(
            select(Alert).where(Alert.certificate_id == cert_id).order_by(Alert.created_at)
        )
        return list(rows.scalars())


async def test_each_threshold_alerts_once_across_repeated_checks(runtime: Runtime) -> None:
    t0 = utcnow()
    tenant = await new_tenant(runtime, "lc-alerts")
    org = await make_org(runtime, tenant.id)
    custom = await make_org(runtime, tenant.id, alert_thresholds=[10, 3])
    cert = await make_issued(runtime, org, not_before=t0 - 50 * DAY, not_after=t0 + 40 * DAY)
    uploaded = await make_issued(
        runtime,
        custom,
        source=CertificateSource.UPLOAD,
        not_before=t0 - 50 * DAY,
        not_after=t0 + 40 * DAY,
    )
    async with runtime.sessions() as session:
        session.add(
            WebhookSubscription(
                tenant_id=tenant.id,
                url="https://hooks.example.invalid/certbroker",
                event_types=["certificate.expiring", "certificate.expired"],
                secret="not used: the subscription is disabled before anything is delivered",
            )
        )
        await session.commit()
    for row in (cert, uploaded):
        await watch(runtime, row)

    now = t0
    while now < t0 + 45 * DAY:
        # Two checks racing, then a third one: still one alert per crossing.
        await asyncio.gather(
            check_expiry_all(runtime, now, tenant.id), check_expiry_all(runtime, now, tenant.id)
        )
        await check_expiry_all(runtime, now, tenant.id)
        now += dt.timedelta(hours=9)

    fired = [
        (a.kind.value, a.threshold, a.severity.value) for a in await alerts_of(runtime, cert.id)
    ]
    assert fired == [
        ("expiring", 30, "info"),
        ("expiring", 14, "warning"),
        ("expiring", 7, "critical"),
        ("expired", 0, "critical"),
    ]
    custom_fired = [(a.threshold, a.severity.value) for a in await alerts_of(runtime, uploaded.id)]
    assert custom_fired == [(10, "warning"), (3, "critical"), (0, "critical")]
    async with runtime.sessions() as session:
        done = await session.get(Certificate, cert.id)
        assert done is not None
        assert done.status == CertificateStatus.EXPIRED and done.next_alert_at is None
        assert done.updated_at >= t0 + 40 * DAY  # set by the check that expired it
        expiry = (
            await session.execute(
                select(CertificateEvent).where(
                    CertificateEvent.certificate_id == cert.id,
                    CertificateEvent.to_status == CertificateStatus.EXPIRED,
                )
            )
        ).scalar_one()  # once, though three checks saw it
        assert expiry.from_status == CertificateStatus.ISSUED and expiry.actor == "certbroker"
        assert expiry.message.startswith("expired at ")
        events = list(
            (
                await session.execute(
                    select(WebhookEvent)
                    .where(WebhookEvent.tenant_id == tenant.id)
                    .order_by(WebhookEvent.created_at)
                )
            ).scalars()
        )
        subscription = (
            await session.execute(
                select(WebhookSubscription).where(WebhookSubscription.tenant_id == tenant.id)
            )
        ).scalar_one()
        subscription.enabled = False
        await session.commit()
    mine = [e for e in events if e.data["certificate"]["id"] == cert.id]
    assert [(e.type, e.data["severity"]) for e in mine] == [
        ("certificate.expiring", "info"),
        ("certificate.expiring", "warning"),
        ("certificate.expiring", "critical"),
        ("certificate.expired", "critical"),
    ]
    assert mine[1].data["threshold_days"] == 14


async def test_alerts_api_filters_pages_and_acknowledges(runtime: Runtime, tenant: Tenant) -> None:
    now = utcnow()
    org = await make_org(runtime, tenant.id)
    soon = await make_issued(runtime, org, not_before=now - 80 * DAY, not_after=now + 5 * DAY)
    later = await make_issued(runtime, org, not_before=now - 80 * DAY, not_after=now + 20 * DAY)
    for row in (soon, later):
        await watch(runtime, row)
    await check_expiry_all(runtime, now, tenant.id)
    http, reader = tenant.http, tenant.as_("requester")

    listed = await http.get("/v1/alerts", params={"organization_id": org.id}, headers=reader)
    assert listed.status_code == 200, listed.text
    by_cert = {a["certificate_id"]: a for a in listed.json()["items"]}
    assert by_cert[soon.id]["severity"] == "critical" and by_cert[soon.id]["threshold"] == 7
    assert by_cert[later.id]["severity"] == "info" and by_cert[later.id]["threshold"] == 30

    critical = await http.get("/v1/alerts", params={"severity": "critical"}, headers=reader)
    assert [a["certificate_id"] for a in critical.json()["items"]] == [soon.id]
    first = await http.get("/v1/alerts", params={"limit": 1}, headers=reader)
    assert first.json()["next_cursor"]
    second = await http.get(
        "/v1/alerts", params={"limit": 1, "cursor": first.json()["next_cursor"]}, headers=reader
    )
    pages = first.json()["items"] + second.json()["items"]
    assert {a["id"] for a in pages} == {a["id"] for a in listed.json()["items"]}

    alert_id = by_cert[soon.id]["id"]
    stranger = await other_tenant_headers(runtime, http)
    assert (
        await http.post(f"/v1/alerts/{alert_id}/acknowledge", headers=stranger)
    ).status_code == 404
    assert (await http.get("/v1/alerts", headers=stranger)).json()["items"] == []
    denied = await http.post(f"/v1/alerts/{alert_id}/acknowledge", headers=tenant.as_("approver"))
    assert denied.status_code == 403
    acked = await http.post(f"/v1/alerts/{alert_id}/acknowledge", headers=reader)
    assert acked.status_code == 200, acked.text
    assert acked.json()["status"] == "acknowledged"
    assert acked.json()["acknowledged_by"] == tenant.ids["requester"]
    again = await http.post(f"/v1/alerts/{alert_id}/acknowledge", headers=reader)
    assert again.status_code == 200
    still_open = await http.get("/v1/alerts", params={"status": "open"}, headers=reader)
    assert [a["certificate_id"] for a in still_open.json()["items"]] == [later.id]
    seen = await http.get("/v1/alerts", params={"status": "acknowledged"}, headers=reader)
    assert [a["id"] for a in seen.json()["items"]] == [alert_id]


async def test_a_check_rolled_back_leaves_no_trace(runtime: Runtime) -> None:
    """The batch is one transaction on every engine: the claim, the alerts and the expiries
    roll back together (a crash mid-batch fires nothing and loses no crossing)."""
    t0 = utcnow()
    tenant = await new_tenant(runtime, "lc-rollback")
    org = await make_org(runtime, tenant.id)
    expiring = await make_issued(runtime, org, not_before=t0 - 50 * DAY, not_after=t0 + 5 * DAY)
    expired = await make_issued(runtime, org, not_before=t0 - 50 * DAY, not_after=t0 - DAY)
    for row in (expiring, expired):
        await watch(runtime, row)

    async with runtime.sessions() as session:
        assert await check_expiry(session, t0, 1000, tenant.id) == 2
        await session.rollback()
    for row in (expiring, expired):
        assert await alerts_of(runtime, row.id) == []
        async with runtime.sessions() as session:
            again = await session.get(Certificate, row.id)
            assert again is not None
            assert again.status == CertificateStatus.ISSUED and again.alerted_threshold is None

    await check_expiry_all(runtime, t0, tenant.id)
    assert [(a.kind.value, a.threshold) for a in await alerts_of(runtime, expiring.id)] == [
        ("expiring", 7)
    ]
    assert [(a.kind.value, a.threshold) for a in await alerts_of(runtime, expired.id)] == [
        ("expired", 0)
    ]
    async with runtime.sessions() as session:
        gone = await session.get(Certificate, expired.id)
        assert gone is not None and gone.status == CertificateStatus.EXPIRED
