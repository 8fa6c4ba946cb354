"""A Python client generated from the running service's OpenAPI document with
openapi-python-client orders, approves, follows and downloads a certificate."""

from __future__ import annotations

import asyncio
import importlib
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from cryptography import x509

from tests.fixtures.e2e import LiveApi, Tenant, create_org, scm_settings
from tests.fixtures.scm_sandbox import ScmSandbox

PACKAGE = "certbroker_client"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
GENERATOR_CONFIG = {
    # The generator knows JSON, text/* and octet-stream; the downloads' registered media types
    # are told apart for it here, as a client project would in its own config.
    "content_type_overrides": {
        "application/pem-certificate-chain": "text/plain",
        "application/x-pem-file": "text/plain",
        "application/x-pkcs12": "application/octet-stream",
    },
    "post_hooks": [],  # formatting the generated code is not what is under test
}


@pytest.fixture(scope="module")
async def sdk(
    live_api: LiveApi, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ModuleType]:
    """The generated package, importable as `certbroker_client` for this module's tests."""
    workdir = tmp_path_factory.mktemp("sdk")
    async with httpx.AsyncClient(base_url=live_api.url, timeout=30) as http:
        spec = await http.get("/openapi.json")
    spec.raise_for_status()
    (workdir / "openapi.json").write_text(spec.text)
    (workdir / "config.json").write_text(json.dumps(GENERATOR_CONFIG))
    generated = await asyncio.to_thread(
        subprocess.run,
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(workdir / "openapi.json"),
            "--output-path",
            str(workdir / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(workdir / "config.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    # Warnings mean an operation or a schema was left out of the client.
    assert "WARNING" not in generated.stdout + generated.stderr, generated.stdout
    sys.path.insert(0, str(workdir))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(workdir))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def api(operation: str) -> ModuleType:
    """An operation module of the generated client, e.g. api("certificates.certificates_get")."""
    return importlib.import_module(f"{PACKAGE}.api.{operation}")


async def test_generated_client_orders_approves_and_downloads(
    sdk: ModuleType, tenant: Tenant, scm_sandbox: ScmSandbox
) -> None:
    models = importlib.import_module(f"{PACKAGE}.models")
    org = await create_org(
        tenant,
        allowed_domains=["example.com"],
        scm=scm_settings(scm_sandbox),
        approvers={"EV": [tenant.ids["approver"]]},
    )
    name = f"sdk-{uuid.uuid4().hex[:8]}.example.com"
    base_url = str(tenant.http.base_url)
    requester = sdk.AuthenticatedClient(base_url=base_url, token=tenant.tokens["requester"])
    approver = sdk.AuthenticatedClient(base_url=base_url, token=tenant.tokens["approver"])
    async with requester, approver:
        order = models.CertificateCreate.from_dict(
            {"organization_id": org["id"], "product": "ev-ssl", "common_name": name}
        )
        created = await api("certificates.certificates_create").asyncio_detailed(
            client=requester, body=order, idempotency_key=f"sdk-{name}"
        )
        assert created.status_code == 202, created.content
        cert = created.parsed
        assert isinstance(cert, models.CertificatePublic)
        assert cert.status == "pending_approval"

        pending = await api("approvals.approvals_list").asyncio(
            client=approver, organization_id=org["id"]
        )
        (approval,) = [a for a in pending if a.certificate_id == cert.id]
        decided = await api("approvals.approvals_approve").asyncio(
            approval.id, client=approver, body=models.Decision(comment="approved via the SDK")
        )
        assert isinstance(decided, models.DecisionResult), decided
        assert decided.approval.status == "approved"

        get = api("certificates.certificates_get")
        deadline = asyncio.get_running_loop().time() + 45
        while cert.status not in ("issued", "failed"):
            assert asyncio.get_running_loop().time() < deadline, cert.status
            await asyncio.sleep(0.1)
            cert = await get.asyncio(cert.id, client=requester)
            assert isinstance(cert, models.CertificatePublic)
        assert cert.status == "issued", cert.to_dict()

        fullchain = await api("downloads.certificates_download_fullchain").asyncio_detailed(
            cert.id, client=requester
        )
        assert fullchain.status_code == 200
        chain = x509.load_pem_x509_certificates(fullchain.content)
        assert len(chain) >= 2
        names = chain[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert name in names.get_values_for_type(x509.DNSName)
        assert format(chain[0].serial_number, "x") == cert.serial.lower().lstrip("0")
