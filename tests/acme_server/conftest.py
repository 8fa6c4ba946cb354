"""Fixtures of the ACME server tests: the broker's own environment (environment.py), once per
session, and an upstream pebble that checks DNS-01 in BIND for wildcards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.acme_server.environment import AcmeEnv, acme_environment
from tests.fixtures.acme_servers import ChallTestSrv, PebbleServer

__all__ = ["AcmeEnv", "wildcard_org"]


@pytest.fixture(scope="session")
async def acme_env(challtestsrv: ChallTestSrv, pebble_factory: Any) -> AsyncIterator[AcmeEnv]:
    # Pebble validates the broker's own upstream HTTP-01 at the broker's API port.
    async with acme_environment(challtestsrv, lambda port: pebble_factory(http_port=port)) as env:
        yield env


@pytest.fixture(scope="session")
def bind_pebble(acme_env: AcmeEnv, bind: Any, pebble_factory: Any) -> PebbleServer:
    """An upstream pebble that checks the broker's own DNS-01 records in BIND (wildcards)."""
    return pebble_factory(http_port=acme_env.api_port, dns_server=bind.address)


async def wildcard_org(env: AcmeEnv, bind: Any, upstream: PebbleServer) -> dict[str, Any]:
    """An organization whose DV wildcards the broker orders at `upstream`, writing its DNS-01
    records into BIND's tenant zone over RFC 2136."""
    return await env.create_org(
        allowed_domains=[bind.tenant_zone.rstrip(".")],
        acme={**env.acme_settings(upstream), "challenge_types": ["dns-01"]},
        dns=bind.rfc2136_settings(),
    )
