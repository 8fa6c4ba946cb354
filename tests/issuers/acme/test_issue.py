"""Issuing from pebble (EAB required) over HTTP-01 and DNS-01, checking every chain."""

from __future__ import annotations

from cryptography import x509

from app.issuers.base import StepOutcome
from tests.issuers.acme.chains import verify_chain
from tests.issuers.acme.conftest import drive, make_request, unique_name


async def test_one_name_over_http01(issuer, pebble, http01_server):
    name = unique_name()
    request = make_request([name], pebble.backend_config(challenge_types=["http-01"]))
    result = await drive(issuer, request)
    assert result.outcome is StepOutcome.ISSUED, result.reason
    issued = result.certificate
    chain = verify_chain(issued, pebble.root())
    assert chain[0].extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ).value.get_values_for_type(x509.DNSName) == [name]
    assert issued.serial_hex == format(chain[0].serial_number, "x")
    assert issued.backend_ref.startswith("https://127.0.0.1:")
    assert issued.not_before < issued.not_after
    [presented] = request.state["challenges"].values()
    assert presented["type"] == "http-01"
    assert presented["token"] not in http01_server.responder.tokens  # cleaned up


async def test_several_names(issuer, pebble):
    names = [unique_name() for _ in range(4)]
    result = await drive(issuer, make_request(names, pebble.backend_config()))
    assert result.outcome is StepOutcome.ISSUED, result.reason
    leaf = verify_chain(result.certificate, pebble.root())[0]
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(sans.get_values_for_type(x509.DNSName)) == sorted(names)


async def test_wildcard_over_dns01_via_challtestsrv(issuer, pebble, challtestsrv):
    base = unique_name()
    config = pebble.backend_config(
        dns_provider="challtestsrv", dns_config=challtestsrv.dns_config()
    )
    request = make_request([f"*.{base}", base], config)
    result = await drive(issuer, request)
    assert result.outcome is StepOutcome.ISSUED, result.reason
    verify_chain(result.certificate, pebble.root())
    types = {(c["identifier"], c["type"]) for c in request.state["challenges"].values()}
    # The wildcard's authz is dns-01 only; the bare name follows the http-01 preference.
    assert types == {(base, "dns-01"), (base, "http-01")}


async def test_checkpoint_mode_issues_in_one_advance(account_store, http01_server, pebble):
    from app.issuers.acme import AcmeIssuer

    saved: list[dict] = []

    async def checkpoint(request, state):
        saved.append(state)

    issuer = AcmeIssuer(
        account_store, http01=http01_server.responder, checkpoint=checkpoint, poll_budget=10.0
    )
    try:
        request = make_request([unique_name()], pebble.backend_config())
        result = await drive(issuer, request)
    finally:
        await issuer.aclose()
    assert result.outcome is StepOutcome.ISSUED, result.reason
    # Durable before the next CA call: the order, then the published challenges. Finalize is
    # not a persistence point (a retried step finds the order processing or valid).
    assert [sorted(s) for s in saved] == [["order_url"], ["challenges", "order_url"]]
    assert all(s["order_url"] == request.state["order_url"] for s in saved)
    assert request.state["finalized"] is True


async def test_the_requests_checkpoint_is_used_when_given(issuer, pebble):
    saved: list[dict] = []

    async def checkpoint(request, state):
        saved.append(state)

    request = make_request([unique_name()], pebble.backend_config())
    request.checkpoint = checkpoint
    result = await issuer.advance(request)
    assert result.outcome is StepOutcome.ISSUED, result.reason
    assert [sorted(s) for s in saved] == [["order_url"], ["challenges", "order_url"]]
