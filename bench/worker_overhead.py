"""In-process CPU per certificate of the worker's own work (claim, read, checkpoints, HTTP-01
token rows, the final transaction), the ACME exchange replaced by a stub: the broker's overhead
over AcmeIssuer alone, on PostgreSQL. Not part of `make bench`.

    uv run python bench/worker_overhead.py [--count 300] [--rounds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg
import httpx
import loadgen
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _certificate() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stub")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=90)).sign(key, hashes.SHA256())
    )  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM).decode()


class StubAcme:
    """AcmeIssuer's persistence points and token rows, without a CA."""

    name = "acme"

    def __init__(self, http01: Any, pem: str) -> None:
        self.http01, self.pem = http01, pem

    async def advance(self, request: Any) -> Any:
        from app.issuers.base import IssuedCertificate, StepOutcome, StepResult

        state = dict(request.state)
        await asyncio.sleep(0.01)  # newOrder
        state["order_url"] = f"https://ca/order/{request.request_id}"
        await request.checkpoint(request, dict(state))
        token = uuid.uuid4().hex
        await asyncio.sleep(0.01)  # authorization
        await self.http01.present(token, token + ".thumb")
        state["challenges"] = {"a": {"token": token, "type": "http-01"}}
        await request.checkpoint(request, dict(state))
        await asyncio.sleep(0.05)  # validation, finalize, download
        await self.http01.cleanup(token)
        now = dt.datetime.now(dt.UTC)
        issued = IssuedCertificate(self.pem, [self.pem], "01", now, now, "https://ca/cert/1")
        return StepResult(StepOutcome.ISSUED, state, certificate=issued)


SESSIONS = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
PENDING = (
    "SELECT id, enqueue_seq FROM job WHERE state IN ('pending', 'queued')"
    " AND kind = 'certificate.issue'"
)
_SLOTS = asyncio.Semaphore(24)  # a worker's max_concurrent_jobs


async def one(runtime: Any, job_id: str, seq: int) -> str:
    from app.jobs.jobs import run_job

    async with _SLOTS:
        return await run_job({"runtime": runtime}, job_id, seq)


async def main(args: argparse.Namespace) -> None:
    import e2e_issue
    from sqlalchemy import event, text

    from app.acme_state.store import DbHttp01Responder
    from app.main import create_app
    from app.runtime import Runtime
    from app.wiring import register_job_handlers

    db = loadgen.PgDatabase()
    await db.create()
    try:
        env = loadgen.broker_env(db, f"bench-wh-{uuid.uuid4().hex[:8]}")
        loadgen.migrate(env)
        bundle = Path(tempfile.mkdtemp()) / "ca.pem"
        bundle.write_text(_certificate())
        ca = {"directory_url": "https://127.0.0.1:14000/dir", "eab_kid": "k"}
        ca |= {"eab_keys": {"k": "aGVsbG8"}, "ca_bundle": str(bundle)}
        pebble = type("StubCa", (), ca)
        setup = await e2e_issue.bootstrap(env, pebble)
        settings = loadgen.settings_from(env)
        register_job_handlers()
        runtime = Runtime.build(settings)
        runtime.issuers.register(StubAcme(DbHttp01Responder(runtime), _certificate()))
        app = create_app(settings, runtime)
        probe = await asyncpg.connect(db.dsn)
        counts: Counter[str] = Counter()
        engine = runtime.engine.sync_engine
        event.listen(engine, "before_cursor_execute", lambda *_: counts.update(["statements"]))
        event.listen(engine, "begin", lambda *_: counts.update(["transactions"]))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            token = (
                await client.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(setup["client_id"], setup["secret"]),
                )
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            for rnd in range(args.rounds):
                for n in range(args.count):
                    body = {"organization_id": setup["organization_id"], "product": "positivessl",
                            "common_name": f"wh-{rnd}-{n}.example.com"}  # fmt: skip
                    answer = await client.post("/v1/certificates", json=body, headers=headers)
                    assert answer.status_code == 202, answer.text
                async with runtime.engine.connect() as conn:
                    jobs = (await conn.execute(text(PENDING))).all()
                counts.clear()
                sessions = await probe.fetchval(SESSIONS)
                cpu, wall = time.process_time(), time.perf_counter()
                outcomes = await asyncio.gather(*(one(runtime, i, s) for i, s in jobs))
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                await asyncio.sleep(0.6)  # statistics are reported every 500 ms at most
                opened = await probe.fetchval(SESSIONS) - sessions
                bad = [o for o in outcomes if o != "succeeded"]
                print(
                    f"round {rnd}: {len(jobs)} jobs, {cpu / len(jobs) * 1000:.2f} ms CPU each"
                    f" ({wall:.1f} s); per job {counts['statements'] / len(jobs):.1f} statements,"
                    f" {counts['transactions'] / len(jobs):.1f} transactions (autocommit ones"
                    f" too), {opened / len(jobs):.2f} connections opened"
                    f"{', not succeeded: ' + str(bad[:3]) if bad else ''}",
                    flush=True,
                )
        await probe.close()
        await runtime.close()
    finally:
        await db.drop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=4)
    asyncio.run(main(parser.parse_args()))
