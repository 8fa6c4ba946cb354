"""Benchmark: the expiry check and a filtered inventory page over one million certificates.

    uv run python bench/inventory_scale.py [--count 1000000] [--engines sqlite,postgres]
                                           [--runs 7] [--due 1000] [--explain]

For each engine it makes its own database (a SQLite file in a temporary directory; a PostgreSQL
database `certbroker_bench_*` on $CERTBROKER_BENCH_PG, default the test suite's server, dropped at
the end), builds the schema from the models, and bulk-loads `--count` certificates over a few
tenants and organizations: COPY (asyncpg `copy_records_to_table`) on PostgreSQL, `executemany` in
one transaction on SQLite, with the certificate indexes built after the load, then ANALYZE.

The spread is an inventory in steady state: mostly issued certificates with `not_after` over the
next 13 months, some expired, superseded, revoked, failed and still open; products, names and
labels (team, env) vary. `next_alert_at` is the next expiry threshold (30/14/7 days) for issued
certificates and `renew_after` 30 days before expiry for auto-renewed ones. `--due` of them
crossed a threshold (30, 14, 7 days or expiry, in turn) within the last hour, as between two runs
of the alert cron, so the check fires an alert for each and expires a quarter of them.

Measured (median of --runs after one warm-up, each run in its own transaction, rolled back so
every run sees the same data):
  * one expiry check: one batch of the alert engine (app.lifecycle.expiry.check_expiry with
    limit 1000; when that module is absent, its query via SQLAlchemy, and the output says so);
    beside it the range scan alone and, as the peer measured in the same run, the naive check
    that scans the inventory (`status = issued AND not_after < now + 30 days`);
  * a filtered inventory page: app.certificates.service.list_certificates (status, product,
    expires_before, label; 50 rows), the first page and page 21 reached by cursor.
Targets (printed, not asserted): a check under 200 ms, a page under 20 ms. Query plans are printed
when a target is missed, or always with --explain.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
from sqlalchemy import event, func, select
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import SQLModel

from app.catalog.products import PRODUCTS
from app.certificates.models import (
    Certificate,
    CertificateStatus,
    labels_text,
    names_text,
)
from app.certificates.service import list_certificates
from app.db import create_engine, session_factory
from app.models import import_all_models
from app.organizations.models import Organization
from app.tenants.models import Tenant

PG_ADMIN_DSN = os.environ.get(
    "CERTBROKER_BENCH_PG",
    os.environ.get("CERTBROKER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres"),
)
CHECK_TARGET_S = 0.200  # issue 12: one batch of 1,000 due at 1M
PAGE_TARGET_S = 0.020
BATCH = 1000  # certificates per expiry-check batch
PAGE = 50
DEEP_PAGE = 21
CHUNK = 20_000  # rows generated and sent per round trip
THRESHOLDS = (30, 14, 7)
TEAMS = [f"team{n:02d}" for n in range(20)]
SERVER_TYPES = ["nginx", "apache", "kubernetes", "other"]
ENVS = ["prod", "prod", "staging", "dev"]  # half of them prod
# Weighted like a real estate: cheap DV and plain OV dominate.
PRODUCT_WEIGHTS = {
    "positivessl": 30,
    "positivessl-wildcard": 8,
    "positivessl-multi-domain": 6,
    "instantssl": 30,
    "instantssl-pro": 10,
    "instantssl-premium-wildcard": 8,
    "ev-ssl": 8,
}
STATUS_WEIGHTS = {
    CertificateStatus.ISSUED: 80,
    CertificateStatus.EXPIRED: 7,
    CertificateStatus.SUPERSEDED: 6,
    CertificateStatus.REVOKED: 3,
    CertificateStatus.FAILED: 2,
    CertificateStatus.SUBMITTED: 1,
    CertificateStatus.PENDING_VALIDATION: 1,
}
FAKE_CSR = (
    "-----BEGIN CERTIFICATE REQUEST-----\n" + "A" * 600 + "\n-----END CERTIFICATE REQUEST-----\n"
)
FAKE_LEAF = "-----BEGIN CERTIFICATE-----\n" + "B" * 1400 + "\n-----END CERTIFICATE-----\n"


# ---- data -----------------------------------------------------------------------------------


def _picker(rng: random.Random, weights: dict[Any, int]) -> Callable[[], Any]:
    """A weighted choice that is cheap enough to call a million times."""
    table = [item for item, weight in weights.items() for _ in range(weight)]
    return lambda: table[int(rng.random() * len(table))]


def _alert_schedule(not_after: dt.datetime, now: dt.datetime) -> tuple[dt.datetime, int | None]:
    """The next threshold crossing and the last threshold alerted, as the alert engine leaves
    them when it is up to date."""
    days_left = (not_after - now).total_seconds() / 86400
    alerted = None
    for threshold in THRESHOLDS:
        if days_left > threshold:
            return not_after - dt.timedelta(days=threshold), alerted
        alerted = threshold
    return not_after, alerted  # the "expired" alert is next


def certificate_rows(
    count: int, orgs: list[tuple[str, str]], due: int, now: dt.datetime, seed: int = 7
) -> Iterator[list[dict[str, Any]]]:
    """`count` certificate rows (column name -> Python value), CHUNK at a time."""
    rng = random.Random(seed)
    pick_product = _picker(rng, PRODUCT_WEIGHTS)
    pick_status = _picker(rng, STATUS_WEIGHTS)
    label_sets = {
        (t, e): ({"team": t, "env": e}, labels_text({"team": t, "env": e}))
        for t in TEAMS
        for e in ENVS
    }
    levels = {code: PRODUCTS[code].validation_level.value for code in PRODUCT_WEIGHTS}
    day = dt.timedelta(days=1)
    # Spread the due ones over the inventory: every `stride`-th issued certificate, `due` in all.
    stride = max(int(count * 0.75) // due, 1) if due else 0
    issued_seen = marked = 0
    chunk: list[dict[str, Any]] = []
    for n in range(count):
        tenant_id, org_id = orgs[n % len(orgs)]
        product = pick_product()
        status = pick_status()
        team, env = TEAMS[n % len(TEAMS)], ENVS[(n // 7) % len(ENVS)]
        labels, labels_json = label_sets[team, env]
        host = f"h{n}.{team}.example{n % 50}.com"
        names = [host, f"www.{host}"] if n % 5 < 2 else [host]
        created = now - day * (rng.random() * 730)
        term = 365
        not_after: dt.datetime | None = None
        if status in (CertificateStatus.ISSUED, CertificateStatus.REVOKED):
            not_after = now + day * (rng.random() * 397 - 2)
        elif status in (CertificateStatus.EXPIRED, CertificateStatus.SUPERSEDED):
            not_after = now - day * (1 + rng.random() * 364)
        if status == CertificateStatus.ISSUED and not_after < now:
            status = CertificateStatus.EXPIRED
        next_alert_at = renew_after = alerted = None
        auto_renew = n % 20 < 17
        if status == CertificateStatus.ISSUED:
            assert not_after is not None
            next_alert_at, alerted = _alert_schedule(not_after, now)
            issued_seen += 1
            if stride and issued_seen % stride == 0 and marked < due:
                # Crossed a threshold (30, 14, 7 days, or expiry) within the last hour.
                threshold = (*THRESHOLDS, 0)[marked % (len(THRESHOLDS) + 1)]
                not_after = now + day * (threshold - rng.random() / 24)
                next_alert_at, alerted = _alert_schedule(not_after, now - day / 24)
                marked += 1
            if auto_renew:
                renew_after = not_after - 30 * day
        issued = not_after is not None
        chunk.append(
            {
                "id": f"{rng.getrandbits(128):032x}",
                "tenant_id": tenant_id,
                "organization_id": org_id,
                "product": product,
                "validation_level": levels[product],
                "backend": "acme" if product.startswith("positivessl") else "scm",
                "common_name": host,
                "names": names,
                "names_text": names_text(names),
                "term_days": term,
                "server_type": SERVER_TYPES[n % len(SERVER_TYPES)],
                "comments": None,
                "labels": labels,
                "labels_text": labels_json,
                "auto_renew": auto_renew,
                "renew_before_days": None,
                "status": status.value,
                "status_reason": "CA refused" if status == CertificateStatus.FAILED else None,
                "key_type": "EC-P256",
                "key_source": "csr",
                "private_key": None,
                "csr_pem": FAKE_CSR,
                "public_key_sha256": f"{n:064x}",
                "requested_by": f"cb_client{n % 40}",
                "backend_state": {},
                "backend_ref": str(1_000_000 + n) if issued else None,
                "detail": {},
                "serial": f"{n:032x}" if issued else None,
                "not_before": not_after - term * day if not_after else None,
                "not_after": not_after,
                "leaf_pem": FAKE_LEAF if issued else None,
                "chain_pem": None,
                "issuer_dn": "CN=Sectigo Bench CA" if issued else None,
                "issued_at": not_after - term * day if not_after else None,
                "revoked_at": now - 3 * day if status == CertificateStatus.REVOKED else None,
                "revocation_reason": 1 if status == CertificateStatus.REVOKED else None,
                "revocation_requested_at": None,
                "source": "broker",
                "renew_after": renew_after,
                "next_alert_at": next_alert_at,
                "alerted_threshold": alerted,
                "renewal_of": None,
                "superseded_by": None,
                "job_id": None,
                "created_at": created,
                "updated_at": created,
            }
        )
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# ---- databases ------------------------------------------------------------------------------


class Database:
    """One engine's throwaway database: create, load, open sessions, drop."""

    name: str

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: AsyncEngine = create_engine(url)

    async def create_schema(self) -> None:
        import_all_models()
        async with self.engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.create_all)

    async def seed_owners(self, tenants: int, orgs_per_tenant: int) -> list[tuple[str, str]]:
        owners = []
        async with session_factory(self.engine)() as session:
            for t in range(tenants):
                tenant = Tenant(name=f"bench-{t}", slug=f"bench-{t}")
                session.add(tenant)
                await session.flush()  # no ORM relationship orders the inserts for us
                for o in range(orgs_per_tenant):
                    org = Organization(tenant_id=tenant.id, name=f"org-{t}-{o}")
                    session.add(org)
                    owners.append((tenant.id, org.id))
            await session.commit()
        return owners

    async def load(self, rows: Iterator[list[dict[str, Any]]]) -> None:
        raise NotImplementedError

    async def drop_indexes(self) -> None:
        table = Certificate.__table__  # type: ignore[attr-defined]
        async with self.engine.begin() as conn:
            for index in table.indexes:
                await conn.run_sync(index.drop)

    async def create_indexes(self) -> None:
        table = Certificate.__table__  # type: ignore[attr-defined]
        async with self.engine.begin() as conn:
            for index in table.indexes:
                await conn.run_sync(index.create)
            await conn.exec_driver_sql("ANALYZE")

    async def explain(self, statement: str, parameters: Any) -> str:
        raise NotImplementedError

    async def close(self) -> None:
        await self.engine.dispose()


class SqliteDatabase(Database):
    name = "sqlite"

    def __init__(self, directory: Path) -> None:
        self.path = directory / "inventory.db"
        super().__init__(f"sqlite+aiosqlite:///{self.path}")

    async def load(self, rows: Iterator[list[dict[str, Any]]]) -> None:
        await asyncio.to_thread(self._load, rows)

    def _load(self, rows: Iterator[list[dict[str, Any]]]) -> None:
        plan = _converters("sqlite")
        sql = str(Certificate.__table__.insert().compile(dialect=sqlite_dialect()))  # type: ignore[attr-defined]
        conn = sqlite3.connect(self.path)
        try:
            conn.execute("PRAGMA synchronous=OFF")
            with conn:  # one transaction
                for chunk in rows:
                    conn.executemany(sql, _records(chunk, plan))
        finally:
            conn.close()

    async def explain(self, statement: str, parameters: Any) -> str:
        async with self.engine.connect() as conn:
            plan = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            return "\n".join(f"    {row[3]}" for row in plan)


def _to_sqlite_datetime(value: dt.datetime | None) -> str | None:
    # As UTCDateTime and SQLAlchemy's SQLite dialect store them: naive UTC, microseconds always.
    return (
        value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        if value
        else None
    )


def _converters(dialect: str) -> list[tuple[str, Callable[[Any], Any] | None]]:
    """(column, how to turn the generated Python value into what the driver takes) in table
    order; decided once per column, not per value."""
    plan: list[tuple[str, Callable[[Any], Any] | None]] = []
    for column in Certificate.__table__.columns:  # type: ignore[attr-defined]
        kind = column.type.__class__.__name__
        convert: Callable[[Any], Any] | None = None
        if kind == "JSON":
            convert = json.dumps
        elif kind == "UTCDateTime" and dialect == "sqlite":
            convert = _to_sqlite_datetime
        plan.append((column.name, convert))
    return plan


def _records(chunk: list[dict[str, Any]], plan: list[tuple[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(f(row[c]) if f else row[c] for c, f in plan) for row in chunk]


class PostgresDatabase(Database):
    name = "postgres"

    def __init__(self) -> None:
        self.db_name = f"certbroker_bench_{uuid.uuid4().hex[:8]}"
        host_part = PG_ADMIN_DSN.split("://", 1)[1].rsplit("/", 1)[0]
        self.dsn = f"postgresql://{host_part}/{self.db_name}"
        super().__init__(f"postgresql+asyncpg://{host_part}/{self.db_name}")

    async def create_schema(self) -> None:
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await admin.execute(f'CREATE DATABASE "{self.db_name}"')
        finally:
            await admin.close()
        await super().create_schema()

    async def load(self, rows: Iterator[list[dict[str, Any]]]) -> None:
        plan = _converters("postgresql")
        columns = [name for name, _ in plan]
        conn = await asyncpg.connect(self.dsn)
        try:
            async with conn.transaction():
                for chunk in rows:
                    records = _records(chunk, plan)
                    await conn.copy_records_to_table(
                        "certificate", records=records, columns=columns
                    )
        finally:
            await conn.close()

    async def explain(self, statement: str, parameters: Any) -> str:
        async with self.engine.connect() as conn:
            plan = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            return "\n".join(f"    {row[0]}" for row in plan)

    async def close(self) -> None:
        await super().close()
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        finally:
            await admin.close()


# ---- measuring ------------------------------------------------------------------------------


class StatementClock:
    """Statements a call sends and the time spent in them (driver round trips included), to
    say what bounds it: the database, or Python around it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine.sync_engine
        self.statements: list[tuple[str, float]] = []
        self._started = 0.0

    def __enter__(self) -> StatementClock:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, *_: Any) -> None:
        self._started = time.perf_counter()

    def _after(self, _conn, _cursor, statement, *_: Any) -> None:
        words = " ".join(statement.split())
        self.statements.append((words[:48], time.perf_counter() - self._started))

    def summary(self) -> str:
        total = sum(seconds for _, seconds in self.statements)
        parts = ", ".join(
            f"{sql.split(' ')[0]} {seconds * 1000:.1f}" for sql, seconds in self.statements
        )
        return f"{len(self.statements)} statements, {total * 1000:.1f} ms in the database ({parts})"


class Captured:
    """The first SELECT a timed call sends, with its parameters, for EXPLAIN."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine.sync_engine
        self.first: tuple[str, Any] | None = None

    def __enter__(self) -> Captured:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cursor, statement, parameters, _context, _many) -> None:
        if self.first is None and statement.lstrip().upper().startswith("SELECT"):
            self.first = (statement, parameters)


async def timed(
    db: Database, runs: int, call: Callable[[AsyncSession], Awaitable[Any]]
) -> tuple[float, Any, tuple[str, Any] | None]:
    """Median seconds of `call` over `runs` (after a warm-up), each in a rolled-back
    transaction; its last result; the first SELECT it sent."""
    sessions = session_factory(db.engine)
    samples, result, captured = [], None, None
    for attempt in range(runs + 1):
        async with sessions() as session:
            with Captured(db.engine) as capture:
                started = time.perf_counter()
                result = await call(session)
                elapsed = time.perf_counter() - started
            await session.rollback()
        captured = captured or capture.first
        if attempt:
            samples.append(elapsed)
    return statistics.median(samples), result, captured


def _expiry_check() -> tuple[Callable[[AsyncSession, dt.datetime], Awaitable[int]], str]:
    try:
        expiry = importlib.import_module("app.lifecycle.expiry")
    except ImportError:
        expiry = None
    if expiry is not None and hasattr(expiry, "check_expiry"):
        return (
            lambda session, now: expiry.check_expiry(session, now, BATCH),
            "app.lifecycle.expiry.check_expiry",
        )

    async def same_query(session: AsyncSession, now: dt.datetime) -> int:
        return len(list((await session.execute(_due_query(now))).scalars()))

    return same_query, "the alert engine's query via SQLAlchemy (app.lifecycle.expiry is absent)"


def _due_query(now: dt.datetime) -> Any:
    return (
        select(Certificate)
        .where(Certificate.next_alert_at <= now)  # type: ignore[operator]
        .order_by(Certificate.next_alert_at)
        .limit(BATCH)
    )


def _naive_query(now: dt.datetime) -> Any:
    return select(Certificate.id, Certificate.not_after, Certificate.alerted_threshold).where(
        Certificate.status == CertificateStatus.ISSUED,
        Certificate.not_after < now + dt.timedelta(days=THRESHOLDS[0]),  # type: ignore[operator]
    )


def _ratio(seconds: float, target: float) -> str:
    verdict = "ok" if seconds < target else "MISSED"
    return f"{seconds / target:.3f}x the {target * 1000:.0f} ms target, {verdict}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:9.1f} ms"


async def measure(db: Database, args: argparse.Namespace, tenant_id: str) -> dict[str, float]:
    now = dt.datetime.now(dt.UTC)
    figures: dict[str, float] = {}
    plans: list[tuple[str, tuple[str, Any] | None, bool]] = []

    check, check_name = _expiry_check()
    seconds, due, sql = await timed(db, args.runs, lambda s: check(s, now))
    figures["check"], figures["due"] = seconds, due
    print(f"  expiry check, one batch of <= {BATCH} ({check_name}; {due} due):")
    print(f"    {_ms(seconds)}   {_ratio(seconds, CHECK_TARGET_S)}")
    plans.append(("expiry check", sql, seconds >= CHECK_TARGET_S))
    async with session_factory(db.engine)() as session:
        with StatementClock(db.engine) as clock:
            started = time.perf_counter()
            await check(session, now)
            elapsed = time.perf_counter() - started
        await session.rollback()
    print(f"    one more run, {elapsed * 1000:.1f} ms: {clock.summary()}")

    async def range_scan(session: AsyncSession) -> int:
        return len(list((await session.execute(_due_query(now))).scalars()))

    seconds, _, sql = await timed(db, args.runs, range_scan)
    figures["range_scan"] = seconds
    print(f"  its range scan alone (next_alert_at <= now, indexed):  {_ms(seconds)}")
    plans.append(("range scan", sql, False))

    async def naive(session: AsyncSession) -> int:
        return len((await session.execute(_naive_query(now))).all())

    seconds, rows, sql = await timed(db, args.runs, naive)
    figures["naive"] = seconds
    print(
        f"  peer: naive check scanning the inventory (issued, not_after < now + 30 d;"
        f" {rows:,} rows):  {_ms(seconds)}   = {seconds / figures['range_scan']:.0f}x the range"
        " scan"
    )
    plans.append(("naive check", sql, False))

    filters = {
        "status": [CertificateStatus.ISSUED],
        "product": "instantssl",
        "expires_before": now + dt.timedelta(days=90),
        "label": {"env": "prod"},
        "limit": PAGE,
    }

    async def first_page(session: AsyncSession) -> tuple[list, str | None]:
        return await list_certificates(session, tenant_id, **filters)  # type: ignore[arg-type]

    seconds, (items, cursor), sql = await timed(db, args.runs, first_page)
    figures["page"], figures["page_rows"] = seconds, len(items)
    print(
        "  inventory page 1 (issued, instantssl, expiring within 90 d, env=prod;"
        f" {len(items)} rows):  {_ms(seconds)}   {_ratio(seconds, PAGE_TARGET_S)}"
    )
    plans.append(("inventory page 1", sql, seconds >= PAGE_TARGET_S))

    async with session_factory(db.engine)() as session:
        for _ in range(DEEP_PAGE - 2):
            if cursor is None:
                break
            _, cursor = await list_certificates(session, tenant_id, cursor=cursor, **filters)  # type: ignore[arg-type]
    if cursor is not None:

        async def deep_page(session: AsyncSession) -> tuple[list, str | None]:
            return await list_certificates(session, tenant_id, cursor=cursor, **filters)  # type: ignore[arg-type]

        seconds, (items, _), sql = await timed(db, args.runs, deep_page)
        figures["deep_page"] = seconds
        print(
            f"  inventory page {DEEP_PAGE} by cursor ({len(items)} rows):  {_ms(seconds)}   "
            f"{_ratio(seconds, PAGE_TARGET_S)}"
        )
        plans.append((f"inventory page {DEEP_PAGE}", sql, seconds >= PAGE_TARGET_S))
    else:
        print(f"  inventory page {DEEP_PAGE}: fewer than {DEEP_PAGE} pages match")

    for label, captured, missed in plans:
        if captured and (missed or args.explain):
            print(f"  plan of the {label}:")
            print(await db.explain(*captured))
    return figures


async def bench_engine(db: Database, args: argparse.Namespace) -> dict[str, float]:
    started = time.perf_counter()
    await db.create_schema()
    owners = await db.seed_owners(args.tenants, args.orgs)
    await db.drop_indexes()
    now = dt.datetime.now(dt.UTC)
    loaded = time.perf_counter()
    await db.load(certificate_rows(args.count, owners, args.due, now))
    load_s = time.perf_counter() - loaded
    indexed = time.perf_counter()
    await db.create_indexes()
    index_s = time.perf_counter() - indexed
    async with session_factory(db.engine)() as session:
        count = await session.scalar(select(func.count()).select_from(Certificate))
        tenant_id, per_tenant = (
            await session.execute(
                select(Certificate.tenant_id, func.count())
                .group_by(Certificate.tenant_id)
                .order_by(func.count().desc())
                .limit(1)
            )
        ).one()
    print(
        f"== {db.name}: {count:,} certificates ({args.tenants} tenants x {args.orgs} organizations)"
        f" loaded in {load_s:.1f} s ({count / load_s:,.0f} rows/s), indexes + ANALYZE"
        f" {index_s:.1f} s; pages from a tenant of {per_tenant:,}"
    )
    figures = await measure(db, args, tenant_id)
    figures["load"] = load_s
    print(f"  ({time.perf_counter() - started:.0f} s for {db.name})")
    return figures


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--runs", type=int, default=7, help="timed runs after one warm-up")
    parser.add_argument("--due", type=int, default=1000, help="certificates due at the check")
    parser.add_argument("--tenants", type=int, default=4)
    parser.add_argument("--orgs", type=int, default=3, help="organizations per tenant")
    parser.add_argument("--explain", action="store_true", help="print every query plan")
    args = parser.parse_args(argv)
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(args.engines) - {"sqlite", "postgres"}
    if unknown:
        parser.error(f"unknown engines: {', '.join(sorted(unknown))}")
    return args


async def run(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="certbroker-bench-") as directory:
        for name in args.engines:
            db: Database = (
                SqliteDatabase(Path(directory)) if name == "sqlite" else PostgresDatabase()
            )
            try:
                results[name] = await bench_engine(db, args)
            finally:
                await db.close()
    return results


def main(argv: list[str] | None = None) -> None:
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
