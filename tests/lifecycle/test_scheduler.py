"""The renewal scheduler against the database, with a fake ACME issuer for ARI: which
certificates it picks, what ARI changes, and that double runs start one renewal."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import func, select

from app.certificates.models import Certificate
from app.db import utcnow
from app.issuers.acme.models import RenewalInfo
from app.issuers.base import IssuerRegistry
from app.jobs.models import Job
from app.lifecycle.models import Renewal
from app.lifecycle.renewal import RENEW_JOB
from app.lifecycle.scheduler import schedule_renewals
from app.runtime import Runtime
from tests.auth.factories import new_tenant
from tests.lifecycle.conftest import make_issued, make_org

DAY = dt.timedelta(days=1)


class FakeAcme:
    """Answers renewalInfo like a CA that offers ARI (pebble 2.4 does not)."""

    name = "acme"

    def __init__(self, info: RenewalInfo | None) -> None:
        self.info = info
        self.asked = 0

    async def renewal_info(self, backend_config: dict[str, Any], pem: str) -> RenewalInfo | None:
        self.asked += 1
        return self.info


def with_acme(runtime: Runtime, fake: FakeAcme) -> Runtime:
    issuers = IssuerRegistry()
    issuers.register(fake)  # type: ignore[arg-type]
    return dataclasses.replace(runtime, issuers=issuers)


def iso(value: dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


async def load(runtime: Runtime, cert_id: str) -> tuple[Certificate, list[Renewal], int]:
    async with runtime.sessions() as session:
        cert = await session.get(Certificate, cert_id)
        renewals = list(
            (await session.execute(select(Renewal).where(Renewal.certificate_id == cert_id)))
            .scalars()
            .all()
        )
        jobs = await session.scalar(
            select(func.count()).select_from(Job).where(Job.dedupe_key == f"{RENEW_JOB}:{cert_id}")
        )
    assert cert is not None
    return cert, renewals, int(jobs or 0)


async def test_an_ari_window_that_opened_renews_before_the_own_window(runtime: Runtime) -> None:
    now = utcnow()
    tenant = await new_tenant(runtime, "lc-ari")
    org = await make_org(runtime, tenant.id, acme={"directory_url": "https://ca.invalid/dir"})
    # Own window opens in 50 days; the CA wants it renewed now (e.g. a mass revocation).
    cert = await make_issued(
        runtime, org, not_before=now - 10 * DAY, not_after=now + 80 * DAY, renew_after=now
    )
    fake = FakeAcme(RenewalInfo(iso(now - 2 * DAY), iso(now - DAY)))
    assert await schedule_renewals(with_acme(runtime, fake), now, tenant.id) == 1
    assert await schedule_renewals(with_acme(runtime, fake), now, tenant.id) == 0
    cert, renewals, jobs = await load(runtime, cert.id)
    assert fake.asked == 1
    assert cert.renew_after is None
    assert [r.trigger for r in renewals] == ["ari"] and jobs == 1


async def test_a_later_ari_window_wins_over_an_open_own_window(runtime: Runtime) -> None:
    now = utcnow()
    tenant = await new_tenant(runtime, "lc-ari")
    org = await make_org(runtime, tenant.id, acme={"directory_url": "https://ca.invalid/dir"})
    # Own window is open already, but the CA suggests a window in 5 to 6 days.
    cert = await make_issued(
        runtime, org, not_before=now - 80 * DAY, not_after=now + 10 * DAY, renew_after=now - DAY
    )
    fake = FakeAcme(RenewalInfo(iso(now + 5 * DAY), iso(now + 6 * DAY)))
    assert await schedule_renewals(with_acme(runtime, fake), now, tenant.id) == 0
    cert, renewals, _ = await load(runtime, cert.id)
    assert renewals == []
    # Asked again after ari_recheck_hours (24), before the chosen point in the window.
    assert cert.renew_after == now + DAY
    later = now + 6 * DAY
    assert await schedule_renewals(with_acme(runtime, fake), later, tenant.id) == 1


async def test_without_ari_the_own_window_is_kept(runtime: Runtime) -> None:
    now = utcnow()
    tenant = await new_tenant(runtime, "lc-ari")
    org = await make_org(runtime, tenant.id, acme={"directory_url": "https://ca.invalid/dir"})
    # Due only for its daily ARI look; the own window (30 days before expiry) is 50 days away.
    cert = await make_issued(
        runtime, org, not_before=now - 10 * DAY, not_after=now + 80 * DAY, renew_after=now
    )
    fake = FakeAcme(None)
    assert await schedule_renewals(with_acme(runtime, fake), now, tenant.id) == 0
    cert, renewals, _ = await load(runtime, cert.id)
    assert renewals == [] and fake.asked == 1
    assert cert.renew_after == cert.not_after - 30 * DAY  # type: ignore[operator]


async def test_double_runs_start_one_renewal(runtime: Runtime) -> None:
    now = utcnow()
    tenant = await new_tenant(runtime, "lc-double")
    org = await make_org(runtime, tenant.id)
    due = await make_issued(
        runtime,
        org,
        backend="scm",
        not_before=now - 60 * DAY,
        not_after=now + 20 * DAY,
        renew_after=now - DAY,
    )
    off = await make_issued(
        runtime,
        org,
        backend="scm",
        not_before=now - 60 * DAY,
        not_after=now + 20 * DAY,
        renew_after=now - DAY,
        auto_renew=False,
    )
    results = await asyncio.gather(*(schedule_renewals(runtime, now, tenant.id) for _ in range(4)))
    assert sum(results) == 1
    _, renewals, jobs = await load(runtime, due.id)
    assert len(renewals) == 1 and renewals[0].trigger == "schedule" and jobs == 1
    _, renewals, jobs = await load(runtime, off.id)
    assert renewals == [] and jobs == 0
