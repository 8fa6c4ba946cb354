"""State-file persistence across a restart, and the command-line configuration."""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import sys

import httpx

from app.sandbox.scm.config import ScmSandboxConfig
from app.sandbox.scm.server import ScmSandboxServer, add_arguments, config_from_args
from tests.sandbox.orders import enroll_body

HEADERS = {"login": "sandbox", "password": "sandbox", "customerUri": "sandbox"}


async def test_state_survives_restart(tmp_path):
    config = ScmSandboxConfig(state_file=tmp_path / "scm.sqlite")
    first = ScmSandboxServer(config).start()
    try:
        async with httpx.AsyncClient(base_url=f"{first.origin}/api", headers=HEADERS) as scm:
            ssl_id = (await scm.post("/ssl/v1/enroll", json=enroll_body())).json()["sslId"]
            await scm.put(
                f"{first.origin}/__sandbox/orders/{ssl_id}/state", json={"status": "Issued"}
            )
            before = (await scm.get(f"/ssl/v1/{ssl_id}")).json()
            created = await scm.post(
                "/acme/v2/account",
                json={
                    "name": "kept",
                    "acmeServer": "https://acme.sectigo.com/v2/DV",
                    "organizationId": 5678,
                },
            )
            root = (await scm.get(f"{first.origin}/__sandbox/ca/root.pem")).text
    finally:
        first.stop()
    second = ScmSandboxServer(config).start()
    try:
        async with httpx.AsyncClient(base_url=f"{second.origin}/api", headers=HEADERS) as scm:
            after = (await scm.get(f"/ssl/v1/{ssl_id}")).json()
            account = await scm.get(
                created.headers["Location"].replace(first.origin, second.origin)
            )
            next_id = (await scm.post("/ssl/v1/enroll", json=enroll_body())).json()["sslId"]
            root_again = (await scm.get(f"{second.origin}/__sandbox/ca/root.pem")).text
    finally:
        second.stop()
    assert after["serialNumber"] == before["serialNumber"] and after["status"] == "Issued"
    assert account.status_code == 200 and account.json()["name"] == "kept"
    assert next_id == ssl_id + 1
    assert root_again == root


def test_command_line_configuration():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        [
            "--port",
            "9999",
            "--state-file",
            "/tmp/x.sqlite",
            "--token-lifetime",
            "1",
            "--issue-delay",
            "-1",
            "--drop-after-enroll",
            "2",
            "--fault-path",
            "/ssl/v1/enroll",
            "--error-rate",
            "0.5",
        ]
    )
    config = config_from_args(args)
    assert args.port == 9999 and str(config.state_file) == "/tmp/x.sqlite"
    assert config.behaviour.token_lifetime_seconds == 1
    assert config.behaviour.applied_to_issued_seconds is None
    assert config.initial_faults["drop_after_enroll_count"] == 2
    assert config.initial_faults["paths"] == ["/ssl/v1/enroll"]


async def test_python_dash_m_serves_until_interrupted():
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.sandbox.scm",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        banner = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        origin = re.search(r"(http://127\.0\.0\.1:\d+)/api", banner).group(1)
        async with httpx.AsyncClient(base_url=f"{origin}/api", headers=HEADERS) as scm:
            assert (await scm.get("/ssl/v1/types")).status_code == 200
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
