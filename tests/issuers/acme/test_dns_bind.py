"""DNS-01 through real BIND: RFC 2136 updates with TSIG, and CNAME delegation."""

from __future__ import annotations

import secrets

import dns.asyncquery
import dns.tsig
import dns.update
import pytest

from app.dns.delegation import expected_delegation
from app.issuers.base import StepOutcome
from tests.issuers.acme.chains import verify_chain
from tests.issuers.acme.conftest import drive, make_request


@pytest.fixture(scope="module")
def bind_pebble(pebble_factory, bind_resolver):
    """Pebble resolving through a recursive named in front of the test BIND (pebble itself
    does not chase CNAMEs)."""
    return pebble_factory(dns_server=bind_resolver.address)


def tenant_name(bind) -> str:
    return f"www-{secrets.token_hex(6)}.{bind.tenant_zone.rstrip('.')}"


async def test_wildcard_and_apex_over_rfc2136(issuer, bind, bind_pebble):
    name = tenant_name(bind)
    config = bind_pebble.backend_config(
        challenge_types=["dns-01"],
        dns_provider="rfc2136",
        dns_config=bind.provider_config(),
        dns_propagation_timeout=10,
    )
    request = make_request([f"*.{name}", name], config)
    result = await drive(issuer, request)
    assert result.outcome is StepOutcome.ISSUED, result.reason
    verify_chain(result.certificate, bind_pebble.root())
    # Both authorizations share _acme-challenge.<name> with two TXT values.
    assert {c["type"] for c in request.state["challenges"].values()} == {"dns-01"}
    assert len(request.state["challenges"]) == 2


async def test_cname_delegation(issuer, bind, bind_pebble):
    name = tenant_name(bind)
    host, target = expected_delegation(name, bind.validation_zone)
    update = dns.update.UpdateMessage(
        bind.tenant_zone, keyring=dns.tsig.Key(bind.key_name, bind.secret, bind.algorithm)
    )
    update.replace(host, 60, "CNAME", target)
    assert (await dns.asyncquery.tcp(update, bind.host, port=bind.port, timeout=2)).rcode() == 0

    config = bind_pebble.backend_config(
        challenge_types=["dns-01"],
        dns_provider="cname-delegation",
        dns_config=bind.delegation_config(),
        dns_propagation_timeout=10,
    )
    result = await drive(issuer, make_request([f"*.{name}", name], config))
    assert result.outcome is StepOutcome.ISSUED, result.reason
    verify_chain(result.certificate, bind_pebble.root())


async def test_missing_delegation_fails_with_instructions(issuer, bind, bind_pebble):
    name = tenant_name(bind)
    host, target = expected_delegation(name, bind.validation_zone)
    config = bind_pebble.backend_config(
        challenge_types=["dns-01"],
        dns_provider="cname-delegation",
        dns_config=bind.delegation_config(),
    )
    result = await drive(issuer, make_request([name], config))
    assert result.outcome is StepOutcome.FAILED
    assert f"create CNAME {host} → {target}" in result.reason
