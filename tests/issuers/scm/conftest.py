"""Clients for the SCM simulator (started once per session by tests/fixtures/scm_sandbox.py).

Tests isolate by data: every test enrolls under its own unique common name. Faults and
behaviour knobs are reset after each test that touches them (`sandbox` fixture).
"""

from __future__ import annotations

import uuid

import pytest
from pydantic import SecretStr

from app.issuers.scm import ClientCertAuth, HeaderAuth, OAuthAuth, RetryPolicy, ScmClient

from .control import SandboxControl

FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.05, max_delay=0.2, max_retry_after=3)


@pytest.fixture
async def control(scm_sandbox):
    """Inline fault and settings changes, undone after the test."""
    driver = SandboxControl(scm_sandbox)
    yield driver
    await driver.aclose()


@pytest.fixture
def sandbox(scm_sandbox):
    return scm_sandbox


@pytest.fixture
def unique_cn():
    return f"t{uuid.uuid4().hex[:12]}.example.com"


def header_client(sandbox, **kw) -> ScmClient:
    auth = HeaderAuth(sandbox.login, sandbox.password, sandbox.customer_uri)
    return ScmClient(sandbox.base_url, auth, retry=kw.pop("retry", FAST_RETRY), **kw)


def oauth_client(sandbox, **kw) -> ScmClient:
    auth = OAuthAuth(sandbox.client_id, sandbox.client_secret, sandbox.token_url)
    return ScmClient(sandbox.base_url, auth, retry=FAST_RETRY, **kw)


def mtls_client(sandbox) -> ScmClient:
    auth = ClientCertAuth(
        sandbox.login,
        sandbox.customer_uri,
        sandbox.client_cert_path.read_text(),
        SecretStr(sandbox.client_key_path.read_text()),
        sandbox.ca_bundle_path.read_text(),
    )
    return ScmClient(sandbox.private_base_url, auth, retry=FAST_RETRY)


@pytest.fixture
async def scm(sandbox):
    client = header_client(sandbox)
    yield client
    await client.aclose()
