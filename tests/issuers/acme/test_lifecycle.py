"""Resuming after a crash, authorization reuse, nonce rejection, revocation, alternate chains."""

from __future__ import annotations

import asyncio

import pytest

from app.issuers.acme import AcmeConfig, AcmeIssuer
from app.issuers.acme.errors import AlreadyRevoked
from app.issuers.base import StepOutcome
from tests.issuers.acme.chains import verify_chain
from tests.issuers.acme.conftest import drive, make_request, unique_name


class WorkerDied(BaseException):
    """The process is gone: nothing after the point that raises it runs, nothing is saved."""


async def test_worker_killed_between_finalize_and_download_resumes(
    account_store, http01_server, pebble
):
    config = pebble.backend_config(account_scope="resume")
    request = make_request([unique_name()], config)
    committed: dict = {}

    async def checkpoint(_request, state):
        committed.clear()
        committed.update(state)

    request.checkpoint = checkpoint
    first = AcmeIssuer(account_store, http01=http01_server.responder)
    client = first.connections.client(AcmeConfig.model_validate(config))

    async def dies(*_args, **_kwargs):
        raise WorkerDied

    client.download_certificate = dies  # the worker dies once the order is finalized
    with pytest.raises(WorkerDied):
        while True:
            result = await first.advance(request)
            assert result.outcome is StepOutcome.PENDING, result.reason
            request.state = result.state
            await checkpoint(request, result.state)  # what the job commits
            await asyncio.sleep(result.retry_after or 0)
    order_url = committed["order_url"]
    account = await first.connections.registrar.account(client, AcmeConfig.model_validate(config))
    assert (await client.get_order(account, order_url)).status in ("processing", "valid")
    await first.aclose()

    second = AcmeIssuer(account_store, http01=http01_server.responder)
    resumed = make_request([request.common_name], config, **committed)
    resumed.csr_pem = request.csr_pem
    try:
        client = second.connections.client(AcmeConfig.model_validate(config))
        finalized = []
        finalize = client.finalize_order

        async def counted(*args, **kwargs):
            finalized.append(args)
            return await finalize(*args, **kwargs)

        client.finalize_order = counted
        result = await drive(second, resumed)
        assert result.outcome is StepOutcome.ISSUED, result.reason
        assert finalized == []  # found processing or valid: not finalized again
        assert resumed.state["order_url"] == order_url
        client, account = await second.connections.open(AcmeConfig.model_validate(config))
        assert await client.list_orders(account) == [order_url]
        verify_chain(result.certificate, pebble.root())
    finally:
        await second.aclose()


async def test_authorization_reuse_gives_orders_born_ready(issuer, pebble_factory):
    reusing = pebble_factory(env={"PEBBLE_AUTHZREUSE": "100"})
    names = [unique_name(), unique_name()]
    first = make_request(names, reusing.backend_config())
    assert (await drive(issuer, first)).outcome is StepOutcome.ISSUED
    assert len(first.state["challenges"]) == 2

    second = make_request(names, reusing.backend_config())
    result = await drive(issuer, second)
    assert result.outcome is StepOutcome.ISSUED, result.reason
    assert second.state.get("challenges", {}) == {}  # nothing to validate: born ready
    assert second.state["order_url"] != first.state["order_url"]
    verify_chain(result.certificate, reusing.root())


async def test_half_the_nonces_rejected_still_issues(issuer, pebble_factory):
    rejecting = pebble_factory(env={"PEBBLE_WFE_NONCEREJECT": "50"})
    config = rejecting.backend_config()
    results = await asyncio.gather(
        *(drive(issuer, make_request([unique_name()], config)) for _ in range(4))
    )
    for result in results:
        assert result.outcome is StepOutcome.ISSUED, result.reason
        verify_chain(result.certificate, rejecting.root())


async def test_revocation(issuer, pebble):
    config = pebble.backend_config(account_scope="revoke")
    result = await drive(issuer, make_request([unique_name()], config))
    issued = result.certificate
    assert pebble.cert_status(issued.serial_hex)["Status"] == "Valid"
    await issuer.revoke(config, issued.leaf_pem, issued.backend_ref, reason=4)
    assert pebble.cert_status(issued.serial_hex)["Status"] == "Revoked"
    with pytest.raises(AlreadyRevoked):
        await issuer.revoke(config, issued.leaf_pem, issued.backend_ref, reason=4)


async def test_alternate_chain_chosen_by_root_name(issuer, pebble_factory):
    alternates = pebble_factory(env={"PEBBLE_ALTERNATE_ROOTS": "1"})
    other_root = alternates.root(1)
    wanted = other_root.subject.rfc4514_string().removeprefix("CN=")
    config = alternates.backend_config(preferred_chain=wanted)
    result = await drive(issuer, make_request([unique_name()], config))
    assert result.outcome is StepOutcome.ISSUED, result.reason
    verify_chain(result.certificate, other_root)

    default = await drive(issuer, make_request([unique_name()], alternates.backend_config()))
    verify_chain(default.certificate, alternates.root(0))


async def test_renewal_info_is_none_without_ari(issuer, pebble):
    result = await drive(issuer, make_request([unique_name()], pebble.backend_config()))
    assert await issuer.renewal_info(pebble.backend_config(), result.certificate.leaf_pem) is None


async def test_failed_validation_names_the_cause(issuer, pebble_factory):
    from tests.fixtures.acme_servers import free_port

    nobody_listens = pebble_factory(http_port=free_port())
    name = unique_name()
    config = nobody_listens.backend_config(challenge_types=["http-01"])
    result = await drive(issuer, make_request([name], config))
    assert result.outcome is StepOutcome.FAILED
    assert result.detail == {"acme_error": "ConnectionFailed"}
    assert result.reason.startswith(
        f"domain validation failed: the CA could not connect to the server for {name}"
    )


def test_acme_issuer_is_an_issuer(issuer):
    from app.issuers.base import Issuer

    assert isinstance(issuer, Issuer)
    assert issuer.name == "acme"


async def test_cancel_deactivates_authorizations_and_removes_responses(
    issuer, pebble, http01_server
):
    config = pebble.backend_config(account_scope="cancel")
    request = make_request([unique_name()], config)
    while not request.state.get("challenges"):
        request.state = (await issuer.advance(request)).state  # newOrder, then publish
    [presented] = request.state["challenges"].values()
    assert presented["token"] in http01_server.responder.tokens

    await issuer.cancel(request)
    assert presented["token"] not in http01_server.responder.tokens
    client, account = await issuer.connections.open(AcmeConfig.model_validate(config))
    authz = await client.get_authorization(account, presented["authz_url"])
    assert authz.status == "deactivated"


async def test_short_lived_certificates(issuer, pebble_factory):
    short = pebble_factory(validity_seconds=3600)
    config = short.backend_config()
    result = await drive(issuer, make_request([unique_name()], config))
    issued = result.certificate
    assert 3500 <= (issued.not_after - issued.not_before).total_seconds() <= 3700
    verify_chain(issued, short.root())
