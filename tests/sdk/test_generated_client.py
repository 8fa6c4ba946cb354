"""A Python client generated from the running service's OpenAPI document with
openapi-python-client, without warnings or configuration, in strict mode
(`raise_on_unexpected_status`): it orders, approves, follows, downloads (PEM and PKCS#12),
pages with a cursor, and parses 422s into the problem model."""

from __future__ import annotations

import asyncio
import importlib
import json
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from tests.fixtures.e2e import LiveApi, Tenant, create_org, scm_settings
from tests.fixtures.scm_sandbox import ScmSandbox

PACKAGE = "certbroker_client"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
# No content-type overrides: the document itself must be enough for the generator.
GENERATOR_CONFIG = {"post_hooks": []}  # formatting the generated code is not what is under test


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
    output = generated.stdout + generated.stderr
    assert generated.returncode == 0, output
    # Warnings mean an operation, an answer or a schema was left out of the client.
    warnings = output.count("WARNING")
    print(f"openapi-python-client: {warnings} warnings")
    assert warnings == 0, output
    assert "Error" not in output, output
    sys.path.insert(0, str(workdir))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(workdir))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def test_success_answers_are_typed(sdk: ModuleType) -> None:
    """No operation's success answer parses to `Any`, except 204s, which have no body (the
    generator types them `Any`; they parse to None)."""
    modules = sorted(Path(sdk.__file__).parent.glob("api/*/[!_]*.py"))
    assert len(modules) > 50
    untyped = []
    for module in modules:
        code = module.read_text()
        for status in re.findall(r"if response.status_code == (2\d\d):", code):
            if status != "204" and f"response_{status} = cast(Any" in code:
                untyped.append(f"{module.stem}: {status}")
        returns = re.search(r"def _parse_response\(.*?\) -> (.*?):\n", code, re.S)
        assert returns, module
        if "response.status_code == 204" not in code and "Any" in returns.group(1):
            untyped.append(f"{module.stem}: {returns.group(1)}")
    assert not untyped, untyped


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
    requester = sdk.AuthenticatedClient(
        base_url=base_url, token=tenant.tokens["requester"], raise_on_unexpected_status=True
    )
    approver = sdk.AuthenticatedClient(
        base_url=base_url, token=tenant.tokens["approver"], raise_on_unexpected_status=True
    )
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
        assert cert.status == models.CertificateStatus.PENDING_APPROVAL
        assert cert.validation_level == models.ValidationLevel.EV

        pending = await api("approvals.approvals_list").asyncio(
            client=approver, organization_id=org["id"]
        )
        (approval,) = [a for a in pending.items if a.certificate_id == cert.id]
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
        assert isinstance(fullchain.parsed, str)
        chain = x509.load_pem_x509_certificates(fullchain.parsed.encode())
        assert len(chain) >= 2
        names = chain[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert name in names.get_values_for_type(x509.DNSName)
        assert format(chain[0].serial_number, "x") == cert.serial.lower().lstrip("0")
        leaf = await api("downloads.certificates_download_certificate").asyncio(
            cert.id, client=requester
        )
        assert isinstance(leaf, str)
        assert x509.load_pem_x509_certificate(leaf.encode()) == chain[0]

        p12 = await api("downloads.certificates_download_pkcs12").asyncio(
            cert.id, client=requester, body=models.Pkcs12Request(passphrase="correct horse")
        )
        assert isinstance(p12, sdk.types.File), p12
        key, p12_leaf, extra = pkcs12.load_key_and_certificates(
            p12.payload.read(), b"correct horse"
        )
        assert key is not None and p12_leaf == chain[0] and list(extra or []) == chain[1:]

    # What the document offers for a download is what the server sends, chosen by Accept.
    base = f"/v1/certificates/{cert.id}"
    for path, accept, served in [
        ("fullchain.pem", None, "application/pem-certificate-chain"),
        ("fullchain.pem", "text/plain", "text/plain"),
        ("chain.pem", "application/octet-stream", "application/octet-stream"),
        ("private-key.pem", "text/*", "text/plain"),
        ("private-key.pem", "application/json", "application/x-pem-file"),
    ]:
        headers = tenant.as_("requester") | ({"Accept": accept} if accept else {})
        answer = await tenant.http.get(f"{base}/{path}", headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].split(";")[0] == served, (path, accept)
        assert answer.headers["vary"] == "Accept"
    for accept, served in [
        (None, "application/x-pkcs12"),
        ("*/*", "application/x-pkcs12"),
        ("application/octet-stream", "application/octet-stream"),
    ]:
        headers = tenant.as_("requester") | ({"Accept": accept} if accept else {})
        answer = await tenant.http.post(
            f"{base}/pkcs12", json={"passphrase": "correct horse"}, headers=headers
        )
        assert answer.headers["content-type"] == served, accept


async def test_generated_client_pages_with_a_cursor_and_parses_problems(
    sdk: ModuleType, tenant: Tenant, scm_sandbox: ScmSandbox
) -> None:
    models = importlib.import_module(f"{PACKAGE}.models")
    org = await create_org(
        tenant,
        allowed_domains=["example.com"],
        scm=scm_settings(scm_sandbox),
        approvers={"EV": [tenant.ids["approver"]]},
    )
    client = sdk.AuthenticatedClient(
        base_url=str(tenant.http.base_url),
        token=tenant.tokens["requester"],
        raise_on_unexpected_status=True,
    )
    async with client:
        ordered = set()
        for _ in range(3):  # EV waits for its approver: three orders that stay put
            name = f"page-{uuid.uuid4().hex[:8]}.example.com"
            created = await api("certificates.certificates_create").asyncio(
                client=client,
                body=models.CertificateCreate.from_dict(
                    {"organization_id": org["id"], "product": "ev-ssl", "common_name": name}
                ),
            )
            assert isinstance(created, models.CertificatePublic), created
            ordered.add(created.id)

        listing = api("certificates.certificates_list")
        seen: list[str] = []
        cursor = sdk.types.UNSET
        while True:
            page = await listing.asyncio(
                client=client, organization_id=org["id"], limit=2, cursor=cursor
            )
            assert isinstance(page, models.CertificatePage), page
            assert len(page.items) <= 2
            seen += [item.id for item in page.items]
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        assert sorted(seen) == sorted(ordered)  # each once, across two pages

        # A 422 from request validation and one from the ordering rules, both declared, both
        # parsed into the problem model rather than raised as unexpected.
        invalid = await listing.asyncio_detailed(client=client, limit=0)
        assert invalid.status_code == 422
        assert isinstance(invalid.parsed, models.Problem), invalid.parsed
        assert invalid.parsed.status == 422
        assert [error.field for error in invalid.parsed.errors] == ["query.limit"]
        refused = await api("certificates.certificates_create").asyncio_detailed(
            client=client,
            body=models.CertificateCreate.from_dict(
                {
                    "organization_id": org["id"],
                    "product": "ev-ssl",
                    "common_name": "www.not-allowed.test",
                }
            ),
        )
        assert refused.status_code == 422, refused.content
        assert isinstance(refused.parsed, models.Problem), refused.parsed
        assert refused.parsed.errors and refused.parsed.errors[0].field.startswith("body.")
        missing = await api("certificates.certificates_get").asyncio_detailed(
            "no-such-certificate", client=client
        )
        assert missing.status_code == 404 and isinstance(missing.parsed, models.Problem)
