"""Inventory jobs: the SCM sync of a tenant's organizations, and the cron that queues it."""

from __future__ import annotations

import logging
import time
from typing import Any

from arq import cron
from arq.cron import CronJob
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import session_scope
from app.domains.sync import sync_domains
from app.errors import Unprocessable
from app.inventory.sync import sync_organization
from app.issuers.scm.errors import ScmError
from app.jobs.handlers import JobContext, job_handler
from app.jobs.models import Job
from app.jobs.service import JobResult, PermanentJobError, enqueue_job
from app.organizations.models import Organization
from app.organizations.scm_access import scm_client_for
from app.organizations.service import get_organization
from app.outbox import nudge
from app.runtime import Runtime
from app.settings import Settings
from app.tenants.models import Tenant, TenantStatus

log = logging.getLogger("certbroker.inventory")

SYNC_JOB = "inventory.sync"
# Well inside the job lease: a large first import continues in the next run instead of
# outliving its lease.
RUN_BUDGET_SECONDS = 120.0


async def queue_sync(
    session: AsyncSession, tenant_id: str, organization_id: str | None = None
) -> Job:
    """Stage a sync of the tenant's SCM organizations (or one of them); at most one active
    job per tenant and scope, so the API and the cron never run two side by side."""
    scope = organization_id or "all"
    return await enqueue_job(
        session,
        SYNC_JOB,
        tenant_id=tenant_id,
        subject=("organization", organization_id) if organization_id else ("tenant", tenant_id),
        payload={"organization_id": organization_id} if organization_id else {},
        dedupe_key=f"{SYNC_JOB}:{tenant_id}:{scope}",
        max_failures=5,
    )


async def request_sync(
    session: AsyncSession, tenant_id: str, organization_id: str | None = None
) -> Job:
    """The API's sync: the organization must be the tenant's and have SCM settings (or, for
    all, at least one must)."""
    if organization_id:
        org = await get_organization(session, organization_id, tenant_id)
        if not org.scm:
            raise Unprocessable.field("body.organization_id", "the organization has no SCM")
    elif not await _organizations(session, tenant_id, None):
        raise Unprocessable("no organization of the tenant has SCM settings")
    job = await queue_sync(session, tenant_id, organization_id)
    await session.flush()
    return job


async def _organizations(
    session: AsyncSession, tenant_id: str, organization_id: str | None
) -> list[Organization]:
    query = select(Organization).where(Organization.tenant_id == tenant_id)
    if organization_id:
        query = query.where(Organization.id == organization_id)
    # JSON null and SQL NULL both mean "no SCM settings", so the filter runs here.
    return [org for org in (await session.execute(query)).scalars() if org.scm]


@job_handler(SYNC_JOB)
async def sync_inventory(ctx: JobContext) -> JobResult:
    session, runtime = ctx.session, ctx.runtime
    assert ctx.job.tenant_id is not None
    orgs = await _organizations(session, ctx.job.tenant_id, ctx.job.payload.get("organization_id"))
    reports, errors = [], []
    started = time.monotonic()
    for org in orgs:
        left = RUN_BUDGET_SECONDS - (time.monotonic() - started)
        if left <= 0:
            return JobResult.later(1.0, "time budget used; continuing")
        try:
            config, client = scm_client_for(runtime, org)
        except ValueError as exc:
            errors.append(f"{org.name}: SCM settings are invalid: {exc}")
            continue
        try:
            report = await sync_organization(
                session,
                org,
                config,
                client,
                checkpoint=session.commit,
                budget_seconds=left,
            )
        except ScmError as exc:
            # Imports made before the error stay (a re-run skips them); the watermark does not
            # move, so the rest is looked at again.
            errors.append(f"{org.name}: {type(exc).__name__}: {exc}")
            continue
        try:
            domains = await sync_domains(session, org, config, client)
        except ScmError as exc:
            errors.append(f"{org.name}: domains: {type(exc).__name__}: {exc}")
        else:
            report.domains_changed = len(domains.changed)
        await session.commit()
        reports.append(report.as_dict())
        log.info("inventory sync of %s", org.name, extra=report.as_dict())
    if errors and not reports and orgs:
        message = "; ".join(errors)
        if all("settings are invalid" in e for e in errors):
            raise PermanentJobError(message)
        raise RuntimeError(message)  # the CA was unreachable: retry with backoff
    if errors:
        log.warning("inventory sync incomplete: %s", "; ".join(errors))
    if any(r["out_of_time"] for r in reports):
        return JobResult.later(1.0, "time budget used; continuing")
    imported = sum(int(r["imported"]) for r in reports)
    return JobResult(note=f"{len(reports)} organizations synced, {imported} imported")


async def queue_inventory_syncs(ctx: dict[str, Any], tenant_id: str | None = None) -> int:
    """Cron: one sync job per active tenant that has an organization with SCM settings
    (`tenant_id` narrows it to one tenant, as the tests do)."""
    runtime: Runtime = ctx["runtime"]
    queued = 0
    async with session_scope(runtime.sessions) as session:
        query = (
            select(Organization.tenant_id, Organization.scm)
            .join(Tenant, Tenant.id == Organization.tenant_id)
            .where(Tenant.status == TenantStatus.ACTIVE)
        )
        if tenant_id is not None:
            query = query.where(Organization.tenant_id == tenant_id)
        rows = await session.execute(query)
        tenants = sorted({tenant_id for tenant_id, scm in rows.all() if scm})
        for tenant in tenants:
            await queue_sync(session, tenant)
        queued = len(tenants)
    if queued:
        await nudge(runtime.redis, runtime.settings.jobs.queue_name)
    return queued


def inventory_crons(settings: Settings) -> list[CronJob]:
    """The sync cron, every `inventory.sync_interval_minutes` (whole minutes up to an hour,
    whole hours beyond); none when the interval is 0."""
    minutes = settings.inventory.sync_interval_minutes
    if minutes <= 0:
        return []
    if minutes < 60:
        schedule: dict[str, Any] = {"minute": set(range(0, 60, minutes)), "second": 0}
    else:
        schedule = {"hour": set(range(0, 24, max(1, minutes // 60))), "minute": 0, "second": 0}
    return [cron(queue_inventory_syncs, name="inventory.sync", unique=True, **schedule)]
