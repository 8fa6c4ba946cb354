"""Shared by the benchmarks that drive the broker from outside: a throw-away PostgreSQL database,
the broker's own processes (`certbroker serve`, `certbroker worker`) started on it, and a
closed-loop HTTP load generator with latency percentiles.

Not a benchmark itself (`make bench` runs the scripts listed in the Makefile's BENCHES).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_DSN = os.environ.get(
    "CERTBROKER_BENCH_PG",
    os.environ.get("CERTBROKER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres"),
)
REDIS_URL = os.environ.get("CERTBROKER_BENCH_REDIS", "redis://127.0.0.1:6379/0")
CERTBROKER = str(Path(sys.executable).parent / "certbroker")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_cpu(pid: int) -> float:
    """utime + stime of a running process and its reaped children, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(value) for value in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> float:
    """CPU seconds of `pid` and every live descendant (uvicorn's worker processes)."""
    total, seen = 0.0, {pid}
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        total += process_cpu(pid)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) in seen or int(fields[1]) == pid:
                child = int(stat.parent.name)
                if child not in seen:
                    seen.add(child)
                    total += process_cpu(child)
    return total


def service_pid(name: str) -> int | None:
    """The oldest process called `name` whose parent is not (PostgreSQL's postmaster, the
    Redis server): its tree's CPU is the service's, wherever the bench's work lands in it."""
    candidates = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError, ValueError, IndexError):
            text = stat.read_text()
            comm = text[text.index("(") + 1 : text.rindex(")")]
            parent = int(text.rsplit(")", 1)[1].split()[1])
            if comm == name:
                candidates.append((int(stat.parent.name), parent))
    names = {pid for pid, _ in candidates}
    roots = sorted(pid for pid, parent in candidates if parent not in names)
    return roots[0] if roots else None


def service_cpu(name: str) -> float:
    """CPU seconds of a local service's process tree (0 when it is not found): everything it
    did for every client, so meaningful only while the bench is the machine's only load."""
    pid = service_pid(name)
    return tree_cpu(pid) if pid is not None else 0.0


@dataclass
class PgDatabase:
    """A database of its own on the bench server, dropped by `drop()`."""

    name: str = field(default_factory=lambda: f"certbroker_bench_{uuid.uuid4().hex[:10]}")

    @property
    def dsn(self) -> str:
        return PG_ADMIN_DSN.rsplit("/", 1)[0] + "/" + self.name

    @property
    def url(self) -> str:
        return "postgresql+asyncpg://" + self.dsn.split("://", 1)[1]

    async def create(self) -> None:
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await admin.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await admin.close()

    async def drop(self) -> None:
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await admin.close()


def broker_env(db: PgDatabase, prefix: str, **extra: str) -> dict[str, str]:
    """The environment of the broker's processes for one bench: its database, its own Redis
    queue, warnings only (the request log is a cost worth measuring separately)."""
    env = dict(os.environ)
    env.update(
        {
            "CERTBROKER_DATABASE_URL": db.url,
            "CERTBROKER_REDIS_URL": REDIS_URL,
            "CERTBROKER_JOBS__QUEUE_NAME": f"{prefix}:queue",
            "CERTBROKER_LOG_LEVEL": os.environ.get("CERTBROKER_LOG_LEVEL", "WARNING"),
            # The per-client limit stays on (its Redis round trip is part of every request)
            # but far above what one bench client sends.
            "CERTBROKER_RATE_LIMIT_PER_MINUTE": "100000000",
        }
    )
    env.update(egress_env())
    env.update(extra)
    return env


def egress_env() -> dict[str, str]:
    """The broker may call the local simulators and pebble on the loopback address, as the test
    suite allows (production allows Sectigo's hosts only)."""
    from app.settings import EgressSettings

    return {
        "CERTBROKER_EGRESS": json.dumps(
            {
                "ca_host_allowlist": [*EgressSettings().ca_host_allowlist, "127.0.0.1"],
                "ca_allow_http": True,
                "ca_any_port": True,
                "allowed_networks": ["127.0.0.1/32"],
            }
        )
    }


def settings_from(env: dict[str, str]) -> Any:
    """The broker's Settings as its processes started with `env` read them."""
    from app.settings import Settings

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return Settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def migrate(env: dict[str, str]) -> None:
    subprocess.run([CERTBROKER, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)


class Process:
    """A child process in its own process group, stopped with SIGTERM (then SIGKILL)."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = log.open("wb")
        self.proc = subprocess.Popen(
            argv, env=env, cwd=ROOT, stdout=self._out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu(self) -> float:
        return tree_cpu(self.proc.pid)

    def stop(self, how: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, how)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._out.close()


async def wait_http(url: str, process: Process, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if process.proc.poll() is not None:
                raise RuntimeError(f"{url} exited: {process.log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url, timeout=2)).status_code < 500:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {within:.0f} s")


def machine_cpu() -> dict[str, float]:
    """CPU seconds so far of what shares the machine with the server under test: PostgreSQL,
    Redis, this load generator, and the machine's idle time (summed over its cores)."""
    mine = os.times()
    idle = Path("/proc/stat").read_text().split("\n", 1)[0].split()[4:6]  # idle, iowait
    return {
        "PG": service_cpu("postgres"),
        "Redis": service_cpu("redis-server"),
        "client": mine.user + mine.system,
        "idle": sum(int(ticks) for ticks in idle) / os.sysconf("SC_CLK_TCK"),
    }


@dataclass
class LoadResult:
    concurrency: int
    seconds: float
    latencies: list[float]
    errors: dict[int, int]
    cpu: float = 0.0  # CPU seconds of the server under test over the run
    # CPU seconds over the run of the rest of the machine (machine_cpu's keys)
    others: dict[str, float] = field(default_factory=dict)

    def busy(self) -> float:
        """The share of the machine's cores busy over the run."""
        cores = os.cpu_count() or 1
        return 1 - self.others.get("idle", 0.0) / (self.seconds * cores) if self.seconds else 0.0

    def side_line(self) -> str:
        """Per request: the CPU PostgreSQL, Redis and the load generator spent beside the
        server, and how busy the machine was (near 100 %: the cores bound the rate)."""
        if not self.count or not self.others:
            return ""
        spent = ", ".join(
            f"{name} {seconds / self.count * 1000:.1f}"
            for name, seconds in self.others.items()
            if name != "idle"
        )
        return f"{spent} ms/req; machine {self.busy():.0%} busy"

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")

    def line(self, label: str) -> str:
        errors = f", errors {dict(self.errors)}" if self.errors else ""
        cpu = f", server CPU {self.cpu / self.count * 1000:.1f} ms/req" if self.count else ""
        return (
            f"{label:<26} x{self.concurrency:<3} {self.rate:7.1f}/s  p50 {self.p50 * 1000:7.1f} ms"
            f"  p99 {self.pct(0.99) * 1000:7.1f} ms  ({self.count} in {self.seconds:.1f} s{cpu}"
            f"{errors})"
        )


class HttpConnection:
    """One keep-alive HTTP/1.1 connection of the load generator. httpx spends about a
    millisecond of CPU per request on this machine, which the server under test would share the
    two cores with (and the floor reference, at ~1 ms per request itself, would be measured at
    half its speed); this spends tens of microseconds. Enough HTTP for the benches' own
    requests: Content-Length or chunked bodies, `Connection: close` honoured."""

    def __init__(self, base: str) -> None:
        parsed = urlsplit(base)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> httpx.Response:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        lines.append(f"Content-Length: {len(body)}")
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        try:
            head = await self._reader.readuntil(b"\r\n\r\n")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            fields = {}
            for line in header_lines:
                name, _, value = line.partition(":")
                fields[name.strip().lower()] = value.strip()
            if fields.get("transfer-encoding", "").lower() == "chunked":
                content = b""
                while size := int((await self._reader.readuntil(b"\r\n"))[:-2], 16):
                    content += (await self._reader.readexactly(size + 2))[:-2]
                await self._reader.readuntil(b"\r\n")
            else:
                content = await self._reader.readexactly(int(fields.get("content-length", 0)))
        except BaseException:
            await self.close()
            raise
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return httpx.Response(int(status_line.split(" ", 2)[1]), content=content)

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def closed_loop(
    base: str,
    make_request: Callable[[HttpConnection, int], Awaitable[httpx.Response]],
    *,
    concurrency: int,
    seconds: float,
    warmup: float = 0.5,
    ok: tuple[int, ...] = (200, 201, 202),
    cpu_of: Callable[[], float] | None = None,
) -> LoadResult:
    """`concurrency` callers, each on a keep-alive connection of its own sending its next
    request when the last one is answered, for `seconds` after `warmup` (whose requests are not
    counted)."""
    counter = iter(range(10**9))
    latencies: list[float] = []
    errors: dict[int, int] = {}
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + seconds
    cpu_start: list[float] = []
    others_start: list[dict[str, float]] = []

    async def caller() -> None:
        connection = HttpConnection(base)
        try:
            while True:
                sent = time.perf_counter()
                if sent >= stop_at:
                    return
                if sent >= measure_from and not others_start:
                    others_start.append(machine_cpu())
                    if cpu_of is not None:
                        cpu_start.append(cpu_of())
                try:
                    response = await make_request(connection, next(counter))
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:  # status 0
                    response = httpx.Response(0, text=f"{type(exc).__name__}: {exc}")
                done = time.perf_counter()
                if sent < measure_from:
                    continue
                if response.status_code in ok:
                    latencies.append(done - sent)
                else:
                    errors[response.status_code] = errors.get(response.status_code, 0) + 1
                    if sum(errors.values()) == 1:
                        print(f"    first error {response.status_code}: {response.text[:300]}")
        finally:
            await connection.close()

    await asyncio.gather(*(caller() for _ in range(concurrency)))
    elapsed = time.perf_counter() - measure_from
    cpu = (cpu_of() - cpu_start[0]) if cpu_of is not None and cpu_start else 0.0
    others = (
        {name: seconds - others_start[0][name] for name, seconds in machine_cpu().items()}
        if others_start
        else {}
    )
    return LoadResult(concurrency, elapsed, latencies, errors, cpu, others)


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
