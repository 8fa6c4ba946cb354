"""Organizations' CA settings under the egress policy and as typed data: CA URLs refused at
POST/PATCH (every refused address class, as a literal) and again at connect (through a BIND
name, in the real issuers), PEM content accepted or refused by field, the client key sealed
and never returned, server paths gone."""

from __future__ import annotations

import datetime as dt
import ipaddress
import uuid
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.audit.redaction import REDACTED, redact
from app.issuers.base import IssueRequest, StepOutcome
from app.organizations.models import Organization
from app.runtime import Runtime
from app.settings import EgressSettings
from tests.egress.addresses import ALL_REFUSED, REFUSED
from tests.fixtures.e2e import Tenant
from tests.fixtures.egress import EgressNames

SCM = {
    "base_url": "https://cert-manager.com/api",
    "login": "l",
    "password": "p",
    "customer_uri": "c",
    "org_id": 1,
}
ACME = {"directory_url": "https://acme.sectigo.com/v2/DV"}


def key_and_certificate(name: str = "client") -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


def url_for(address: str, path: str = "/api") -> str:
    host = address if ipaddress.ip_address(address.split("%")[0]).version == 4 else f"[{address}]"
    return f"https://{host}{path}"


async def create(tenant: Tenant, **body: Any) -> Any:
    body = {"name": f"org-{uuid.uuid4().hex[:8]}", **body}
    return await tenant.http.post("/v1/organizations", json=body, headers=tenant.as_("admin"))


def refused_field(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    (error,) = answer.json()["errors"]
    return error


@pytest.fixture
def any_ca_host(egress_settings: EgressSettings) -> EgressSettings:
    """Production's policy with every host name allowed: only the address classes refuse."""
    egress_settings.ca_host_allowlist = ["*"]
    egress_settings.allowed_networks = []
    return egress_settings


@pytest.mark.usefixtures("any_ca_host")
async def test_every_refused_address_is_refused_as_a_ca_url(tenant: Tenant) -> None:
    created = await create(tenant, scm=SCM, acme=ACME)
    assert created.status_code == 201, created.text
    org_url = f"/v1/organizations/{created.json()['id']}"
    for _kind, address in ALL_REFUSED:
        error = refused_field(await create(tenant, acme={"directory_url": url_for(address, "/d")}))
        assert error["field"] == "body.acme.directory_url" and error["type"] == "egress_refused"
        patched = await tenant.http.patch(
            org_url,
            json={"scm": {**SCM, "base_url": url_for(address)}},
            headers=tenant.as_("admin"),
        )
        error = refused_field(patched)
        assert error["field"] == "body.scm.base_url" and error["type"] == "egress_refused", error
    token = {**SCM, "auth_style": "oauth", "client_id": "i", "client_secret": "s",
             "token_url": "https://169.254.169.254/token"}  # fmt: skip
    error = refused_field(await create(tenant, scm=token))
    assert error["field"] == "body.scm.token_url" and "metadata" in error["msg"]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://evil.example.com/api", "not an allowed CA endpoint"),
        ("https://cert-manager.com:8443/api", "port 8443"),
        ("http://cert-manager.com/api", "must use https"),
        ("https://u:p@cert-manager.com/api", "credentials"),
    ],
)
async def test_production_ca_url_rules(
    tenant: Tenant, egress_settings: EgressSettings, url: str, reason: str
) -> None:
    egress_settings.ca_allow_http = egress_settings.ca_any_port = False
    error = refused_field(await create(tenant, scm={**SCM, "base_url": url}))
    assert error["field"] == "body.scm.base_url" and reason in error["msg"], error


async def test_the_client_certificate_and_key_are_pem_the_key_sealed_and_never_returned(
    tenant: Tenant, runtime: Runtime
) -> None:
    key_pem, cert_pem = key_and_certificate()
    pems = {"client_cert_pem": cert_pem, "client_key_pem": key_pem, "ca_bundle_pem": cert_pem}
    scm = {**SCM, "base_url": "https://cert-manager.com/private/api", "auth_style": "client_cert"}
    scm.update(pems)
    created = await create(tenant, scm=scm, acme={**ACME, "ca_bundle_pem": cert_pem})
    assert created.status_code == 201, created.text
    public = created.json()
    assert public["scm"]["client_cert_pem"] == cert_pem
    assert public["scm"]["client_key_set"] is True and "client_key_pem" not in public["scm"]
    assert public["acme"]["ca_bundle_pem"] == cert_pem
    key_body = key_pem.splitlines()[1]
    fetched = await tenant.http.get(
        f"/v1/organizations/{public['id']}", headers=tenant.as_("admin")
    )
    listed = await tenant.http.get("/v1/organizations", headers=tenant.as_("admin"))
    for answer in (created, fetched, listed):
        assert key_body not in answer.text and "PRIVATE KEY" not in answer.text
    async with runtime.sessions() as session:
        org = await session.get(Organization, public["id"])
        assert org is not None and org.scm_client_key_secret is not None
        assert key_body not in org.scm_client_key_secret and key_body not in str(org.scm)
        config = runtime.secretbox.decrypt_str(
            org.scm_client_key_secret, context=f"org:{org.id}:scm-client-key"
        )
        assert "PRIVATE KEY" in config
    # A new certificate needs its own key; the kept one must fit it.
    _, other_cert = key_and_certificate("other")
    patched = await tenant.http.patch(
        f"/v1/organizations/{public['id']}",
        json={"scm": {**scm, "client_cert_pem": other_cert, "client_key_pem": None}},
        headers=tenant.as_("admin"),
    )
    # (`client_key_pem: null` means "keep the stored key", which does not fit.)
    error = refused_field(patched)
    assert error["field"] == "body.scm.client_key_pem" and "does not fit" in error["msg"]


def test_the_audit_log_keeps_no_client_key() -> None:
    key_pem, cert_pem = key_and_certificate()
    body = {"scm": {"client_key_pem": "not even a key", "client_cert_pem": cert_pem}}
    assert redact(body)["scm"] == {"client_key_pem": REDACTED, "client_cert_pem": cert_pem}
    assert redact({"anything": key_pem}) == {"anything": REDACTED}


@pytest.mark.parametrize(
    ("given", "field", "message"),
    [
        ({"scm": {"client_cert_pem": "/etc/ssl/certs/ca-certificates.crt"}},
         "body.scm.client_cert_pem", "not PEM certificates"),
        ({"scm": {"ca_bundle_pem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"}},
         "body.scm.ca_bundle_pem", "not valid PEM"),
        ({"acme": {"ca_bundle_pem": "../../etc/passwd"}}, "body.acme.ca_bundle_pem", "not PEM"),
        ({"scm": {"client_cert_pem": "CERT", "client_key_pem": "/etc/shadow"}},
         "body.scm.client_key_pem", "not a PEM private key"),
        ({"scm": {"client_cert_file": "/etc/shadow"}}, "body.scm.client_cert_file", ""),
        ({"scm": {"client_key_file": "/etc/shadow"}}, "body.scm.client_key_file", ""),
        ({"acme": {"ca_bundle": "/etc/shadow"}}, "body.acme.ca_bundle", ""),
        ({"scm": {"login": "x" * 257}}, "body.scm.login", ""),
        ({"scm": {"custom_fields": {f"f{i}": "v" for i in range(51)}}},
         "body.scm.custom_fields", ""),
        ({"scm": {"custom_fields": {"f": "v" * 1025}}}, "body.scm.custom_fields.f", ""),
        ({"scm": {"profile_overrides": {"instantssl": 0}}},
         "body.scm.profile_overrides.instantssl", ""),
        ({"scm": {"base_url": "https://cert-manager.com/" + "a" * 2048}}, "body.scm.base_url", ""),
        ({"acme": {"challenge_types": []}}, "body.acme.challenge_types", ""),
        ({"acme": {"preferred_chain": "x" * 257}}, "body.acme.preferred_chain", ""),
    ],
)  # fmt: skip
async def test_settings_are_closed_typed_and_bounded(
    tenant: Tenant, given: dict[str, Any], field: str, message: str
) -> None:
    body: dict[str, Any] = {}
    for section, values in given.items():
        base = SCM if section == "scm" else ACME
        body[section] = {**base, **values}
        if values.get("client_cert_pem") == "CERT":
            body[section]["client_cert_pem"] = key_and_certificate()[1]
    answer = await create(tenant, **body)
    assert answer.status_code == 422, answer.text
    errors = {e["field"]: e["msg"] for e in answer.json()["errors"]}
    assert field in errors and message in errors[field], errors


async def test_a_key_that_is_not_the_certificates_is_refused(tenant: Tenant) -> None:
    key_pem, _ = key_and_certificate()
    _, cert_pem = key_and_certificate()
    encrypted = (
        serialization.load_pem_private_key(key_pem.encode(), None)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pw"),
        )
        .decode()
    )
    base = {**SCM, "base_url": "https://cert-manager.com/private/api", "auth_style": "client_cert",
            "client_cert_pem": cert_pem}  # fmt: skip
    answer = await create(tenant, scm={**base, "client_key_pem": key_pem})
    assert answer.status_code == 422 and "not the key of" in answer.text, answer.text
    answer = await create(tenant, scm={**base, "client_key_pem": encrypted})
    assert refused_field(answer)["field"] == "body.scm.client_key_pem"
    answer = await create(tenant, scm=base)
    assert refused_field(answer)["field"] == "body.scm.client_key_pem"


@pytest.mark.usefixtures("app_resolves_bind_names")
async def test_a_ca_name_resolving_to_a_refused_address_is_refused_at_connect(
    runtime: Runtime, egress_names: EgressNames, egress_settings: EgressSettings
) -> None:
    """The name passes at PATCH (allowed host, no lookup in the request); the issuers' pinned
    connections refuse it, and the order fails saying why."""
    zone = egress_names.bind.tenant_zone.rstrip(".")
    egress_settings.ca_host_allowlist = [f"*.{zone}"]
    egress_settings.allowed_networks = []
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "a.example.com")]))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
        .decode()
    )
    for kind, addresses in REFUSED.items():
        address = addresses[0]
        name = await egress_names.name_for([address], "ca")
        configs = {
            "acme": {"directory_url": f"https://{name}/dir", "account_scope": uuid.uuid4().hex},
            "scm": {**SCM, "base_url": f"https://{name}/api"},
        }
        for backend, config in configs.items():
            request = IssueRequest(
                request_id=uuid.uuid4().hex,
                csr_pem=csr,
                common_name="a.example.com",
                sans=["a.example.com"],
                product="positivessl" if backend == "acme" else "instantssl",
                term_days=90,
                backend_config=config,
            )
            result = await runtime.issuers.get(backend).advance(request)
            assert result.outcome is StepOutcome.FAILED, (kind, backend, result)
            assert result.reason is not None
            assert result.reason.startswith(f"refused by the egress policy: {name} resolves to")
