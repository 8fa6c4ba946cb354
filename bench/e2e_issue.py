"""Benchmark: DV certificates per second through the real API and workers, against pebble, beside
AcmeIssuer alone on the same pebble in the same run.

    uv run python bench/e2e_issue.py [--count 200] [--concurrency 32] [--workers 1,2]
                                     [--nonce-reject 5]

One pebble (EAB required, PEBBLE_VA_NOSLEEP=1, PEBBLE_AUTHZREUSE=0, PEBBLE_WFE_NONCEREJECT as
bench/acme_issue.py) and its pebble-challtestsrv (every name is 127.0.0.1) serve both parts:

  * the reference: bench/acme_issue.py's AcmeIssuer run (`--count` certificates, `--concurrency`
    at once, in-memory checkpoints, an in-process HTTP-01 responder on pebble's httpPort);
  * the broker: `certbroker serve` on that same port (pebble validates HTTP-01 against the API,
    which answers from its database) and N `certbroker worker` processes, on a PostgreSQL
    database of its own, with a tenant whose organization is wired to pebble. `--count` DV
    orders (positivessl, a generated EC P-256 key each) go to POST /v1/certificates,
    `--concurrency` at once; the run ends when every certificate is `issued` (or `failed`),
    read from the database every 100 ms;
  * the reference once more after the broker (the API gives pebble's httpPort back): each broker
    run is compared with the mean of the two, since the machine's speed may drift over a run.

Printed: certs/s (first order to last issuance), the ratio to AcmeIssuer alone, and CPU seconds
per certificate of the API, the workers, pebble, PostgreSQL and Redis (their whole process trees:
only meaningful on an otherwise idle machine), and the AcmeIssuer process. Target (issue 12,
printed, not asserted): the broker >= 60 % of AcmeIssuer alone with the best worker count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import acme_issue
import asyncpg
import httpx
import loadgen

from tests.fixtures.acme_servers import (
    start_challtestsrv,
    start_http01_server,
    start_pebble,
    stop_http01_server,
)

TARGET_SHARE = 0.60
DOMAIN = "example.com"


async def bootstrap(env: dict[str, str], pebble: Any) -> dict[str, Any]:
    from app.auth.principal import Scope
    from app.auth.signing_keys import ensure_signing_key
    from app.clients.service import create_api_client
    from app.db import session_scope
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
            scopes = [s.value for s in Scope if s != Scope.PLATFORM_ADMIN]
            client, secret = await create_api_client(session, tenant.id, "bench", scopes)
            acme = {
                "directory_url": pebble.directory_url,
                "eab_kid": pebble.eab_kid,
                "eab_hmac_key": pebble.eab_keys[pebble.eab_kid],
                "contact_email": "pki@example.com",
                "ca_bundle_pem": Path(pebble.ca_bundle).read_text(),
                "challenge_types": ["http-01"],
            }
            org = await create_organization(
                session,
                tenant.id,
                OrganizationCreate.model_validate(
                    {"name": "bench", "allowed_domains": [DOMAIN], "acme": acme}
                ),
                runtime.secretbox,
                runtime.egress,
            )
        return {"organization_id": org.id, "client_id": client.client_id, "secret": secret}
    finally:
        await runtime.close()


async def broker_run(
    base: str,
    dsn: str,
    setup: dict[str, Any],
    count: int,
    concurrency: int,
    api: loadgen.Process,
    workers: list[loadgen.Process],
    pebble_pid: int,
) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        answer = await client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(setup["client_id"], setup["secret"]),
        )
        answer.raise_for_status()
        headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        headers["Content-Type"] = "application/json"
        run = uuid.uuid4().hex[:8]
        ids: list[str] = []
        numbers = iter(range(count))
        accepted: list[float] = []

        async def ordering_caller() -> None:
            # Each of `concurrency` callers on a keep-alive connection of its own (httpx's
            # pool costs milliseconds of CPU per request at this concurrency, taken from the
            # processes being measured).
            connection = loadgen.HttpConnection(base)
            try:
                for n in numbers:
                    body = {
                        "organization_id": setup["organization_id"],
                        "product": "positivessl",
                        "common_name": f"e2e-{run}-{n}.{DOMAIN}",
                    }
                    answer = await connection.request(
                        "POST", "/v1/certificates", json.dumps(body).encode(), headers
                    )
                    if answer.status_code != 202:
                        raise RuntimeError(f"order refused: {answer.status_code} {answer.text}")
                    ids.append(answer.json()["id"])
                    accepted.append(time.perf_counter() - started)
            finally:
                await connection.close()

        conn = await asyncpg.connect(dsn)
        try:
            cpu_api, cpu_workers = api.cpu(), sum(w.cpu() for w in workers)
            cpu_pebble = loadgen.process_cpu(pebble_pid)
            cpu_pg, cpu_redis = loadgen.service_cpu("postgres"), loadgen.service_cpu("redis-server")
            sessions = await _sessions(conn)
            started = time.perf_counter()
            ordering = asyncio.gather(*(ordering_caller() for _ in range(concurrency)))
            done = failed = 0
            while True:
                await asyncio.sleep(0.1)
                rows = await conn.fetch(
                    "SELECT status, count(*) FROM certificate"
                    " WHERE common_name LIKE $1 GROUP BY status",
                    f"e2e-{run}-%",
                )
                by_status = {row["status"]: row["count"] for row in rows}
                done, failed = by_status.get("issued", 0), by_status.get("failed", 0)
                if done + failed >= count:
                    break
                if time.perf_counter() - started > 600:
                    raise RuntimeError(f"gave up: {by_status}")
            elapsed = time.perf_counter() - started
            await ordering
            cpu_api = api.cpu() - cpu_api
            cpu_workers = sum(w.cpu() for w in workers) - cpu_workers
            cpu_pebble = loadgen.process_cpu(pebble_pid) - cpu_pebble
            cpu_pg = loadgen.service_cpu("postgres") - cpu_pg
            cpu_redis = loadgen.service_cpu("redis-server") - cpu_redis
            await asyncio.sleep(0.6)  # the servers report their statistics every 500 ms at most
            sessions = await _sessions(conn) - sessions
            if failed:
                reason = await conn.fetchval(
                    "SELECT status_reason FROM certificate WHERE common_name LIKE $1"
                    " AND status = 'failed' LIMIT 1",
                    f"e2e-{run}-%",
                )
                print(f"    {failed} failed, for example: {reason}")
        finally:
            await conn.close()
    return {
        "rate": done / elapsed,
        "seconds": elapsed,
        "accepted_within": max(accepted),
        "issued": done,
        "failed": failed,
        "cpu_api": cpu_api / count,
        "cpu_workers": cpu_workers / count,
        "cpu_pebble": cpu_pebble / count,
        "cpu_pg": cpu_pg / count,
        "cpu_redis": cpu_redis / count,
        "connections": sessions / count,
    }


async def _sessions(conn: asyncpg.Connection) -> int:
    """Connections ever opened to the bench's database (each costs PostgreSQL a process)."""
    return await conn.fetchval(
        "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
    )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from app.issuers.acme.http01 import InMemoryHttp01Responder

    workdir = Path(tempfile.mkdtemp(prefix="certbroker-e2e-bench-"))
    challtestsrv = start_challtestsrv()
    http01 = await start_http01_server(InMemoryHttp01Responder())
    port = http01.port
    pebble = start_pebble(
        workdir / "pebble",
        http_port=port,
        dns_server=challtestsrv.dns_server,
        env={"PEBBLE_WFE_NONCEREJECT": str(args.nonce_reject), "PEBBLE_AUTHZREUSE": "0"},
    )
    db = loadgen.PgDatabase()
    processes: list[loadgen.Process] = []
    figures: dict[str, Any] = {}
    try:
        print(f"== e2e_issue: {args.count} DV certificates, {args.concurrency} at once", flush=True)
        print("  reference, ", end="", flush=True)
        rate, cpu = await acme_issue.bench_issuer(
            pebble, http01.responder, args.count, args.concurrency
        )
        figures["reference"] = {"rate": rate, "cpu": cpu}
        await stop_http01_server(http01)  # the API takes pebble's httpPort over
        http01 = None

        await db.create()
        env = loadgen.broker_env(db, f"bench-e2e-{uuid.uuid4().hex[:8]}")
        loadgen.migrate(env)
        setup = await bootstrap(env, pebble)
        api = loadgen.Process(
            [loadgen.CERTBROKER, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env, workdir / "api.log",
        )  # fmt: skip
        processes.append(api)
        base = f"http://127.0.0.1:{port}"
        await loadgen.wait_http(f"{base}/healthz", api)

        for count in args.workers:
            workers = [
                loadgen.Process([loadgen.CERTBROKER, "worker"], env, workdir / f"worker{n}.log")
                for n in range(count)
            ]
            processes += workers
            # Until the workers run: a few certificates first (imports, the ACME account,
            # first connections), as the reference warms up too.
            await broker_run(
                base, db.dsn, setup, 2 * count, 2 * count, api, workers, pebble.process.pid
            )
            result = await broker_run(
                base, db.dsn, setup, args.count, args.concurrency, api, workers,
                pebble.process.pid,
            )  # fmt: skip
            for worker in workers:
                worker.stop()
                processes.remove(worker)
            figures[f"workers{count}"] = result
        # The reference again, after the broker: the machine's speed may drift over a run, and
        # each broker run is compared with the mean of the reference before and after it.
        api.stop()
        processes.remove(api)
        http01 = await start_http01_server(InMemoryHttp01Responder(), port)
        print("  reference again, ", end="", flush=True)
        rate_after, cpu_after = await acme_issue.bench_issuer(
            pebble, http01.responder, args.count, args.concurrency
        )
        figures["reference_after"] = {"rate": rate_after, "cpu": cpu_after}
        rate, cpu = (rate + rate_after) / 2, (cpu + cpu_after) / 2
        print(f"  reference, mean of both: {rate:.1f} certs/s, {cpu * 1000:.1f} ms CPU/cert")
        for count in args.workers:
            result = figures[f"workers{count}"]
            share = result["rate"] / rate
            result["share"] = share
            print(
                f"  broker, {count} worker(s): {result['issued']} issued in"
                f" {result['seconds']:.1f} s = {result['rate']:.1f} certs/s"
                f" = {share:.0%} of AcmeIssuer alone (target {TARGET_SHARE:.0%}:"
                f" {'ok' if share >= TARGET_SHARE else 'MISSED'}); all accepted within"
                f" {result['accepted_within']:.1f} s"
            )
            print(
                f"    CPU per certificate: API {result['cpu_api'] * 1000:.1f} ms, workers"
                f" {result['cpu_workers'] * 1000:.1f} ms, pebble {result['cpu_pebble'] * 1000:.1f}"
                f" ms, PostgreSQL {result['cpu_pg'] * 1000:.1f} ms, Redis"
                f" {result['cpu_redis'] * 1000:.1f} ms (AcmeIssuer alone:"
                f" {cpu * 1000:.1f} ms in its process); {result['connections']:.2f} PostgreSQL"
                " connections opened per certificate",
                flush=True,
            )
        shares = [v["share"] for k, v in figures.items() if k.startswith("workers")]
        if shares:
            print(f"  best: {max(shares):.0%} of AcmeIssuer alone")
        return figures
    finally:
        for process in processes:
            process.stop()
        if http01 is not None:
            await stop_http01_server(http01)
        pebble.stop()
        challtestsrv.process.terminate()
        challtestsrv.process.wait(timeout=5)
        await db.drop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", default="1,2", help="worker counts to run, in turn")
    parser.add_argument("--nonce-reject", type=int, default=5, help="PEBBLE_WFE_NONCEREJECT %%")
    args = parser.parse_args(argv)
    args.workers = [int(n) for n in str(args.workers).split(",") if n]
    return args


def main(argv: list[str] | None = None) -> None:
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
