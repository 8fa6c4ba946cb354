"""Chaos run: certificates ordered through SIGKILLed workers and API processes and a Redis flush.

    uv run python bench/chaos.py [--orders 300] [--duration 60] [--workers 3] [--api-processes 2]
                                 [--scm-error-rate 0.1] [--nonce-reject 30] [--json FILE]

Starts everything it needs and stops it at the end:
  * its own redis-server on a free port (no persistence), and its own PostgreSQL database
    (created through $CERTBROKER_TEST_PG, default postgresql://postgres@127.0.0.1:5432/postgres,
    dropped at the end), migrated with `certbroker migrate`'s code;
  * the SCM simulator with faults (`--scm-error-rate` of calls answered 503, plus one
    "CA unavailable" burst where every call fails for `--burst-seconds`);
  * pebble (EAB required, PEBBLE_WFE_NONCEREJECT=`--nonce-reject` %) and pebble-challtestsrv,
    with the test suite's launchers; pebble validates HTTP-01 against the API itself;
  * `certbroker serve --workers N` (N API processes on one port) and M `certbroker worker`s,
    each with the default job settings (lease 8 s, heartbeat 2 s, reconciler every 2 s), and
    one more API process, never killed, that only pebble calls (HTTP-01 challenges).

Then it orders `--orders` certificates over `--duration` seconds (DV via pebble on
*.example.com; OV via SCM on *.example.org, pre-validated, and on *.example.net, which the
broker validates first, so orders race their domain's validation), each with an
Idempotency-Key and retried on connection errors and 5xx. Meanwhile, every `--kill-every`
seconds, it SIGKILLs a worker while it holds claimed jobs (and starts a replacement; the next
worker kill waits until that replacement is up), every fourth time an API process instead
(uvicorn's supervisor replaces it), flushes Redis once while work is queued, and opens the SCM
burst once.

Printed (and written as JSON with --json):
  accepted, issued, failed, stuck (not terminal after the wait), lost (accepted, then unknown),
  key mismatches (issued certificate's key differs from the order's), duplicate CA orders (SCM
  simulator's enrollments per key beyond the first; pebble's orders beyond one per DV order),
  for every job a killed worker held: the time from the kill to its next step (its next claim
  by a live worker, or its end), the worst of them, and convergence: the time from the last
  submission until every order was terminal.
Targets (printed beside the figures, never asserted by tests): 0 lost, 0 duplicates, 0 stuck;
every killed worker's job takes its next step within 15 s; convergence within 30 s plus the
CA's own delays.

`--smoke` is the short version tests/bench/test_chaos_smoke.py runs (a few orders, one of each
fault, two workers, one API process).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402

from app.sandbox.ports import free_port  # noqa: E402

PG_ADMIN_DSN = os.environ.get("CERTBROKER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TERMINAL = {"issued", "failed", "rejected", "revoked", "expired", "superseded"}
RECOVERY_TARGET = 15.0
CONVERGENCE_TARGET = 30.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of submissions")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--api-processes", type=int, default=2)
    parser.add_argument("--kill-every", type=float, default=5.0)
    parser.add_argument("--scm-error-rate", type=float, default=0.1)
    parser.add_argument("--burst-seconds", type=float, default=3.0)
    parser.add_argument("--nonce-reject", type=int, default=30)
    parser.add_argument("--dv-share", type=float, default=0.5)
    parser.add_argument("--settle", type=float, default=120.0, help="max wait after submissions")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work directory and DB")
    parser.add_argument("--smoke", action="store_true", help="the short version for make test")
    args = parser.parse_args(argv)
    if args.smoke:
        args.orders, args.duration, args.workers, args.api_processes = 12, 10.0, 2, 2
        args.kill_every, args.burst_seconds, args.settle = 2.0, 1.0, 90.0
    return args


# -- the processes -------------------------------------------------------------------------------


def _parent_death() -> Any:
    from app.sandbox.devstack import _parent_death_signal

    return _parent_death_signal()


@dataclass
class Cluster:
    args: argparse.Namespace
    workdir: Path
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    env: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    api: subprocess.Popen[bytes] | None = None
    redis_port: int = 0
    api_port: int = 0
    http01_port: int = 0
    scm_port: int = 0
    pebble: Any = None
    challtestsrv: Any = None
    database: str = ""
    credentials: dict[str, Any] = field(default_factory=dict)
    spawned: int = 0
    worker_logs: dict[int, Path] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def scm_url(self) -> str:
        return f"http://127.0.0.1:{self.scm_port}"

    def _spawn(self, name: str, command: list[str], env: dict[str, str] | None = None) -> Any:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env or self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_parent_death(),
        )
        log.close()
        self.processes.append(process)
        return process

    async def start(self) -> None:
        from tests.fixtures.acme_servers import start_challtestsrv, start_pebble

        self.redis_port, self.api_port, self.scm_port = free_port(), free_port(), free_port()
        self.http01_port = free_port()
        self._spawn(
            "redis",
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        )
        self.database = f"certbroker_chaos_{self.tag}"
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(f'CREATE DATABASE "{self.database}"')
        finally:
            await conn.close()
        host_part = PG_ADMIN_DSN.split("://", 1)[1].rsplit("/", 1)[0]
        self.challtestsrv = start_challtestsrv()
        self.pebble = start_pebble(
            self.workdir / "pebble",
            http_port=self.http01_port,
            dns_server=self.challtestsrv.dns_server,
            env={"PEBBLE_WFE_NONCEREJECT": str(self.args.nonce_reject)},
        )
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "CERTBROKER_ENV": "development",
            "CERTBROKER_SANDBOX_MODE": "true",
            "CERTBROKER_DATABASE_URL": f"postgresql+asyncpg://{host_part}/{self.database}",
            "CERTBROKER_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "CERTBROKER_PUBLIC_BASE_URL": self.api_url,
            "CERTBROKER_AUTH__ISSUER": self.api_url,
            "CERTBROKER_RATE_LIMIT_PER_MINUTE": "0",
            "CERTBROKER_LOG_LEVEL": "INFO",
            "CERTBROKER_INVENTORY__SYNC_INTERVAL_MINUTES": "0",
            "CERTBROKER_EGRESS__CA_HOST_ALLOWLIST": json.dumps(
                ["cert-manager.com", "*.cert-manager.com", "*.sectigo.com", "127.0.0.1"]
            ),
            "CERTBROKER_EGRESS__CA_ALLOW_HTTP": "true",
            "CERTBROKER_EGRESS__CA_ANY_PORT": "true",
            "CERTBROKER_EGRESS__ALLOWED_NETWORKS": json.dumps(["127.0.0.1/32"]),
        }
        python = [sys.executable, "-m", "app.cli"]
        faults = json.dumps({"error_rate": self.args.scm_error_rate, "paths": ["/api/ssl"]})
        self._spawn(
            "scm",
            [
                *python,
                "sandbox",
                "scm",
                "--port",
                str(self.scm_port),
                "--seed",
                str(self.args.seed),
                "--faults-json",
                faults,
            ],
        )
        await asyncio.to_thread(self._bootstrap)
        for _ in range(self.args.workers):
            self.start_worker()
        self.start_api()
        # Pebble's HTTP-01 requests go to an API process of their own that is never killed:
        # the clients' API processes are, and a challenge answered by nobody fails the order
        # at the CA (any API process answers it from the database).
        http01 = [sys.executable, "-m", "app.cli", "serve", "--port", str(self.http01_port)]
        self._spawn("api-http01", http01)
        await self._wait_http(f"http://127.0.0.1:{self.http01_port}/healthz", 120)
        await self._wait_http(f"{self.api_url}/healthz", 120)
        await self._wait_http(f"{self.scm_url}/__sandbox/health", 60)

    def _bootstrap(self) -> None:
        from app.demo import SandboxWiring, bootstrap_demo
        from app.migrations import upgrade
        from app.settings import Settings

        saved = dict(os.environ)
        os.environ.update(self.env)
        try:
            settings = Settings()
            upgrade(settings.database_url)
            wiring = SandboxWiring(
                scm_base_url=f"{self.scm_url}/api",
                acme_directory_url=self.pebble.directory_url,
                acme_ca_bundle=self.pebble.ca_bundle,
                eab_kid=self.pebble.eab_kid,
                eab_hmac_key=self.pebble.eab_keys[self.pebble.eab_kid],
            )
            with contextlib.redirect_stdout(open(os.devnull, "w")):
                self.credentials = asyncio.run(
                    bootstrap_demo(settings, self.workdir / "credentials.json", wiring)
                )
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def start_api(self) -> None:
        command = [sys.executable, "-m", "app.cli", "serve", "--port", str(self.api_port)]
        self.api = self._spawn("api", [*command, "--workers", str(self.args.api_processes)])

    def start_worker(self) -> subprocess.Popen[bytes]:
        self.spawned += 1
        worker = self._spawn(f"worker-{self.spawned}", [sys.executable, "-m", "app.cli", "worker"])
        self.workers.append(worker)
        self.worker_logs[worker.pid] = self.workdir / f"worker-{self.spawned}.log"
        return worker

    def workers_ready(self) -> bool:
        """Every worker is running and has started its loops (a replacement takes seconds)."""
        alive = [w for w in self.workers if w.poll() is None]
        if len(alive) < self.args.workers:
            return False
        for worker in alive:
            log = self.worker_logs[worker.pid]
            if not log.exists() or f":{worker.pid}:" not in log.read_text(errors="replace"):
                return False
        return True

    def api_children(self) -> list[int]:
        assert self.api is not None
        try:
            children = Path(f"/proc/{self.api.pid}/task/{self.api.pid}/children").read_text()
        except OSError:
            return []
        pids = []
        for pid in children.split():
            with contextlib.suppress(OSError):
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    pids.append(int(pid))
        return pids

    async def _wait_http(self, url: str, within: float) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(url)).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{url} did not answer within {within:g} s (logs in {self.workdir})")

    async def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes:
            while process.poll() is None and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if self.pebble is not None:
            self.pebble.stop()
        if self.challtestsrv is not None:
            from tests.fixtures.acme_servers import stop_process

            stop_process(self.challtestsrv.process)
        if self.database and not self.args.keep:
            conn = await asyncpg.connect(PG_ADMIN_DSN)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            finally:
                await conn.close()


# -- the run -------------------------------------------------------------------------------------


@dataclass
class Kill:
    at: float  # wall clock (epoch seconds)
    pid: int
    jobs: dict[str, int]  # job id -> attempts at the kill
    recovered: dict[str, float] = field(default_factory=dict)  # job id -> seconds to next step


@dataclass
class Run:
    args: argparse.Namespace
    cluster: Cluster
    db: asyncpg.Pool | None = None
    accepted: dict[str, float] = field(default_factory=dict)  # certificate id -> accepted at
    refused: list[str] = field(default_factory=list)
    kills: list[Kill] = field(default_factory=list)
    api_kills: int = 0
    redis_flushes: int = 0
    bursts: int = 0
    submitting: bool = True
    last_submission: float = 0.0
    events: list[str] = field(default_factory=list)

    def note(self, message: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {message}"
        self.events.append(line)
        print(line, flush=True)

    # -- ordering --

    async def token(self, http: httpx.AsyncClient) -> str:
        creds = self.cluster.credentials
        for _ in range(60):
            with contextlib.suppress(httpx.HTTPError):
                answer = await http.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(creds["client_id"], creds["client_secret"]),
                )
                if answer.status_code == 200:
                    return answer.json()["access_token"]
            await asyncio.sleep(0.5)
        raise RuntimeError("no token")

    async def prepare_organization(self, http: httpx.AsyncClient, headers: dict[str, str]) -> str:
        org_id = self.cluster.credentials["sandbox_organization_id"]
        answer = await http.patch(
            f"/v1/organizations/{org_id}",
            json={"allowed_domains": ["example.com", "example.org", "example.net"]},
            headers=headers,
        )
        answer.raise_for_status()
        return org_id

    async def order(
        self, http: httpx.AsyncClient, headers: dict[str, str], org_id: str, index: int
    ) -> None:
        rng = random.Random(self.args.seed * 100_000 + index)
        tag = self.cluster.tag
        if rng.random() < self.args.dv_share:
            body = {"product": "positivessl", "common_name": f"c{index}-{tag}.example.com"}
        else:
            parent = "example.net" if rng.random() < 0.3 else "example.org"
            body = {"product": "instantssl", "common_name": f"c{index}-{tag}.{parent}"}
        body["organization_id"] = org_id
        key = {**headers, "Idempotency-Key": f"chaos-{tag}-{index}"}
        for _attempt in range(40):
            try:
                answer = await http.post("/v1/certificates", json=body, headers=key)
            except httpx.HTTPError:
                await asyncio.sleep(0.5)
                continue
            if answer.status_code in (200, 201, 202):
                self.accepted[answer.json()["id"]] = time.time()
                return
            if answer.status_code in (409, 429) or answer.status_code >= 500:
                await asyncio.sleep(0.5)
                continue
            self.refused.append(f"{body['common_name']}: {answer.status_code} {answer.text[:200]}")
            return
        self.refused.append(f"{body['common_name']}: gave up after retries")

    async def submit_all(self) -> None:
        async with httpx.AsyncClient(base_url=self.cluster.api_url, timeout=30) as http:
            headers = {"Authorization": f"Bearer {await self.token(http)}"}
            org_id = await self.prepare_organization(http, headers)
            gap = self.args.duration / max(1, self.args.orders)
            pending: set[asyncio.Task[None]] = set()
            for index in range(self.args.orders):
                pending.add(asyncio.create_task(self.order(http, headers, org_id, index)))
                pending = {t for t in pending if not t.done()}
                await asyncio.sleep(gap)
            if pending:
                await asyncio.gather(*pending)
        self.last_submission = time.time()
        self.submitting = False
        self.note(f"submissions done: {len(self.accepted)} accepted, {len(self.refused)} refused")

    # -- chaos --

    async def claimed_by_worker(self) -> dict[int, dict[str, int]]:
        assert self.db is not None
        rows = await self.db.fetch(
            "SELECT id, attempts, claimed_by FROM job WHERE state = 'running'"
            " AND claimed_by IS NOT NULL AND lease_until > now()"
        )
        held: dict[int, dict[str, int]] = {}
        for row in rows:
            pid = int(row["claimed_by"].split(":")[1])
            held.setdefault(pid, {})[row["id"]] = row["attempts"]
        return held

    async def kill_a_worker(self) -> None:
        # Like a real outage, not a massacre: the next kill waits until the replacement of the
        # last one is up, so one worker is down at a time.
        ready_by = time.monotonic() + 60
        while not self.cluster.workers_ready() and time.monotonic() < ready_by:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            held = await self.claimed_by_worker()
            alive = {w.pid: w for w in self.cluster.workers if w.poll() is None}
            candidates = [pid for pid in held if pid in alive]
            if candidates:
                pid = random.choice(candidates)
                os.kill(pid, signal.SIGKILL)
                kill = Kill(at=time.time(), pid=pid, jobs=held[pid])
                self.kills.append(kill)
                self.cluster.workers.remove(alive[pid])
                self.note(f"SIGKILL worker {pid} holding {len(kill.jobs)} claimed job(s)")
                self.cluster.start_worker()
                return
            await asyncio.sleep(0.05)
        self.note("no worker held claimed work; no kill this round")

    def kill_an_api_process(self) -> None:
        self.api_kills += 1
        children = self.cluster.api_children()
        if not children:  # one API process: no supervisor, so this script starts another
            assert self.cluster.api is not None
            pid = self.cluster.api.pid
            os.kill(pid, signal.SIGKILL)
            self.cluster.start_api()
            self.note(f"SIGKILL the API process {pid}; started another")
            return
        pid = random.choice(children)
        os.kill(pid, signal.SIGKILL)
        self.note(f"SIGKILL API process {pid} (its supervisor starts another)")

    async def flush_redis(self) -> None:
        assert self.db is not None
        for _ in range(50):
            queued = await self.db.fetchval("SELECT count(*) FROM job WHERE state = 'queued'")
            if queued:
                break
            await asyncio.sleep(0.1)
        from redis.asyncio import Redis

        redis = Redis.from_url(f"redis://127.0.0.1:{self.cluster.redis_port}/0")
        try:
            await redis.flushall()
        finally:
            await redis.aclose()
        self.redis_flushes += 1
        self.note(f"FLUSHALL Redis with {queued} job(s) queued")

    async def scm_burst(self) -> None:
        faults = f"{self.cluster.scm_url}/__sandbox/faults"
        async with httpx.AsyncClient(timeout=5) as http:
            await http.patch(faults, json={"error_rate": 1.0})
            self.note(f"SCM unavailable for {self.args.burst_seconds:g} s")
            await asyncio.sleep(self.args.burst_seconds)
            await http.patch(faults, json={"error_rate": self.args.scm_error_rate})
        self.bursts += 1

    async def chaos(self) -> None:
        """Each fault once early on (a worker, a Redis flush, an API process, an SCM burst),
        then three worker kills for every API kill until the submissions end."""
        plan = ["worker", "flush", "api", "burst"]
        await asyncio.sleep(self.args.kill_every)
        round_ = 0
        while self.submitting:
            later = ("api", "worker", "worker", "worker")
            action = plan[round_] if round_ < len(plan) else later[round_ % len(later)]
            round_ += 1
            if action == "worker":
                await self.kill_a_worker()
            elif action == "flush":
                await self.flush_redis()
            elif action == "api":
                self.kill_an_api_process()
            else:
                await self.scm_burst()
            await asyncio.sleep(self.args.kill_every)
        if not self.kills:  # a short run still kills one worker holding work
            await self.kill_a_worker()

    async def watch_recoveries(self) -> None:
        """Poll the jobs each killed worker held: the next step is their next claim (attempts
        grew) or their end, timed by the database's own started_at / finished_at."""
        assert self.db is not None
        while True:
            for kill in self.kills:
                waiting = [j for j in kill.jobs if j not in kill.recovered]
                if not waiting:
                    continue
                rows = await self.db.fetch(
                    "SELECT id, attempts, state, started_at, finished_at FROM job"
                    " WHERE id = ANY($1::varchar[])",
                    waiting,
                )
                for row in rows:
                    if row["attempts"] > kill.jobs[row["id"]]:
                        stamp = row["started_at"]
                    elif row["state"] in ("succeeded", "failed", "cancelled"):
                        stamp = row["finished_at"]
                    else:
                        continue
                    kill.recovered[row["id"]] = max(0.0, stamp.timestamp() - kill.at)
            await asyncio.sleep(0.1)

    async def wait_for_convergence(self) -> float | None:
        assert self.db is not None
        deadline = time.monotonic() + self.args.settle
        ids = list(self.accepted)
        while time.monotonic() < deadline:
            rows = await self.db.fetch(
                "SELECT status, updated_at FROM certificate WHERE id = ANY($1::varchar[])", ids
            )
            if len(rows) == len(ids) and all(r["status"] in TERMINAL for r in rows):
                last = max(r["updated_at"].timestamp() for r in rows)
                return max(0.0, last - self.last_submission)
            await asyncio.sleep(0.5)
        return None

    # -- figures --

    async def figures(self, convergence: float | None) -> dict[str, Any]:
        assert self.db is not None
        ids = list(self.accepted)
        rows = await self.db.fetch(
            "SELECT id, status, backend, backend_state, leaf_pem, public_key_sha256,"
            " status_reason FROM certificate WHERE id = ANY($1::varchar[])",
            ids,
        )
        by_status: dict[str, int] = {}
        mismatches = 0
        acme_ordered = 0
        failures: list[str] = []
        for row in rows:
            by_status[row["status"]] = by_status.get(row["status"], 0) + 1
            state = row["backend_state"]
            state = json.loads(state) if isinstance(state, str) else (state or {})
            if row["backend"] == "acme" and state.get("order_url"):
                acme_ordered += 1
            if row["status"] == "failed":
                failures.append(f"{row['id']}: {row['status_reason']}")
            if row["status"] == "issued" and row["leaf_pem"]:
                leaf = x509.load_pem_x509_certificate(row["leaf_pem"].encode())
                spki = leaf.public_key().public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                if hashlib.sha256(spki).hexdigest() != row["public_key_sha256"]:
                    mismatches += 1
        async with httpx.AsyncClient(timeout=10) as http:
            counters = (await http.get(f"{self.cluster.scm_url}/__sandbox/counters")).json()
        enrollments = counters.get("enrollmentsByKey", {})
        scm_duplicates = sum(max(0, n - 1) for n in enrollments.values())
        pebble_log = (self.cluster.pebble.workdir / "pebble.log").read_text(errors="replace")
        counts = [int(n) for n in re.findall(r"There are now (\d+) orders in the db", pebble_log)]
        pebble_orders = max(counts, default=0)
        recoveries = [s for kill in self.kills for s in kill.recovered.values()]
        slow = {
            job_id: round(seconds, 2)
            for kill in self.kills
            for job_id, seconds in kill.recovered.items()
            if seconds > RECOVERY_TARGET
        }
        unrecovered = sum(len(k.jobs) - len(k.recovered) for k in self.kills)
        stuck = sum(1 for r in rows if r["status"] not in TERMINAL)
        return {
            "orders": self.args.orders,
            "accepted": len(ids),
            "refused": len(self.refused),
            "issued": by_status.get("issued", 0),
            "failed": by_status.get("failed", 0),
            "stuck": stuck,
            "lost": len(ids) - len(rows),
            "key_mismatches": mismatches,
            "by_status": by_status,
            "scm_enrollments": sum(enrollments.values()),
            "scm_duplicate_enrollments": scm_duplicates,
            "pebble_orders": pebble_orders,
            "acme_certificates_ordered": acme_ordered,
            "pebble_duplicate_orders": max(0, pebble_orders - acme_ordered),
            "worker_kills": len(self.kills),
            "api_kills": self.api_kills,
            "redis_flushes": self.redis_flushes,
            "scm_bursts": self.bursts,
            "killed_jobs": sum(len(k.jobs) for k in self.kills),
            "killed_jobs_unrecovered": unrecovered,
            "recovery_seconds": sorted(round(s, 2) for s in recoveries),
            "worst_recovery_seconds": round(max(recoveries), 2) if recoveries else None,
            "slow_recoveries": slow,
            "kills": [
                {"at": k.at, "pid": k.pid, "jobs": k.jobs, "recovered": k.recovered}
                for k in self.kills
            ],
            "convergence_seconds": round(convergence, 2) if convergence is not None else None,
            "failures": failures[:20],
            "refusals": self.refused[:20],
        }


def report(figures: dict[str, Any]) -> None:
    def mark(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    worst = figures["worst_recovery_seconds"]
    recovered = (
        worst is not None and worst <= RECOVERY_TARGET and not figures["killed_jobs_unrecovered"]
    )
    convergence = figures["convergence_seconds"]
    dupes = figures["scm_duplicate_enrollments"] + figures["pebble_duplicate_orders"]
    rows = [
        (
            "accepted",
            f"{figures['accepted']} of {figures['orders']} ({figures['refused']} refused)",
        ),
        ("issued", figures["issued"]),
        ("failed", figures["failed"]),
        ("stuck", f"{figures['stuck']}  [target 0: {mark(figures['stuck'] == 0)}]"),
        ("lost", f"{figures['lost']}  [target 0: {mark(figures['lost'] == 0)}]"),
        ("key mismatches", figures["key_mismatches"]),
        (
            "duplicate CA orders",
            f"{dupes} (SCM {figures['scm_duplicate_enrollments']} of"
            f" {figures['scm_enrollments']} enrollments; pebble {figures['pebble_orders']} orders"
            f" for {figures['acme_certificates_ordered']} DV certificates)"
            f"  [target 0: {mark(dupes == 0)}]",
        ),
        (
            "faults",
            f"{figures['worker_kills']} worker SIGKILLs, {figures['api_kills']} API SIGKILLs,"
            f" {figures['redis_flushes']} Redis flush, {figures['scm_bursts']} SCM burst",
        ),
        (
            "killed workers' jobs",
            f"{figures['killed_jobs']} held, {figures['killed_jobs_unrecovered']} without a next"
            " step",
        ),
        (
            "recovery after a kill",
            f"worst {worst} s; all {figures['recovery_seconds']}"
            f"  [target <= {RECOVERY_TARGET:g} s: "
            f"{mark(recovered)}]",
        ),
        (
            "convergence",
            f"{convergence} s after the last submission"
            f"  [target <= {CONVERGENCE_TARGET:g} s + CA delays: "
            f"{mark(convergence is not None and convergence <= CONVERGENCE_TARGET)}]",
        ),
    ]
    print("\n== chaos run ==")
    for name, value in rows:
        print(f"  {name:<24} {value}")
    for failure in figures["failures"]:
        print(f"  failed: {failure}")
    for refusal in figures["refusals"]:
        print(f"  refused: {refusal}")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    random.seed(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="certbroker-chaos-"))
    cluster = Cluster(args, workdir)
    chaos_run = Run(args, cluster)
    watcher: asyncio.Task[None] | None = None
    try:
        print(f"starting the cluster (logs in {workdir})", flush=True)
        await cluster.start()
        dsn = cluster.env["CERTBROKER_DATABASE_URL"].replace("postgresql+asyncpg", "postgresql")
        chaos_run.db = await asyncpg.create_pool(dsn, min_size=1, max_size=3)
        chaos_run.note(
            f"{args.workers} workers, {args.api_processes} API processes; ordering"
            f" {args.orders} certificates over {args.duration:g} s"
        )
        watcher = asyncio.create_task(chaos_run.watch_recoveries())
        started = time.monotonic()
        await asyncio.gather(chaos_run.submit_all(), chaos_run.chaos())
        convergence = await chaos_run.wait_for_convergence()
        await asyncio.sleep(1.0)  # the watcher's last look
        figures = await chaos_run.figures(convergence)
        figures["wall_seconds"] = round(time.monotonic() - started, 1)
        figures["started"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        figures["events"] = chaos_run.events
        report(figures)
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
        return figures
    finally:
        if watcher is not None:
            watcher.cancel()
        if chaos_run.db is not None:
            await chaos_run.db.close()
        await cluster.stop()
        if not args.keep:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    figures = asyncio.run(run(parse_args(argv)))
    correct = figures["lost"] == 0 and figures["stuck"] == 0
    correct = correct and figures["scm_duplicate_enrollments"] == 0
    correct = correct and figures["pebble_duplicate_orders"] == 0
    return 0 if correct else 1


if __name__ == "__main__":
    sys.exit(main())
