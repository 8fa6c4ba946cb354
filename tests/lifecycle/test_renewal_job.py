"""The renewal job's watch over a successor, driven directly: a failed successor raises an
alert and is retried with backoff until the attempts run out; issued or revoked ends it."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select

from app.certificates.models import Certificate, CertificateStatus
from app.db import utcnow
from app.jobs.models import Job, JobState
from app.jobs.service import JobResult
from app.lifecycle.jobs import _every
from app.lifecycle.models import Alert, AlertKind, Renewal, RenewalState
from app.lifecycle.renewal import advance_renewal, start_renewal
from app.runtime import Runtime
from app.settings import LifecycleSettings
from tests.auth.factories import new_tenant
from tests.lifecycle.conftest import make_issued, make_org

DAY = dt.timedelta(days=1)


async def renewing(runtime: Runtime, status: CertificateStatus) -> tuple[str, str]:
    """An issued certificate whose renewal ordered a successor that is now in `status`."""
    now = utcnow()
    tenant = await new_tenant(runtime, "lc-job")
    org = await make_org(runtime, tenant.id)
    old = await make_issued(runtime, org, not_before=now - 60 * DAY, not_after=now + 20 * DAY)
    new = await make_issued(
        runtime, org, not_before=now, not_after=now + 90 * DAY, renewal_of=old.id
    )
    async with runtime.sessions() as session:
        row = await session.get(Certificate, old.id)
        assert row is not None
        renewal = await start_renewal(session, row, trigger="schedule", actor="test")
        renewal.successor_id = new.id
        # This test drives the job itself; a worker running in the session must not.
        job = await session.get(Job, renewal.job_id)
        assert job is not None
        job.state = JobState.CANCELLED
        successor = await session.get(Certificate, new.id)
        assert successor is not None
        successor.status, successor.status_reason = status, "the CA said no"
        await session.commit()
    return old.id, new.id


async def state(runtime: Runtime, cert_id: str) -> tuple[Renewal, list[Alert]]:
    async with runtime.sessions() as session:
        renewal = (
            await session.execute(select(Renewal).where(Renewal.certificate_id == cert_id))
        ).scalar_one()
        alerts = list(
            (await session.execute(select(Alert).where(Alert.certificate_id == cert_id))).scalars()
        )
    return renewal, alerts


async def step(runtime: Runtime, cert_id: str, executions: int = 1) -> JobResult:
    async with runtime.sessions() as session:
        result = await advance_renewal(session, runtime, cert_id, executions)
        await session.commit()
    return result


async def fail_successor(runtime: Runtime, cert_id: str) -> None:
    """What the next attempt's order would produce when the CA refuses again."""
    async with runtime.sessions() as session:
        renewal = (
            await session.execute(select(Renewal).where(Renewal.certificate_id == cert_id))
        ).scalar_one()
        renewal.successor_id = (
            await session.execute(
                select(Certificate.id).where(Certificate.renewal_of == cert_id).limit(1)
            )
        ).scalar_one()
        await session.commit()


async def test_a_failed_successor_alerts_and_retries_with_backoff(runtime: Runtime) -> None:
    tight = dataclasses.replace(
        runtime,
        settings=runtime.settings.model_copy(
            update={"lifecycle": LifecycleSettings(renewal_max_attempts=3)}
        ),
    )
    old_id, _ = await renewing(runtime, CertificateStatus.FAILED)
    delays = []
    for attempt in (1, 2, 3):
        if attempt > 1:
            await fail_successor(runtime, old_id)
        result = await step(tight, old_id)
        delays.append(result.again_in)
        renewal, alerts = await state(runtime, old_id)
        (alert,) = alerts
        assert alert.kind == AlertKind.RENEWAL_FAILED and alert.occurrences == attempt
        assert "the CA said no" in alert.message
    assert delays == [300, 600, None]  # backoff, then it waits for a person
    assert renewal.state == RenewalState.FAILED and alert.severity == "critical"
    assert renewal.failures == 3 and renewal.successor_id is None

    # A manual renew (or the next start) begins again from a clean slate.
    async with runtime.sessions() as session:
        row = await session.get(Certificate, old_id)
        assert row is not None
        again = await start_renewal(session, row, trigger="manual", actor="someone")
        await session.commit()
    assert again.state == RenewalState.ORDERING and again.failures == 0


async def test_watching_ends_when_the_successor_is_issued_or_the_old_one_revoked(
    runtime: Runtime,
) -> None:
    old_id, _ = await renewing(runtime, CertificateStatus.SUBMITTED)
    waiting = await step(runtime, old_id)
    assert waiting.again_in is not None and waiting.again_in <= 900
    async with runtime.sessions() as session:
        row = await session.get(Certificate, old_id)
        assert row is not None
        row.status = CertificateStatus.REVOKED
        await session.commit()
    assert (await step(runtime, old_id)).again_in is None
    renewal, alerts = await state(runtime, old_id)
    assert renewal.state == RenewalState.CANCELLED and alerts == []

    old_id, _ = await renewing(runtime, CertificateStatus.ISSUED)
    assert (await step(runtime, old_id)).again_in is None
    renewal, _ = await state(runtime, old_id)
    assert renewal.state == RenewalState.DONE


def test_check_interval_becomes_a_cron_schedule() -> None:
    assert _every(20) == {"second": {0, 20, 40}}
    assert _every(300) == {"minute": set(range(0, 60, 5)), "second": 0}
    assert _every(7200) == {"hour": set(range(0, 24, 2)), "minute": 0, "second": 0}


async def test_a_renewal_whose_job_died_can_start_again(runtime: Runtime) -> None:
    old_id, new_id = await renewing(runtime, CertificateStatus.SUBMITTED)  # job cancelled
    async with runtime.sessions() as session:
        row = await session.get(Certificate, old_id)
        assert row is not None
        again = await start_renewal(session, row, trigger="manual", actor="someone")
        job = await session.get(Job, again.job_id)
        assert job is not None and job.state == JobState.PENDING
        job.state = JobState.CANCELLED  # still driven by hand here
        await session.commit()
    # The successor still on its way is watched again, not ordered a second time.
    assert again.state == RenewalState.ORDERING and again.successor_id == new_id
