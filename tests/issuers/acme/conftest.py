"""Shared pieces of the ACME tests: an issuer wired to the session's pebble, CSRs, a job loop."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.dns.challtestsrv import ChallTestSrvDnsProvider
from app.dns.registry import default_dns_registry
from app.issuers.acme import AcmeIssuer, InMemoryAccountStore
from app.issuers.base import IssueRequest, StepOutcome, StepResult
from tests.fixtures.acme_servers import Http01Server


def unique_name(zone: str = "certbroker.test") -> str:
    return f"h{uuid.uuid4().hex[:12]}.{zone}"


def make_csr(names: list[str]) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def make_request(names: list[str], config: dict[str, Any], **state: Any) -> IssueRequest:
    return IssueRequest(
        request_id=str(uuid.uuid4()),
        csr_pem=make_csr(names),
        common_name=names[0],
        sans=names,
        product="dv",
        term_days=90,
        backend_config=config,
        state=dict(state),
    )


async def drive(issuer: AcmeIssuer, request: IssueRequest, max_steps: int = 200) -> StepResult:
    """What the broker's job does: advance, persist the state, wait, repeat."""
    for _ in range(max_steps):
        result = await issuer.advance(request)
        request.state = result.state
        if result.outcome is not StepOutcome.PENDING:
            return result
        await asyncio.sleep(result.retry_after or 0)
    raise AssertionError(f"still pending after {max_steps} steps: {request.state}")


@pytest.fixture(scope="session")
def dns_registry():
    registry = default_dns_registry()
    registry.register("challtestsrv", ChallTestSrvDnsProvider.from_config)
    return registry


@pytest.fixture
def account_store() -> InMemoryAccountStore:
    return InMemoryAccountStore()


@pytest.fixture
async def issuer(
    account_store: InMemoryAccountStore, http01_server: Http01Server, dns_registry
) -> AsyncIterator[AcmeIssuer]:
    issuer = AcmeIssuer(account_store, http01=http01_server.responder, dns_providers=dns_registry)
    yield issuer
    await issuer.aclose()
