"""Benchmark: order accept (POST /v1/certificates until its 202) against a floor reference, and
GET /v1/certificates at a million certificates.

    uv run python bench/api_load.py [--seconds 5] [--concurrency 1,16,64] [--levels DV,OV,EV]
                                    [--api-processes CORES] [--list-count 1000000] [--list-runs 50]

Everything runs on a PostgreSQL database of its own (CERTBROKER_BENCH_PG, default the test
suite's server; dropped at the end) and a Redis queue of its own. The broker is the real
`certbroker serve` process (`--api-processes` of them on one port, by default one per core as a
deployment runs it); no worker runs, so accepted orders wait in the database and the outbox,
which is what accept means.

Set-up (not measured): migrations, a tenant with an API client holding every tenant scope, an
organization with SCM and ACME settings, example.com and example.org validated for it and an EV
approver, and one CSR per order made beforehand (unique names per order, EC P-256), so the
client's own CPU is spent on HTTP only.

Measured, closed loop (each of N callers sends its next order when the last is answered) for
`--seconds` after a warm-up, per level (DV: positivessl via ACME, submitted and queued; OV:
instantssl via SCM, submitted and queued; EV: ev-ssl, waiting for approval) and concurrency:
orders/s, p50 and p99 latency, and the API processes' CPU per order; beside them the CPU per order
of PostgreSQL, Redis and the load generator, and how busy the machine's cores were (near 100 %,
the cores bound the rate: it is at most cores / the CPU of one order, all parts summed).

The floor reference, measured the same way in the same run: a minimal FastAPI + asyncpg app
(this script with `--floor`, as many processes) that authenticates the bearer token the same
way (ES256 signature and claims with the same code, the client's and the tenant's status cached
10 s as the broker does) and, in one transaction, writes the same rows the broker wrote for an
order of that level: they are copied from the rows one broker order of each level left in every
table (found by diffing the tables around it), with fresh ids and the request's name and CSR.
The floor checks nothing else (not the CSR's signature either, which the broker verifies: about
0.2 ms of CPU for EC P-256 here): it is what the hardware, HTTP and the database cost.

Then the listing: `--list-count` certificates are loaded into the tenant (COPY, the spread of
bench/inventory_scale.py) and GET /v1/certificates (issued, instantssl, expiring within 90 days,
env=prod, 50 rows) is timed one request at a time, the first page and page 21 by cursor.

Targets (printed, not asserted; issue 12): accept one at a time <= 4 ms median; at 64
concurrent >= 400 orders/s, p99 <= 150 ms and >= 50 % of the floor; a list page <= 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg
import httpx
import loadgen
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

PRODUCTS = {"DV": "positivessl", "OV": "instantssl", "EV": "ev-ssl"}
DOMAINS = {"DV": "example.com", "OV": "example.org", "EV": "example.com"}
ACCEPT_P50_TARGET = 0.004
RATE_TARGET = 400.0
P99_TARGET = 0.150
FLOOR_SHARE_TARGET = 0.5
PAGE_TARGET = 0.020
TENANT_SCOPES_EXCLUDED = {"platform:admin"}


# ---- set-up -----------------------------------------------------------------------------------


async def bootstrap(env: dict[str, str]) -> dict[str, Any]:
    """Tenant, clients, organization and validated domains, made with the broker's own code."""
    from app.auth.principal import Scope
    from app.auth.signing_keys import ensure_signing_key
    from app.clients.service import create_api_client
    from app.db import session_scope, utcnow
    from app.domains.models import Domain, DomainStatus
    from app.models import import_all_models
    from app.organizations.schemas import OrganizationCreate
    from app.organizations.service import create_organization
    from app.runtime import Runtime
    from app.settings import Settings
    from app.tenants.service import create_tenant

    import_all_models()
    settings: Settings = loadgen.settings_from(env)  # as the broker's processes read it
    runtime = Runtime.build(settings)
    try:
        async with session_scope(runtime.sessions) as session:
            await ensure_signing_key(session, runtime)
            tenant = await create_tenant(session, "bench")
            scopes = [s.value for s in Scope if s.value not in TENANT_SCOPES_EXCLUDED]
            client, secret = await create_api_client(session, tenant.id, "bench", scopes)
            approver, _ = await create_api_client(
                session, tenant.id, "approver", [Scope.APPROVALS_WRITE.value]
            )
            # Wired like the sandbox organization (nothing is called at accept time).
            wired = {
                "allowed_domains": sorted(set(DOMAINS.values())),
                "scm": {
                    "base_url": "http://127.0.0.1:9/api",
                    "login": "bench",
                    "password": "bench",
                    "customer_uri": "bench",
                    "org_id": 1234,
                },
                "acme": {
                    "directory_url": "https://127.0.0.1:9/dir",
                    "eab_kid": "bench",
                    "eab_hmac_key": "YmVuY2gtZWFiLWhtYWMta2V5LTMyLWJ5dGVzLWxvbmc",
                    "contact_email": "pki@example.com",
                    "challenge_types": ["http-01"],
                },
                "approvers": {"EV": [approver.client_id]},
            }
            org = await create_organization(
                session,
                tenant.id,
                OrganizationCreate.model_validate({"name": "bench", **wired}),
                runtime.secretbox,
                runtime.egress,
            )
            now = utcnow()
            for name in sorted(set(DOMAINS.values())):
                session.add(
                    Domain(
                        tenant_id=tenant.id,
                        organization_id=org.id,
                        name=name,
                        status=DomainStatus.VALIDATED,
                        method="cname",
                        validated_at=now,
                        expires_at=now + dt.timedelta(days=390),
                    )
                )
        return {
            "tenant_id": tenant.id,
            "organization_id": org.id,
            "client_id": client.client_id,
            "secret": secret,
            "issuer": settings.auth.issuer,
            "audience": settings.auth.audience,
        }
    finally:
        await runtime.close()


def make_bodies(level: str, count: int, organization_id: str) -> list[dict[str, Any]]:
    from app.catalog.products import KeyType
    from app.crypto.csr import build_csr
    from app.crypto.keys import generate_key

    run = uuid.uuid4().hex[:6]
    bodies = []
    for n in range(count):
        name = f"{level.lower()}-{run}-{n}.{DOMAINS[level]}"
        bodies.append(
            {
                "organization_id": organization_id,
                "product": PRODUCTS[level],
                "common_name": name,
                "csr": build_csr(generate_key(KeyType.EC_P256), [name]),
                "labels": {"team": "bench", "env": "prod"},
            }
        )
    return bodies


async def token(base: str, setup: dict[str, Any]) -> str:
    async with httpx.AsyncClient(base_url=base) as client:
        answer = await client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(setup["client_id"], setup["secret"]),
        )
        answer.raise_for_status()
        return answer.json()["access_token"]


async def table_keys(conn: asyncpg.Connection) -> dict[str, set[tuple[Any, ...]]]:
    """Every table's primary keys (the tables are small while this is used)."""
    from sqlmodel import SQLModel

    from app.models import import_all_models

    import_all_models()
    keys: dict[str, set[tuple[Any, ...]]] = {}
    for table in SQLModel.metadata.sorted_tables:
        pk = [c.name for c in table.primary_key.columns]
        rows = await conn.fetch(f'SELECT {", ".join(pk)} FROM "{table.name}"')  # noqa: S608
        keys[table.name] = {tuple(row) for row in rows}
    return keys


async def template_order(
    base: str, dsn: str, bearer: str, body: dict[str, Any]
) -> dict[str, list[list[Any]]]:
    """One order through the broker; the primary keys of the rows it added, per table."""
    conn = await asyncpg.connect(dsn)
    try:
        before = await table_keys(conn)
        async with httpx.AsyncClient(base_url=base) as client:
            answer = await client.post("/v1/certificates", json=body, headers=bearer_header(bearer))
            if answer.status_code != 202:
                raise RuntimeError(f"template order refused: {answer.status_code} {answer.text}")
        await asyncio.sleep(0.5)  # anything the request finishes after answering
        after = await table_keys(conn)
    finally:
        await conn.close()
    return {
        table: [list(key) for key in sorted(after[table] - before[table], key=str)]
        for table in after
        if after[table] - before[table]
    }


def bearer_header(bearer: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {bearer}"}


# ---- the floor reference ----------------------------------------------------------------------


def floor_app(dsn: str, templates_file: str) -> Any:
    """The minimal app: token check as the broker does it, then the same rows in one
    transaction."""
    import contextlib

    from joserfc.jwk import ECKey
    from sqlmodel import SQLModel

    from app.auth.signing_keys import ALGORITHM
    from app.auth.tokens import verify_jwt
    from app.models import import_all_models

    import_all_models()
    spec = json.loads(Path(templates_file).read_text())
    order = [t.name for t in SQLModel.metadata.sorted_tables]
    serial = {
        t.name
        for t in SQLModel.metadata.sorted_tables
        if any(c.autoincrement is True or (c.primary_key and str(c.type) == "INTEGER")
               for c in t.primary_key.columns)
    }  # fmt: skip
    state: dict[str, Any] = {}
    ttl = 10.0

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        pool = await asyncpg.create_pool(dsn, min_size=2, max_size=10)
        assert pool is not None
        state["pool"] = pool
        keys = await pool.fetch("SELECT kid, public_jwk FROM signing_key")
        state["keys"] = {
            row["kid"]: ECKey.import_key(json.loads(row["public_jwk"])) for row in keys
        }
        state["cache"] = {}
        state["templates"] = {}
        for level, tables in spec["templates"].items():
            rows: dict[str, list[dict[str, Any]]] = {}
            old_ids: list[str] = []
            for table in order:
                if table not in tables:
                    continue
                pk_cols = spec["pk"][table]
                for key in tables[table]:
                    where = " AND ".join(f"{c} = ${i + 1}" for i, c in enumerate(pk_cols))
                    record = await pool.fetchrow(f'SELECT * FROM "{table}" WHERE {where}', *key)  # noqa: S608
                    row = dict(record)
                    if table in serial:
                        for c in pk_cols:
                            row.pop(c)
                    else:
                        old_ids += [row[c] for c in pk_cols if isinstance(row[c], str)]
                    rows.setdefault(table, []).append(row)
            state["templates"][level] = (rows, old_ids)
        yield
        await pool.close()

    app = FastAPI(lifespan=lifespan)

    async def cached(kind: str, key: str, query: str) -> Any:
        now = time.monotonic()
        hit = state["cache"].get((kind, key))
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
        value = await state["pool"].fetchval(query, key)
        state["cache"][(kind, key)] = (now, value)
        return value

    async def principal(request: Request) -> dict[str, Any]:
        scheme, _, raw = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            raise HTTPException(401)
        from joserfc import jws

        header = jws.extract_compact(raw.encode()).headers()
        key = state["keys"].get(header.get("kid"))
        if key is None or header.get("alg") != ALGORITHM:
            raise HTTPException(401)
        claims = verify_jwt(
            raw,
            key,
            algorithm=ALGORITHM,
            issuer=spec["issuer"],
            audience=spec["audience"],
            required=("sub", "tenant", "client_id", "iat", "nbf"),
        )
        if await cached("client", claims["client_id"], _CLIENT_SQL) != "active":
            raise HTTPException(401)
        if not await cached("tenant", claims["tenant"], _TENANT_SQL):
            raise HTTPException(401)
        if "certificates:write" not in str(claims.get("scope", "")).split():
            raise HTTPException(403)
        return claims

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/certificates", status_code=202, response_model=None)
    async def accept(request: Request) -> JSONResponse:
        claims = await principal(request)
        body = json.loads(await request.body())
        level = spec["levels"][body["product"]]
        rows, old_ids = state["templates"][level]
        fresh = {old: old[:-32] + uuid.uuid4().hex for old in old_ids}
        cert_id = next(iter(fresh.values()))
        name = body["common_name"]
        async with state["pool"].acquire() as conn, conn.transaction():
            for table, template in rows.items():
                records = []
                for row in template:
                    copy = {}
                    for column, value in row.items():
                        if isinstance(value, str):
                            for old, new in fresh.items():
                                if old in value:
                                    value = value.replace(old, new)
                        copy[column] = value
                    if table == "certificate":
                        cert_id = copy["id"]
                        copy["common_name"], copy["csr_pem"] = name, body["csr"]
                        copy["names"], copy["names_text"] = json.dumps([name]), f" {name} "
                        copy["requested_by"] = claims["sub"]
                    records.append(copy)
                columns = list(records[0])
                placeholders = ", ".join(f"${i + 1}" for i in range(len(columns)))
                await conn.executemany(
                    f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({placeholders})',  # noqa: S608
                    [tuple(r[c] for c in columns) for r in records],
                )
        return JSONResponse({"id": cert_id, "status": "accepted"}, status_code=202)

    return app


_CLIENT_SQL = "SELECT status FROM api_client WHERE client_id = $1"
_TENANT_SQL = "SELECT status = 'active' FROM tenant WHERE id = $1 OR slug = $1 LIMIT 1"


def serve_floor(args: argparse.Namespace) -> None:
    import uvicorn

    if args.api_processes > 1:
        uvicorn.run(
            "api_load:floor_factory",
            factory=True,
            host="127.0.0.1",
            port=args.port,
            workers=args.api_processes,
            log_config=None,
            access_log=False,
        )
    else:
        uvicorn.run(
            floor_app(args.dsn, args.templates),
            host="127.0.0.1",
            port=args.port,
            log_config=None,
            access_log=False,
        )


def floor_factory() -> Any:
    return floor_app(os.environ["BENCH_FLOOR_DSN"], os.environ["BENCH_FLOOR_TEMPLATES"])


# ---- measuring --------------------------------------------------------------------------------


async def accept_load(
    base: str,
    bearer: str,
    bodies: list[dict[str, Any]],
    concurrency: int,
    seconds: float,
    cpu_of: Any,
) -> loadgen.LoadResult:
    headers = {**bearer_header(bearer), "Content-Type": "application/json"}
    payloads = [json.dumps(body).encode() for body in bodies]

    async def send(connection: loadgen.HttpConnection, n: int) -> httpx.Response:
        return await connection.request(
            "POST", "/v1/certificates", payloads[n % len(payloads)], headers
        )

    return await loadgen.closed_loop(
        base, send, concurrency=concurrency, seconds=seconds, cpu_of=cpu_of
    )


async def run_accept(
    label: str,
    base: str,
    bearer: str,
    bodies: dict[str, list[dict[str, Any]]],
    args: argparse.Namespace,
    cpu_of: Any,
) -> dict[tuple[str, int], loadgen.LoadResult]:
    results = {}
    for level in args.levels:
        for concurrency in args.concurrency:
            result = await accept_load(
                base, bearer, bodies[level], concurrency, args.seconds, cpu_of
            )
            results[level, concurrency] = result
            print("  " + result.line(f"{label} {level}"), flush=True)
            print(f"  {'':<31}{result.side_line()}", flush=True)
    return results


async def load_inventory(dsn: str, setup: dict[str, Any], count: int) -> float:
    import inventory_scale

    started = time.perf_counter()
    plan = inventory_scale._converters("postgresql")
    columns = [name for name, _ in plan]
    owners = [(setup["tenant_id"], setup["organization_id"])]
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            rows = inventory_scale.certificate_rows(count, owners, 0, dt.datetime.now(dt.UTC))
            for chunk in rows:
                await conn.copy_records_to_table(
                    "certificate", records=inventory_scale._records(chunk, plan), columns=columns
                )
        await conn.execute("ANALYZE certificate")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def list_pages(
    base: str, bearer: str, runs: int, server_cpu: Callable[[], float]
) -> tuple[float, float, int, float]:
    """Median seconds of the first page and of page 21 by cursor, the rows on a page, and the
    API process's CPU seconds per page over the timed requests."""
    params: dict[str, Any] = {
        "status": "issued",
        "product": "instantssl",
        "expires_before": (dt.datetime.now(dt.UTC) + dt.timedelta(days=90)).isoformat(),
        "label": "env=prod",
        "limit": 50,
    }
    async with httpx.AsyncClient(base_url=base, headers=bearer_header(bearer)) as client:
        first: list[float] = []
        rows = 0
        cpu_started, timed = server_cpu(), 0
        for _ in range(runs + 1):
            started = time.perf_counter()
            answer = await client.get("/v1/certificates", params=params)
            first.append(time.perf_counter() - started)
            answer.raise_for_status()
            rows = len(answer.json()["items"])
        timed += runs + 1
        cpu_spent = server_cpu() - cpu_started
        cursor = None
        for _ in range(20):
            page = await client.get(
                "/v1/certificates", params={**params, **({"cursor": cursor} if cursor else {})}
            )
            cursor = page.json().get("next_cursor")
            if cursor is None:
                break
        deep: list[float] = []
        if cursor:
            cpu_started = server_cpu()
            for _ in range(runs + 1):
                started = time.perf_counter()
                answer = await client.get("/v1/certificates", params={**params, "cursor": cursor})
                deep.append(time.perf_counter() - started)
                answer.raise_for_status()
            timed += runs + 1
            cpu_spent += server_cpu() - cpu_started
    return (
        statistics.median(first[1:]),
        statistics.median(deep[1:]) if deep else float("nan"),
        rows,
        cpu_spent / timed,
    )


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


async def run(args: argparse.Namespace) -> dict[str, Any]:
    db = loadgen.PgDatabase()
    await db.create()
    prefix = f"bench-api-{uuid.uuid4().hex[:8]}"
    env = loadgen.broker_env(db, prefix)
    workdir = Path(tempfile.mkdtemp(prefix="certbroker-api-load-"))
    processes: list[loadgen.Process] = []
    figures: dict[str, Any] = {}
    try:
        loadgen.migrate(env)
        setup = await bootstrap(env)
        per_level = max(200, int(args.seconds * 600) + 400)
        made = time.perf_counter()
        bodies = {
            level: make_bodies(level, per_level, setup["organization_id"]) for level in args.levels
        }
        print(
            f"== api_load: PostgreSQL {db.name}, {args.api_processes} API process(es),"
            f" {per_level} CSRs per level made in {time.perf_counter() - made:.1f} s",
            flush=True,
        )

        port = loadgen.free_port()
        base = f"http://127.0.0.1:{port}"
        broker = loadgen.Process(
            [loadgen.CERTBROKER, "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(args.api_processes)],
            env, workdir / "api.log",
        )  # fmt: skip
        processes.append(broker)
        await loadgen.wait_http(f"{base}/healthz", broker)
        bearer = await token(base, setup)

        templates = {
            level: await template_order(base, db.dsn, bearer, bodies[level].pop())
            for level in args.levels
        }
        for level, tables in templates.items():
            rows = ", ".join(f"{table} {len(keys)}" for table, keys in tables.items())
            print(f"  rows one {level} order writes: {rows}")

        spy = None
        if args.py_spy:  # collapsed stacks of the API processes over the accept runs
            spy = loadgen.Process(
                [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(broker.pid),
                 "--subprocesses", "--format", "raw", "--rate", "200", "--nonblocking",
                 "--output", args.py_spy],
                env, workdir / "py-spy.log",
            )  # fmt: skip
            await asyncio.sleep(1.0)
        broker_results = await run_accept("broker", base, bearer, bodies, args, broker.cpu)
        if spy is not None:
            spy.stop(signal.SIGINT)
            print(f"  py-spy: {args.py_spy}")

        if args.list_count:
            load_s = await load_inventory(db.dsn, setup, args.list_count)
            first, deep, rows, page_cpu = await list_pages(base, bearer, args.list_runs, broker.cpu)
            figures["list_first"], figures["list_deep"] = first, deep
            print(
                f"  GET /v1/certificates at {args.list_count:,} certificates (loaded in"
                f" {load_s:.0f} s; issued, instantssl, expiring within 90 d, env=prod;"
                f" {rows} rows), median of {args.list_runs}:"
            )
            print(
                f"    first page {first * 1000:.1f} ms, page 21 by cursor {deep * 1000:.1f} ms"
                f" (API CPU {page_cpu * 1000:.1f} ms per page)"
                f"   (target {PAGE_TARGET * 1000:.0f} ms:"
                f" {verdict(max(first, deep) <= PAGE_TARGET)})"
            )
        broker.stop()
        processes.remove(broker)

        from sqlmodel import SQLModel

        from app.models import import_all_models

        import_all_models()
        spec = {
            "templates": templates,
            "pk": {
                t.name: [c.name for c in t.primary_key.columns]
                for t in SQLModel.metadata.sorted_tables
            },
            "levels": {PRODUCTS[level]: level for level in PRODUCTS},
            "issuer": setup["issuer"],
            "audience": setup["audience"],
        }
        spec_file = workdir / "floor.json"
        spec_file.write_text(json.dumps(spec))
        floor_port = loadgen.free_port()
        floor_env = {
            **env,
            "BENCH_FLOOR_DSN": db.dsn,
            "BENCH_FLOOR_TEMPLATES": str(spec_file),
            "PYTHONPATH": f"{Path(__file__).parent}:{loadgen.ROOT}",
        }
        floor = loadgen.Process(
            [sys.executable, __file__, "--floor", "--port", str(floor_port), "--dsn", db.dsn,
             "--templates", str(spec_file), "--api-processes", str(args.api_processes)],
            floor_env, workdir / "floor.log",
        )  # fmt: skip
        processes.append(floor)
        floor_base = f"http://127.0.0.1:{floor_port}"
        await loadgen.wait_http(f"{floor_base}/healthz", floor)
        floor_results = await run_accept("floor", floor_base, bearer, bodies, args, floor.cpu)

        print("  broker against the floor and the targets:")
        for (level, concurrency), result in broker_results.items():
            reference = floor_results[level, concurrency]
            share = result.rate / reference.rate if reference.rate else float("nan")
            notes = [f"{share:.0%} of the floor's {reference.rate:.0f}/s"]
            if concurrency == 1:
                notes.append(
                    f"p50 {result.p50 * 1000:.1f} ms vs {ACCEPT_P50_TARGET * 1000:.0f} ms:"
                    f" {verdict(result.p50 <= ACCEPT_P50_TARGET)}"
                )
            if concurrency == max(args.concurrency):
                notes.append(
                    f"{result.rate:.0f}/s vs {RATE_TARGET:.0f}:"
                    f" {verdict(result.rate >= RATE_TARGET)}"
                )
                notes.append(
                    f"p99 {result.pct(0.99) * 1000:.0f} ms vs {P99_TARGET * 1000:.0f}:"
                    f" {verdict(result.pct(0.99) <= P99_TARGET)}"
                )
                notes.append(f"floor share {verdict(share >= FLOOR_SHARE_TARGET)}")
            print(f"    {level} x{concurrency:<3} " + "; ".join(notes))
            figures[f"{level}x{concurrency}"] = {
                "rate": result.rate,
                "p50": result.p50,
                "p99": result.pct(0.99),
                "floor_rate": reference.rate,
                "errors": result.errors,
                "floor_errors": reference.errors,
            }
        return figures
    finally:
        for process in processes:
            process.stop()
        await db.drop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per cell")
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--levels", default="DV,OV,EV")
    parser.add_argument("--api-processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--list-count", type=int, default=1_000_000)
    parser.add_argument("--list-runs", type=int, default=50)
    parser.add_argument(
        "--py-spy", metavar="FILE", help="profile the API processes (py-spy, collapsed stacks)"
    )
    parser.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dsn", help=argparse.SUPPRESS)
    parser.add_argument("--templates", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.concurrency = [int(c) for c in str(args.concurrency).split(",") if c]
    args.levels = [level.strip().upper() for level in str(args.levels).split(",") if level]
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.floor:
        serve_floor(args)
        return
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
