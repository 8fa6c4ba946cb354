"""The SCM inventory sync: every certificate of an organization's SCM account, paged and
incremental, with those the broker did not order imported as `source=scm_import`.

Incremental: `InventorySyncState.max_ssl_id` says which sslIds were already looked at, and
`pending_ssl_ids` which of them were not final yet (Requested, Applied, ...) and are looked at
again. sslIds the inventory already holds (broker orders by backend_ref or their in-flight
state, earlier imports) cost no CA call at all. Never commits; `checkpoint` lets the caller
commit every few imports, which is safe because imported rows are skipped on a re-run.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.products import PRODUCTS, Product
from app.certificates.models import Certificate, CertificateSource, CertificateStatus
from app.certificates.service import transition
from app.db import utcnow
from app.http.pages import keyset_page
from app.inventory.leaf import LeafFacts, read_leaf, to_pem
from app.inventory.models import InventorySyncState
from app.inventory.service import EXTERNAL_PRODUCT, add_external
from app.issuers.scm.client import ScmClient
from app.issuers.scm.config import ScmBackendConfig
from app.issuers.scm.errors import ScmError, ScmNotFoundError
from app.issuers.scm.session import PAGE_SIZE
from app.issuers.scm.ssl import CollectedCertificate
from app.issuers.scm.ssl_models import CertificateDetails
from app.metrics.registry import record_import, timed_ca_call
from app.organizations.models import Organization

ACTOR = "inventory"
# SCM statuses that are a certificate worth monitoring, and what the broker calls them.
IMPORTED = {
    "Issued": CertificateStatus.ISSUED,
    "Revoked": CertificateStatus.REVOKED,
    "Expired": CertificateStatus.EXPIRED,
}
# Final without a certificate: looked at once, never imported. Anything else is re-checked.
DROPPED = {"Declined", "Rejected", "Invalid", "Replaced", "Not Enrolled"}
CHECKPOINT_EVERY = 50
_BROKER_MARKER = re.compile(r"\[certbroker:([0-9a-f]{32})\]")
_LEVEL = re.compile(r"\b(DV|OV|EV)\b")

Checkpoint = Callable[[], Awaitable[None]]


@dataclass(slots=True)
class SyncReport:
    organization_id: str
    seen: int = 0  # listed by SCM
    looked_at: int = 0  # details fetched
    imported: int = 0
    pending: int = 0  # not final yet; looked at again next run
    revoked: int = 0  # held as issued here, revoked in SCM meanwhile
    complete: bool = True  # False when the listing changed while paging, or time ran out
    out_of_time: bool = False  # stopped at the time budget; the caller should run again
    domains_changed: int = 0  # domains whose DCV state the domain sync brought in line

    def as_dict(self) -> dict[str, object]:
        return {
            "organization_id": self.organization_id,
            "seen": self.seen,
            "looked_at": self.looked_at,
            "imported": self.imported,
            "pending": self.pending,
            "revoked": self.revoked,
            "complete": self.complete,
            "out_of_time": self.out_of_time,
            "domains_changed": self.domains_changed,
        }


def product_for_profile(profile_name: str | None) -> Product | None:
    """The catalog product whose SCM profile name this is (case-insensitively), if any."""
    wanted = (profile_name or "").casefold()
    return next((p for p in PRODUCTS.values() if p.name.casefold() == wanted), None)


def _date(value: dt.date | None) -> dt.datetime | None:
    return dt.datetime.combine(value, dt.time(), dt.UTC) if value else None


def _key_type_from_details(details: CertificateDetails) -> str:
    # "RSA - 2048" in details once issued; only the algorithm before that.
    raw = str(details.raw.get("keyType") or details.raw.get("keyAlgorithm") or "unknown")
    return raw.replace(" ", "")[:16] or "unknown"


async def _known_ssl_ids(session: AsyncSession, organization_id: str) -> set[int]:
    """sslIds the inventory already holds for the organization: by backend_ref, and broker
    orders still in flight by the sslId in their backend state."""
    scm_rows = (
        Certificate.organization_id == organization_id,
        Certificate.backend == "scm",
    )
    refs = await session.execute(
        select(Certificate.backend_ref).where(*scm_rows, Certificate.backend_ref.is_not(None))  # type: ignore[union-attr]
    )
    known = {int(ref) for ref in refs.scalars() if ref and ref.isdigit()}
    states = await session.execute(
        select(Certificate.backend_state).where(*scm_rows, Certificate.backend_ref.is_(None))  # type: ignore[union-attr]
    )
    for state in states.scalars():
        if isinstance(state, dict) and str(state.get("ssl_id", "")).isdigit():
            known.add(int(state["ssl_id"]))
    return known


async def _ordered_by_broker(
    session: AsyncSession, tenant_id: str, details: CertificateDetails
) -> bool:
    """True when the order carries the marker of one of the tenant's broker requests: the
    broker placed it and records it itself (possibly under another organization of the tenant
    that shares the SCM account)."""
    ids = _BROKER_MARKER.findall(details.comments or "")
    if not ids:
        return False
    found = await session.execute(
        select(Certificate.id).where(
            Certificate.id.in_(ids),  # type: ignore[attr-defined]
            Certificate.tenant_id == tenant_id,
        )
    )
    return found.first() is not None


async def _collect(
    client: ScmClient, config: ScmBackendConfig, ssl_id: int
) -> CollectedCertificate | None:
    try:
        with timed_ca_call("scm", "collect"):
            return await client.collect_certificate(ssl_id, config.chain_format)
    except ScmError:
        return None  # revoked or expired downloads may be refused; their details suffice


def imported_certificate(
    org: Organization,
    details: CertificateDetails,
    status: CertificateStatus,
    collected: CollectedCertificate | None,
    now: dt.datetime,
) -> Certificate:
    """The inventory row for an SCM certificate the broker did not order."""
    facts: LeafFacts | None = read_leaf(collected.leaf) if collected else None
    product = product_for_profile(details.profile_name)
    level_match = _LEVEL.search(str(details.raw.get("validationType") or ""))
    level = (
        product.validation_level.value
        if product
        else (level_match.group(1) if level_match else (facts.validation_level if facts else ""))
    )
    names = (
        facts.names
        if facts
        else list(dict.fromkeys(n.lower() for n in [details.common_name or "", *details.sans] if n))
    )
    not_before = facts.not_before if facts else _date(details.issued)
    not_after = facts.not_after if facts else _date(details.expires)
    if status == CertificateStatus.ISSUED and not_after is not None and not_after <= now:
        status = CertificateStatus.EXPIRED  # SCM may still say Issued after the end date
    requester = details.raw.get("requester") or details.external_requester or "unknown"
    return Certificate(
        tenant_id=org.tenant_id,
        organization_id=org.id,
        product=product.code if product else EXTERNAL_PRODUCT,
        validation_level=level or "",
        backend="scm",
        common_name=(facts.common_name if facts else (details.common_name or "")).lower()[:253],
        names=names,
        term_days=details.term
        or (max(1, (not_after - not_before).days) if not_after and not_before else 0),
        comments=details.comments[:1024] if details.comments else None,
        auto_renew=False,  # ordered elsewhere: the broker holds no key or order to renew with
        status=status,
        key_type=facts.key_type if facts else _key_type_from_details(details),
        key_source="csr",  # the key stays with whoever ordered it
        csr_pem="",
        public_key_sha256=facts.public_key_sha256 if facts else "",
        requested_by=f"scm:{requester}"[:200],
        backend_state={"ssl_id": details.ssl_id, "scm_status": details.status},
        backend_ref=str(details.ssl_id),
        detail={
            "ordered_outside_broker": True,
            "scm": {
                "ssl_id": details.ssl_id,
                "status": details.status,
                "profile": details.profile_name,
                "requester": requester,
            },
        },
        serial=(facts.serial_hex if facts else details.serial_hex),
        not_before=not_before,
        not_after=not_after,
        leaf_pem=to_pem([collected.leaf]) if collected else None,
        chain_pem=(to_pem(collected.chain) or None) if collected else None,
        issuer_dn=facts.issuer_dn[:500] if facts else None,
        issued_at=not_before,
        revoked_at=_date(details.revoked),
        source=CertificateSource.SCM_IMPORT,
    )


@dataclass(slots=True)
class _Run:
    """One organization's sync in progress: what it may skip and what it decided so far."""

    session: AsyncSession
    org: Organization
    config: ScmBackendConfig
    client: ScmClient
    report: SyncReport
    known: set[int]  # sslIds the inventory holds
    pending: set[int]  # sslIds to look at again next run
    now: dt.datetime

    async def look_at(self, ssl_id: int) -> None:
        """Fetch one order's details; import it, remember it as pending, or let it go."""
        self.report.looked_at += 1
        try:
            with timed_ca_call("scm", "details"):
                details = await self.client.details(ssl_id)
        except ScmNotFoundError:
            return  # deleted since the listing
        if await _ordered_by_broker(self.session, self.org.tenant_id, details):
            return
        status = IMPORTED.get(details.status)
        if status is None:
            if details.status not in DROPPED:
                self.pending.add(ssl_id)
            return
        collected = await _collect(self.client, self.config, ssl_id)
        if collected is None and status == CertificateStatus.ISSUED:
            self.pending.add(ssl_id)  # the download is not ready yet; import it with its PEM later
            return
        add_external(
            self.session,
            imported_certificate(self.org, details, status, collected, self.now),
            self.org,
            ACTOR,
            f"imported from SCM: order {ssl_id} ({details.status}), not ordered through the broker",
        )
        self.known.add(ssl_id)
        self.report.imported += 1


async def notice_revocations(
    session: AsyncSession, org: Organization, config: ScmBackendConfig, client: ScmClient
) -> int:
    """Certificates held here as issued (imported or ordered through the broker) that SCM now
    lists as Revoked were revoked outside the broker (SCM's UI, another tool): record it, so
    monitoring and renewal stop treating them as live. One filtered listing per run."""
    with timed_ca_call("scm", "list"):
        revoked_refs = {
            str(summary.ssl_id)
            async for summary in client.list_certificates(org_id=config.org_id, status="Revoked")
        }
    if not revoked_refs:
        return 0
    live = await session.execute(
        select(Certificate).where(
            Certificate.organization_id == org.id,
            Certificate.backend == "scm",
            Certificate.status.in_((CertificateStatus.ISSUED, CertificateStatus.SUPERSEDED)),  # type: ignore[attr-defined]
            Certificate.backend_ref.in_(sorted(revoked_refs)),  # type: ignore[union-attr]
        )
    )
    noticed = 0
    for cert in live.scalars():
        cert.revoked_at = cert.revoked_at or utcnow()
        transition(
            session,
            cert,
            CertificateStatus.REVOKED,
            ACTOR,
            f"revoked in SCM outside the broker (order {cert.backend_ref})",
        )
        noticed += 1
    return noticed


async def sync_organization(
    session: AsyncSession,
    org: Organization,
    config: ScmBackendConfig,
    client: ScmClient,
    checkpoint: Checkpoint | None = None,
    budget_seconds: float | None = None,
) -> SyncReport:
    """Look at every SCM certificate of `config.org_id` once, import those to monitor.

    With `budget_seconds`, stops looking at orders once the time is up (`out_of_time`); the
    next run continues where this one stopped.
    """
    state = await session.get(InventorySyncState, org.id)
    if state is None:
        state = InventorySyncState(organization_id=org.id, tenant_id=org.tenant_id)
    run = _Run(
        session,
        org,
        config,
        client,
        SyncReport(organization_id=org.id),
        known=await _known_ssl_ids(session, org.id),
        pending=set(),
        now=utcnow(),
    )
    report, recheck = run.report, set(state.pending_ssl_ids)
    deadline = time.monotonic() + budget_seconds if budget_seconds is not None else None
    highest, last_done, ascending = state.max_ssl_id, 0, True
    position, first_total, total = 0, None, None
    while not report.out_of_time:
        with timed_ca_call("scm", "list"):
            page, total = await client.list_certificates_page(
                size=PAGE_SIZE, position=position, org_id=config.org_id
            )
        first_total = total if first_total is None else first_total
        for summary in page:
            ssl_id = summary.ssl_id
            if ssl_id not in run.known and (ssl_id > state.max_ssl_id or ssl_id in recheck):
                if deadline is not None and time.monotonic() > deadline:
                    report.out_of_time = True
                    break
                imported = report.imported
                await run.look_at(ssl_id)
                if (
                    checkpoint
                    and report.imported > imported
                    and report.imported % CHECKPOINT_EVERY == 0
                ):
                    await checkpoint()
            report.seen += 1
            ascending = ascending and ssl_id > last_done
            highest, last_done = max(highest, ssl_id), ssl_id
        position += len(page)
        if not page or len(page) < PAGE_SIZE or (total is not None and position >= total):
            break
    report.complete = (
        not report.out_of_time and first_total == total and (total is None or report.seen >= total)
    )
    if report.complete:
        state.max_ssl_id = highest
    elif report.out_of_time and ascending:
        # The listing came by ascending sslId (as SCM sends it; checked on the way), so every
        # order up to the last one handled is decided.
        state.max_ssl_id = max(state.max_ssl_id, last_done)
        run.pending |= {ssl_id for ssl_id in recheck if ssl_id > last_done}
    else:
        # The listing changed while paging (or is not ordered): an order may have shifted past
        # us, so the watermark stays and everything above it is looked at again next time.
        run.pending |= recheck
    state.pending_ssl_ids = sorted(run.pending)
    state.last_synced_at = state.updated_at = utcnow()
    state.last_seen = report.seen
    state.last_imported = report.imported
    state.total_imported += report.imported
    session.add(state)
    report.pending = len(run.pending)
    if not report.out_of_time:
        report.revoked = await notice_revocations(session, org, config, client)
    record_import(CertificateSource.SCM_IMPORT.value, report.imported)
    return report


async def sync_states(
    session: AsyncSession,
    tenant_id: str,
    *,
    organization_id: str | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> tuple[list[InventorySyncState], str | None]:
    query = select(InventorySyncState).where(InventorySyncState.tenant_id == tenant_id)
    if organization_id:
        query = query.where(InventorySyncState.organization_id == organization_id)
    return await keyset_page(
        session,
        query,
        key=None,
        id_column=InventorySyncState.organization_id,
        cursor=cursor,
        limit=limit,
    )
