"""Benchmark: DV certificates per second for N concurrent lego processes through the broker's
ACME directory, beside the same lego processes straight against pebble, in the same run.

    uv run python bench/acme_facade.py [--count 24] [--concurrency 6]

Starts pebble-challtestsrv (everyone's DNS), pebble (EAB required, PEBBLE_VA_NOSLEEP=1) and the
broker as the ACME test suite runs it (tests/acme_server/environment.py: PostgreSQL, Redis, the
API over HTTP, one worker). Every lego answers DNS-01 (an exec hook writes the TXT record into
challtestsrv), so any number can run at once: through the facade the broker checks that record,
then orders at pebble itself (HTTP-01 answered by its own API); straight, pebble checks it.
Each certificate has a fresh name and key; each lego process registers its own account.

Printed: wall-clock certs/s for each path, the mean seconds per lego run, and the ratio
facade/direct (what the broker's checks, policy, database and second ACME round trip cost a
client). Not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.acme_server.clients import TXT_HOOK, run
from tests.acme_server.environment import acme_environment
from tests.fixtures.acme_servers import start_challtestsrv, start_pebble

ZONE = "example.com"


async def lego_once(
    server: str, kid: str, hmac: str, workdir: Path, hook: Path, extra_env: dict[str, str]
) -> float:
    name = f"b{uuid.uuid4().hex[:12]}.{ZONE}"
    path = workdir / uuid.uuid4().hex
    started = time.perf_counter()
    done = await run(
        [
            "lego", "--server", server, "--eab", "--kid", kid, f"--hmac={hmac}",
            "--email", "bench@example.com", "--accept-tos", "--path", str(path),
            "--domains", name, "--dns", "exec", "--dns.disable-cp", "run",
        ],
        {"EXEC_PATH": str(hook), "EXEC_POLLING_INTERVAL": "1", "EXEC_PROPAGATION_TIMEOUT": "30",
         **extra_env},
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"lego failed for {name}: {done.stdout[-2000:]}{done.stderr[-2000:]}")
    return time.perf_counter() - started


async def batch(count: int, concurrency: int, one: object) -> tuple[float, list[float]]:
    gate = asyncio.Semaphore(concurrency)

    async def guarded() -> float:
        async with gate:
            return await one()  # type: ignore[operator]

    started = time.perf_counter()
    durations = await asyncio.gather(*(guarded() for _ in range(count)))
    return time.perf_counter() - started, list(durations)


def report(label: str, count: int, wall: float, durations: list[float]) -> float:
    rate = count / wall
    mean = sum(durations) / len(durations)
    print(
        f"{label:>8}: {count} certs in {wall:6.1f} s = {rate:5.2f} certs/s;"
        f" lego run {mean:5.2f} s mean"
    )
    return rate


async def main(count: int, concurrency: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="acme-facade-"))
    challtestsrv = start_challtestsrv()
    pebbles = []

    def start(port: int) -> object:
        server = start_pebble(
            workdir / f"pebble-{len(pebbles)}",
            http_port=port,
            dns_server=challtestsrv.dns_server,
            env={"PEBBLE_AUTHZREUSE": "0"},
        )
        pebbles.append(server)
        return server

    hook = workdir / "txt-hook.py"
    hook.write_text(TXT_HOOK.format(python=sys.executable, mgmt=challtestsrv.management_url))
    hook.chmod(0o755)
    try:
        async with acme_environment(challtestsrv, start) as env:
            org = await env.create_org(allowed_domains=[ZONE], acme=env.acme_settings())
            key = await env.credential(org["id"])
            direct = env.pebble
            trust = {"LEGO_CA_CERTIFICATES": direct.ca_bundle}
            print(
                f"lego x {count}, {concurrency} at once, DNS-01 via challtestsrv; "
                f"pebble EAB required, default nonce rejection"
            )
            wall, runs = await batch(
                count,
                concurrency,
                lambda: lego_once(
                    direct.directory_url, direct.eab_kid, direct.eab_keys[direct.eab_kid],
                    workdir, hook, trust,
                ),
            )  # fmt: skip
            straight = report("direct", count, wall, runs)
            wall, runs = await batch(
                count,
                concurrency,
                lambda: lego_once(
                    env.directory(org["id"]), key["id"], key["hmac_key"], workdir, hook, {}
                ),
            )
            facade = report("broker", count, wall, runs)
            print(f"   ratio: broker/direct = {facade / straight:.2f} (certs/s)")
    finally:
        for server in pebbles:
            server.stop()
        challtestsrv.process.terminate()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--concurrency", type=int, default=6)
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main(args.count, args.concurrency))
