"""Pebble validates DNS-01 records our providers write into BIND (lego as a neutral ACME client)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.asyncquery
import dns.tsig
import dns.update
import pytest

from app.dns.delegation import expected_delegation
from tests.fixtures.bind import BindServer
from tests.fixtures.bind_resolver import BindResolver
from tests.fixtures.pebble import PebbleServer, free_port, start_pebble

LEGO = shutil.which("lego")
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(LEGO is None, reason="lego is not installed")


@pytest.fixture(scope="module")
def pebble_over_bind(
    bind: BindServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PebbleServer]:
    """Pebble resolving straight at the authoritative BIND (no CNAME chasing anywhere)."""
    server = start_pebble(
        tmp_path_factory.mktemp("pebble-bind"),
        http_port=free_port(),
        dns_server=bind.address,
        eab_required=False,
        env={"PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0"},
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pebble_over_resolver(
    bind_resolver: BindResolver, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PebbleServer]:
    """Pebble resolving through a recursive BIND, as a real CA's resolver would."""
    server = start_pebble(
        tmp_path_factory.mktemp("pebble-resolver"),
        http_port=free_port(),
        dns_server=bind_resolver.address,
        eab_required=False,
        env={"PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0"},
    )
    yield server
    server.stop()


def lego_run(
    pebble: PebbleServer, workdir: Path, domains: list[str], provider: dict[str, Any]
) -> subprocess.CompletedProcess[str]:
    hook = workdir / "hook.sh"
    hook.write_text(f'#!/bin/sh\ncd {ROOT} && exec {sys.executable} -m tests.dns.lego_hook "$@"\n')
    hook.chmod(0o755)
    args = [LEGO, "--server", pebble.directory_url, "--accept-tos", "--email", "ops@example.test"]
    args += ["--path", str(workdir / "lego"), "--dns", "exec", "--dns.disable-cp"]
    # lego looks records up itself (CNAMEs, SOA): the system resolver would time out here.
    args += ["--dns.resolvers", pebble.dns_server, "--dns-timeout", "2", "--key-type", "ec256"]
    for domain in domains:
        args += ["--domains", domain]
    env = {
        **os.environ,
        "LEGO_CA_CERTIFICATES": pebble.ca_bundle,
        "EXEC_PATH": str(hook),
        "EXEC_MODE": "RAW",
        "EXEC_PROPAGATION_TIMEOUT": "20",
        "EXEC_POLLING_INTERVAL": "1",
        "EXEC_SEQUENCE_INTERVAL": "1",  # lego otherwise waits 60 s between authorizations
        "CERTBROKER_DNS_HOOK": json.dumps(provider),
    }
    return subprocess.run(
        [*args, "run"], env=env, capture_output=True, text=True, timeout=40, cwd=workdir
    )


async def set_cname(bind: BindServer, owner: str, target: str) -> None:
    update = dns.update.UpdateMessage(
        bind.tenant_zone, keyring=dns.tsig.Key(bind.key_name, bind.secret, bind.algorithm)
    )
    update.replace(owner, 60, "CNAME", target)
    response = await dns.asyncquery.tcp(update, bind.host, port=bind.port, timeout=2)
    assert response.rcode() == 0


def delegation_provider(bind: BindServer) -> dict[str, Any]:
    return {"provider": "cname-delegation", "config": bind.delegation_config()}


def test_wildcard_and_apex_through_rfc2136(
    bind: BindServer, pebble_over_bind: PebbleServer, tmp_path: Path
) -> None:
    # Both authorizations use the same _acme-challenge name (lego solves them one after the
    # other; test_rfc2136 covers two values present at once).
    name = f"w{secrets.token_hex(4)}.{bind.tenant_zone}".rstrip(".")
    provider = {"provider": "rfc2136", "config": bind.provider_config()}
    result = lego_run(pebble_over_bind, tmp_path, [f"*.{name}", name], provider)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "lego" / "certificates" / f"_.{name}.crt").exists()


async def test_delegated_name_through_a_resolver(
    bind: BindServer, pebble_over_resolver: PebbleServer, tmp_path: Path
) -> None:
    name = f"d{secrets.token_hex(4)}.{bind.tenant_zone}".rstrip(".")
    await set_cname(bind, *expected_delegation(name, bind.validation_zone))
    # One name keeps the test short; the wildcard case is the one above, same TXT name.
    result = lego_run(pebble_over_resolver, tmp_path, [name], delegation_provider(bind))
    assert result.returncode == 0, result.stderr


async def test_delegated_name_fails_when_pebble_asks_authoritative_bind(
    bind: BindServer, pebble_over_bind: PebbleServer, tmp_path: Path
) -> None:
    # Pebble does not follow the CNAME and BIND does not chase it into the other zone.
    name = f"n{secrets.token_hex(4)}.{bind.tenant_zone}".rstrip(".")
    await set_cname(bind, *expected_delegation(name, bind.validation_zone))
    result = lego_run(pebble_over_bind, tmp_path, [name], delegation_provider(bind))
    assert result.returncode != 0
    assert "No TXT records found for DNS challenge" in result.stderr, result.stderr
