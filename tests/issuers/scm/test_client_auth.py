"""All three access styles against the simulator: headers, OAuth (with expiry), client cert."""

import asyncio
import logging
import time

import pytest

from app.issuers.scm import HeaderAuth, OAuthAuth, ScmAuthError, ScmClient

from .conftest import FAST_RETRY, header_client, mtls_client, oauth_client


async def test_header_auth_and_logging(sandbox, caplog):
    caplog.set_level(logging.INFO, logger="certbroker.scm")
    async with header_client(sandbox) as scm:
        profiles = await scm.list_profiles()
    assert {"InstantSSL", "EV SSL"} <= {p.name for p in profiles}
    lines = [r.getMessage() for r in caplog.records if r.name == "certbroker.scm"]
    assert any(line.startswith("scm GET ssl/v1/types -> 200 in ") for line in lines)
    assert not any("password" in line.lower() for line in lines)


async def test_bad_password_is_auth_error_without_secret(sandbox, caplog):
    auth = HeaderAuth(sandbox.login, "wrong-secret-value", sandbox.customer_uri)
    async with ScmClient(sandbox.base_url, auth, retry=FAST_RETRY) as scm:
        with pytest.raises(ScmAuthError) as refused:
            await scm.list_custom_fields()
    assert refused.value.status == 401 and refused.value.code == -16
    assert "wrong-secret-value" not in str(refused.value) + repr(scm) + caplog.text


async def test_oauth_token_cached_and_refreshed(sandbox, control):
    # JWT `exp` is whole seconds (int(now) + lifetime), so a 2 s token lives 1-2 s.
    await control.settings(token_lifetime_seconds=2)
    async with oauth_client(sandbox) as scm:
        auth: OAuthAuth = scm.auth
        await scm.list_profiles()
        await scm.list_custom_fields()
        assert auth.fetches == 1
        await asyncio.sleep(2.0)  # past our refresh point: refreshed before use
        await scm.list_organizations()
        assert auth.fetches == 2

        # The token is dead at the server but we believe it fresh: one 401, one refresh.
        await asyncio.sleep(2.05)
        auth._refresh_at = time.monotonic() + 3600
        await scm.list_profiles()
        assert auth.fetches == 3


async def test_oauth_bad_secret(sandbox):
    auth = OAuthAuth(sandbox.client_id, "not-the-secret", sandbox.token_url)
    async with ScmClient(sandbox.base_url, auth, retry=FAST_RETRY) as scm:
        with pytest.raises(ScmAuthError) as refused:
            await scm.list_profiles()
    assert "not-the-secret" not in str(refused.value) + repr(auth)


async def test_client_certificate_on_private_base(sandbox):
    async with mtls_client(sandbox) as scm:
        assert "/private/api" in scm.session.base_url
        assert await scm.list_profiles()


async def test_token_endpoint_5xx_is_retried_and_refusal_is_not(sandbox, control):
    token_calls = "POST /auth/realms/apiclients/protocol/openid-connect/token"
    await control.faults(rules=[{"path": "/auth/", "count": 1, "status": 503}])
    async with oauth_client(sandbox) as scm:
        assert await scm.list_custom_fields()
        assert scm.auth.fetches == 1
    before = await control.calls(token_calls)
    auth = OAuthAuth(sandbox.client_id, "not-the-secret", sandbox.token_url)
    async with ScmClient(sandbox.base_url, auth, retry=FAST_RETRY) as scm:
        with pytest.raises(ScmAuthError):
            await scm.list_custom_fields()
    assert await control.calls(token_calls) == before + 1
