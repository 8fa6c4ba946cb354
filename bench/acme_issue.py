"""Benchmark: DV certificates per second from pebble through AcmeIssuer, against Debian's lego.

    uv run python bench/acme_issue.py [--count 200] [--concurrency 32] [--lego 20]
                                      [--nonce-reject 5]

Starts its own pebble-challtestsrv, an in-process HTTP-01 responder (uvicorn) and pebble
(EAB required, PEBBLE_VA_NOSLEEP=1, PEBBLE_WFE_NONCEREJECT=--nonce-reject, default 5 = pebble's
own default, so badNonce retries are part of the figure), with the launchers of the test suite
(tests/fixtures/acme_servers.py). Every certificate has a fresh P-256 key, a fresh CSR and a unique
name, so no authorization is reused (PEBBLE_AUTHZREUSE=0) and every order is validated over
HTTP-01. The issuer runs in checkpoint mode (each persistence point handed to an in-memory
"database" and the order carried on in the same advance call), as a broker worker would.

Measured:
  * certs/s: wall clock from the first order to the last certificate;
  * client CPU s/cert: this process's CPU time (time.process_time: ACME client, JWS, CSR and key
    generation, and the HTTP-01 responder that pebble calls back) over the issuance;
  * pebble CPU s/cert: pebble's own utime+stime from /proc over the same span (the CA side);
  * lego: N sequential `lego run` (same pebble; the responder is stopped so lego can serve
    HTTP-01 on pebble's httpPort; one --path so its account is reused), with its CPU from
    resource.getrusage(RUSAGE_CHILDREN) and pebble's from /proc.
Targets (printed, not asserted): >= 30 certs/s and >= 20x lego's sequential rate.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.issuers.acme import AcmeConfig, AcmeIssuer, InMemoryAccountStore
from app.issuers.base import IssueRequest, StepOutcome
from tests.fixtures.acme_servers import (
    start_challtestsrv,
    start_http01_server,
    start_pebble,
    stop_http01_server,
)
from tests.issuers.acme.conftest import make_csr

ZONE = "bench.certbroker.test"


def process_cpu(pid: int) -> float:
    """utime + stime of a running process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def issue_one(issuer: AcmeIssuer, config: dict[str, Any], db: dict[str, dict]) -> None:
    name = f"c{uuid.uuid4().hex[:16]}.{ZONE}"
    request = IssueRequest(
        request_id=uuid.uuid4().hex,
        csr_pem=make_csr([name]),
        common_name=name,
        sans=[name],
        product="dv",
        term_days=90,
        backend_config=config,
    )
    while True:
        result = await issuer.advance(request)
        request.state = db[request.request_id] = result.state
        if result.outcome is StepOutcome.ISSUED:
            return
        if result.outcome is StepOutcome.FAILED:
            raise RuntimeError(result.reason)
        await asyncio.sleep(result.retry_after or 0)


async def bench_issuer(pebble, responder, count: int, concurrency: int) -> tuple[float, float]:
    db: dict[str, dict] = {}

    async def checkpoint(request: IssueRequest, state: dict[str, Any]) -> None:
        db[request.request_id] = state  # where a worker would commit

    issuer = AcmeIssuer(InMemoryAccountStore(), http01=responder, checkpoint=checkpoint)
    config = pebble.backend_config(challenge_types=["http-01"])
    await issuer.connections.open(AcmeConfig.model_validate(config))  # account, directory
    await issue_one(issuer, config, db)  # warm-up: TLS connections, imports

    semaphore = asyncio.Semaphore(concurrency)

    async def limited() -> None:
        async with semaphore:
            await issue_one(issuer, config, db)

    cpu, pebble_cpu = time.process_time(), process_cpu(pebble.process.pid)
    start = time.perf_counter()
    await asyncio.gather(*(limited() for _ in range(count)))
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    pebble_cpu = process_cpu(pebble.process.pid) - pebble_cpu
    await issuer.aclose()
    rate = count / elapsed
    print(
        f"AcmeIssuer: {count} certificates in {elapsed:.2f} s = {rate:.1f} certs/s "
        f"(concurrency {concurrency})"
    )
    print(
        f"  client CPU {cpu / count * 1000:.1f} ms/cert, "
        f"pebble CPU {pebble_cpu / count * 1000:.1f} ms/cert"
    )
    return rate, cpu / count


def bench_lego(pebble, count: int) -> tuple[float, float]:
    workdir = Path(tempfile.mkdtemp(prefix="lego-bench-"))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(workdir), "LEGO_CA_CERTIFICATES": pebble.ca_bundle}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    pebble_cpu, start = process_cpu(pebble.process.pid), time.perf_counter()
    for _ in range(count):
        name = f"l{uuid.uuid4().hex[:16]}.{ZONE}"
        subprocess.run(
            [
                "lego",
                "--server",
                pebble.directory_url,
                "--eab",
                "--kid",
                pebble.eab_kid,
                "--hmac",
                pebble.eab_keys[pebble.eab_kid],
                "--http",
                "--http.port",
                f"127.0.0.1:{pebble.http_port}",
                "--accept-tos",
                "--email",
                "pki@example.com",
                "--key-type",
                "ec256",
                "--domains",
                name,
                "--path",
                str(workdir),
                "run",
            ],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    pebble_cpu = process_cpu(pebble.process.pid) - pebble_cpu
    rate = count / elapsed
    print(f"lego (sequential): {count} certificates in {elapsed:.2f} s = {rate:.2f} certs/s")
    print(
        f"  lego CPU {cpu / count * 1000:.1f} ms/cert, "
        f"pebble CPU {pebble_cpu / count * 1000:.1f} ms/cert"
    )
    return rate, cpu / count


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--lego", type=int, default=20, help="lego certificates (0: skip)")
    parser.add_argument("--nonce-reject", type=int, default=5, help="PEBBLE_WFE_NONCEREJECT %%")
    args = parser.parse_args()

    from app.issuers.acme.http01 import InMemoryHttp01Responder

    workdir = Path(tempfile.mkdtemp(prefix="acme-bench-"))
    challtestsrv = start_challtestsrv()
    http01 = await start_http01_server(InMemoryHttp01Responder())
    pebble = start_pebble(
        workdir,
        http_port=http01.port,
        dns_server=challtestsrv.dns_server,
        env={"PEBBLE_WFE_NONCEREJECT": str(args.nonce_reject), "PEBBLE_AUTHZREUSE": "0"},
    )
    try:
        rate, cpu = await bench_issuer(pebble, http01.responder, args.count, args.concurrency)
        await stop_http01_server(http01)  # lego serves HTTP-01 on pebble's httpPort itself
        http01 = None
        if args.lego:
            lego_rate, lego_cpu = bench_lego(pebble, args.lego)
            print(
                f"ratio: {rate / lego_rate:.1f}x lego's sequential rate; CPU per certificate "
                f"{cpu * 1000:.1f} ms (ours) vs {lego_cpu * 1000:.1f} ms (lego)"
            )
            print(
                f"targets: >= 30 certs/s {'met' if rate >= 30 else 'MISSED'}; "
                f">= 20x lego {'met' if rate >= 20 * lego_rate else 'MISSED'}"
            )
    finally:
        if http01 is not None:
            await stop_http01_server(http01)
        pebble.stop()
        challtestsrv.process.terminate()
        challtestsrv.process.wait(timeout=5)


if __name__ == "__main__":
    asyncio.run(main())
