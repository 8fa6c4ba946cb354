"""Every collect format parses, holds the right certificates in order, and the chain verifies."""

from __future__ import annotations

import asyncio

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

from tests.sandbox.orders import enroll_body

LEAF, INTERMEDIATE, ROOT = "leaf", "intermediate", "root"
EXPECTED = {
    "x509": [ROOT, INTERMEDIATE, LEAF],
    "pem": [ROOT, INTERMEDIATE, LEAF],
    "x509R": [LEAF, INTERMEDIATE, ROOT],
    "pemia": [LEAF, INTERMEDIATE, ROOT],
    "x509CO": [LEAF],
    "pemco": [LEAF],
    "x509IO": [ROOT, INTERMEDIATE],
    "x509IOR": [INTERMEDIATE, ROOT],
}


@pytest.fixture(scope="module")
async def issued(scm_sandbox):
    body = enroll_body()
    async with scm_sandbox.client() as scm:
        ssl_id = (await scm.post("/ssl/v1/enroll", json=body)).json()["sslId"]
    await scm_sandbox.force_state(ssl_id, "Issued")
    return ssl_id, body


def role(cert: x509.Certificate, root: x509.Certificate) -> str:
    if cert == root:
        return ROOT
    return (
        LEAF
        if not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        else INTERMEDIATE
    )


@pytest.mark.parametrize("fmt", list(EXPECTED))
async def test_pem_formats_and_order(scm_sandbox, issued, fmt):
    ssl_id, _ = issued
    root = x509.load_pem_x509_certificate(scm_sandbox.root_pem.encode())
    async with scm_sandbox.client() as scm:
        query = await scm.get(f"/ssl/v1/collect/{ssl_id}", params={"format": fmt})
        path = await scm.get(f"/ssl/v1/collect/{ssl_id}/{fmt}")
    assert query.status_code == path.status_code == 200
    assert query.headers["content-type"] == "application/octet-stream;charset=UTF-8"
    assert query.headers["content-disposition"].startswith("attachment; filename=")
    certs = x509.load_pem_x509_certificates(query.content)
    assert [role(cert, root) for cert in certs] == EXPECTED[fmt]
    assert x509.load_pem_x509_certificates(path.content) == certs


@pytest.mark.parametrize("fmt", [None, "base64", "bin"])
async def test_pkcs7_formats(scm_sandbox, issued, fmt):
    ssl_id, _ = issued
    async with scm_sandbox.client() as scm:
        params = {"format": fmt} if fmt else {}
        response = await scm.get(f"/ssl/v1/collect/{ssl_id}", params=params)
    assert response.status_code == 200
    if fmt == "bin":
        certs = pkcs7.load_der_pkcs7_certificates(response.content)
    else:
        assert response.content.startswith(b"-----BEGIN PKCS7-----")
        certs = pkcs7.load_pem_pkcs7_certificates(response.content)
    assert len(certs) == 3


async def test_chain_signatures_and_openssl_verify(scm_sandbox, issued, tmp_path):
    ssl_id, body = issued
    async with scm_sandbox.client() as scm:
        chain = (await scm.get(f"/ssl/v1/collect/{ssl_id}/x509R")).content
    leaf, intermediate, root = x509.load_pem_x509_certificates(chain)
    assert root.public_bytes(Encoding.PEM).decode() == scm_sandbox.root_pem
    leaf.verify_directly_issued_by(intermediate)
    intermediate.verify_directly_issued_by(root)
    root.verify_directly_issued_by(root)
    assert leaf.issuer == intermediate.subject and intermediate.issuer == root.subject
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [body["subjAltNames"]]
    assert (leaf.not_valid_after_utc - leaf.not_valid_before_utc).days in (365, 366)
    pem = Encoding.PEM
    for name, cert in {"leaf": leaf, "intermediate": intermediate, "root": root}.items():
        (tmp_path / f"{name}.pem").write_bytes(cert.public_bytes(pem))
    process = await asyncio.create_subprocess_exec(
        "openssl",
        "verify",
        "-CAfile",
        "root.pem",
        "-untrusted",
        "intermediate.pem",
        "leaf.pem",
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    assert "leaf.pem: OK" in stdout.decode()


async def test_bad_format_and_revoked(scm_sandbox):
    body = enroll_body()
    async with scm_sandbox.client() as scm:
        ssl_id = (await scm.post("/ssl/v1/enroll", json=body)).json()["sslId"]
        await scm_sandbox.force_state(ssl_id, "Issued")
        bad = await scm.get(f"/ssl/v1/collect/{ssl_id}", params={"format": "zip"})
        await scm.post(f"/ssl/v1/revoke/{ssl_id}", json={"reasonCode": 4, "reason": "superseded"})
        revoked = await scm.get(f"/ssl/v1/collect/{ssl_id}/x509")
        unknown = await scm.get("/ssl/v1/collect/1")
    assert bad.status_code == 400 and bad.json()["code"] == -126
    assert revoked.status_code == 400 and revoked.json()["code"] == -110
    assert unknown.status_code == 404


async def test_leaf_first_x509_when_configured(scm_sandbox, issued):
    ssl_id, _ = issued
    async with scm_sandbox.client() as scm, scm_sandbox.settings(x509_root_first=False):
        chain = (await scm.get(f"/ssl/v1/collect/{ssl_id}/x509")).content
    first = x509.load_pem_x509_certificates(chain)[0]
    assert not first.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


async def test_crlf_line_ends_when_configured(scm_sandbox, issued):
    ssl_id, _ = issued
    async with scm_sandbox.client() as scm, scm_sandbox.settings(collect_crlf=True):
        body = (await scm.get(f"/ssl/v1/collect/{ssl_id}/pemco")).content
    assert b"\r\n" in body and b"\n" not in body.replace(b"\r\n", b"")
    assert len(x509.load_pem_x509_certificates(body)) == 1


async def test_ev_chains_to_an_ev_issuing_ca(scm_sandbox):
    """As at Sectigo: EV leaves come from an EV intermediate, OV and DV from the OV one."""
    async with scm_sandbox.client() as scm:
        ssl_id = (await scm.post("/ssl/v1/enroll", json=enroll_body(certType=283))).json()["sslId"]
        await scm_sandbox.force_state(ssl_id, "Issued")
        chain = (await scm.get(f"/ssl/v1/collect/{ssl_id}/x509R")).content
        cas = (await scm_sandbox._admin("GET", "/ca")).json()
    leaf, intermediate, root = x509.load_pem_x509_certificates(chain)
    leaf.verify_directly_issued_by(intermediate)
    intermediate.verify_directly_issued_by(root)
    assert "Extended Validation" in intermediate.subject.rfc4514_string()
    assert intermediate.public_bytes(Encoding.PEM).decode() == cas["evIntermediate"]
    assert cas["evIntermediate"] != cas["intermediate"]
