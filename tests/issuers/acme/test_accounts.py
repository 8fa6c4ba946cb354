"""Accounts: External Account Binding errors, lookup, key rollover."""

from __future__ import annotations

import pytest

from app.issuers.acme import AccountKey, AcmeConfig
from app.issuers.acme.errors import AccountDoesNotExist
from app.issuers.base import StepOutcome
from tests.issuers.acme.chains import verify_chain
from tests.issuers.acme.conftest import drive, make_request, unique_name


async def test_missing_eab_says_to_set_it(issuer, pebble):
    config = pebble.backend_config(eab_kid=None, eab_hmac_key=None, account_scope="no-eab")
    result = await issuer.advance(make_request([unique_name()], config))
    assert result.outcome is StepOutcome.FAILED
    assert result.reason.startswith("the ACME server requires External Account Binding")
    assert result.detail == {"acme_error": "ExternalAccountRequired"}


@pytest.mark.parametrize("what", ["hmac", "kid"])
async def test_wrong_eab_says_to_check_it(issuer, pebble, what):
    other = AccountKey.generate().thumbprint  # any base64url string
    wrong = {"eab_hmac_key": other} if what == "hmac" else {"eab_kid": "no-such-kid"}
    config = pebble.backend_config(account_scope=f"wrong-{what}", **wrong)
    result = await issuer.advance(make_request([unique_name()], config))
    assert result.outcome is StepOutcome.FAILED
    assert "rejected the External Account Binding" in result.reason
    assert "EAB kid and HMAC key" in result.reason


async def test_account_is_created_once_and_found_again(issuer, account_store, pebble):
    config = pebble.backend_config(account_scope="lookup")
    results = await __import__("asyncio").gather(
        *(drive(issuer, make_request([unique_name()], config)) for _ in range(3))
    )
    assert all(r.outcome is StepOutcome.ISSUED for r in results)
    [stored] = [a for (d, s), a in account_store.accounts.items() if s == "lookup"]
    client = issuer.connections.client(AcmeConfig.model_validate(config))
    # onlyReturnExisting needs no EAB and finds the same account.
    found = await client.new_account(AccountKey.from_pem(stored.key_pem), only_return_existing=True)
    assert found.url == stored.account_url
    with pytest.raises(AccountDoesNotExist) as info:
        await client.new_account(AccountKey.generate(), only_return_existing=True)
    assert "knows no account" in info.value.user_message


async def test_key_rollover(issuer, account_store, pebble):
    config = pebble.backend_config(account_scope="rollover")
    assert (await drive(issuer, make_request([unique_name()], config))).outcome is (
        StepOutcome.ISSUED
    )
    before = await account_store.get(pebble.directory_url, "rollover")
    rolled = await issuer.rollover_account_key(config)
    after = await account_store.get(pebble.directory_url, "rollover")
    assert after.account_url == before.account_url == rolled.url
    assert after.key_pem != before.key_pem

    client = issuer.connections.client(AcmeConfig.model_validate(config))
    with pytest.raises(AccountDoesNotExist):
        await client.new_account(AccountKey.from_pem(before.key_pem), only_return_existing=True)
    found = await client.new_account(AccountKey.from_pem(after.key_pem), only_return_existing=True)
    assert found.url == before.account_url

    result = await drive(issuer, make_request([unique_name()], config))
    assert result.outcome is StepOutcome.ISSUED, result.reason
    verify_chain(result.certificate, pebble.root())


async def test_rsa_account_key(issuer, pebble):
    config = pebble.backend_config(account_scope="rsa", account_key_type="rsa2048")
    result = await drive(issuer, make_request([unique_name()], config))
    assert result.outcome is StepOutcome.ISSUED, result.reason


async def test_key_saved_before_registration_finds_its_account(
    account_store, http01_server, pebble
):
    """A crash between saving a new key and storing the account URL loses nothing: newAccount
    with the known key answers with the same account."""
    from app.issuers.acme import AcmeIssuer, StoredAccount

    config = pebble.backend_config(account_scope="crash-after-key")
    first = AcmeIssuer(account_store, http01=http01_server.responder)
    assert (await drive(first, make_request([unique_name()], config))).outcome is (
        StepOutcome.ISSUED
    )
    await first.aclose()
    stored = await account_store.get(pebble.directory_url, "crash-after-key")
    await account_store.put(
        pebble.directory_url, "crash-after-key", StoredAccount(stored.key_pem, None)
    )

    second = AcmeIssuer(account_store, http01=http01_server.responder)
    try:
        result = await drive(second, make_request([unique_name()], config))
    finally:
        await second.aclose()
    assert result.outcome is StepOutcome.ISSUED, result.reason
    assert (await account_store.get(pebble.directory_url, "crash-after-key")) == stored


async def test_rollover_elsewhere_is_picked_up(account_store, http01_server, pebble):
    from app.issuers.acme import AcmeIssuer

    config = pebble.backend_config(account_scope="rolled-elsewhere")
    worker = AcmeIssuer(account_store, http01=http01_server.responder)
    admin = AcmeIssuer(account_store, http01=http01_server.responder)
    try:
        assert (await drive(worker, make_request([unique_name()], config))).outcome is (
            StepOutcome.ISSUED
        )
        await admin.rollover_account_key(config)  # the worker's cached key is now stale
        result = await drive(worker, make_request([unique_name()], config))
        assert result.outcome is StepOutcome.ISSUED, result.reason
    finally:
        await worker.aclose()
        await admin.aclose()
