"""Enrolling test orders against the simulator and waiting for them to issue."""

from __future__ import annotations

import asyncio

from cryptography import x509

from app.issuers.scm import EnrollRequest, ScmClient, ScmPendingError
from app.issuers.scm.ssl import CollectedCertificate

from .keys import make_csr

ORG_ID = 1234  # "Example University" in the simulator's seeded tenant
COST_CENTER = {"costCenter": "42"}  # the tenant's mandatory custom field


async def profile_id(client: ScmClient, name: str, org_id: int = ORG_ID) -> int:
    profiles = await client.list_profiles(organization_id=org_id)
    return next(p.id for p in profiles if p.name == name)


async def enroll(
    client: ScmClient,
    cn: str,
    *,
    profile: str = "InstantSSL",
    sans: list[str] | None = None,
    kind: str = "ec",
    marker: str | None = None,
    term: int = 365,
):
    csr, key = make_csr(cn, sans, kind)
    request = EnrollRequest(
        org_id=ORG_ID,
        csr=csr,
        cert_type=await profile_id(client, profile),
        term=term,
        sans=[n for n in sans or [] if n != cn],
        custom_fields=COST_CENTER,
        external_requester="ops@example.com",
    )
    result = await client.enroll_once(request, marker or f"certbroker:test-{cn}")
    return result, csr, key


async def wait_collect(client: ScmClient, ssl_id: int, within: float = 10.0) -> list[int]:
    """Poll collect until it succeeds; returns the "not yet" codes seen on the way."""
    codes: list[int] = []
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            await client.collect(ssl_id, "x509CO")
            return codes
        except ScmPendingError as error:
            codes.append(error.code)
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.05)


async def issued(client: ScmClient, ssl_id: int) -> CollectedCertificate:
    await wait_collect(client, ssl_id)
    return await client.collect_certificate(ssl_id)


def root_of(sandbox) -> x509.Certificate:
    return x509.load_pem_x509_certificate(sandbox.root_pem.encode())
