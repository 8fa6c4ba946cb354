"""ScmIssuer.advance driven against the simulator: OV and EV to ISSUED, failures, revoke, cancel."""

import asyncio
import uuid

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from app.issuers.base import Issuer, IssueRequest, StepOutcome
from app.issuers.scm.issuer import ScmIssuer
from app.issuers.scm.pool import ScmClientPool

from .conftest import FAST_RETRY
from .keys import make_csr, verify_chain
from .ordering import root_of


@pytest.fixture
async def issuer():
    scm_issuer = ScmIssuer(ScmClientPool(retry=FAST_RETRY))
    yield scm_issuer
    await scm_issuer.aclose()


def backend_config(sandbox, **extra):
    return {
        "base_url": sandbox.base_url,
        "auth_style": "header",
        "login": sandbox.login,
        "password": sandbox.password,
        "customer_uri": sandbox.customer_uri,
        "org_id": 1234,
        "custom_fields": {"costCenter": "42"},
        **extra,
    }


def issue_request(sandbox, cn, product="instantssl", term=365, kind="ec", **config):
    sans = [cn] if cn.startswith("*.") else [cn, f"www.{cn}"]
    csr, _ = make_csr(cn, sans, kind)
    return IssueRequest(
        request_id=uuid.uuid4().hex,
        csr_pem=csr,
        common_name=cn,
        sans=sans,
        product=product,
        term_days=term,
        backend_config=backend_config(sandbox, **config),
        requester_email="ops@example.com",
    )


async def drive(issuer, request, steps=200):
    """Call advance like the job does (persisting state) until ISSUED or FAILED."""
    for _ in range(steps):
        result = await issuer.advance(request)
        request.state = result.state
        if result.outcome is not StepOutcome.PENDING:
            return result
        assert result.retry_after is not None and result.retry_after > 0
        await asyncio.sleep(min(result.retry_after, 0.05))
    raise AssertionError(f"still pending: {request.state}")


async def test_implements_protocol(issuer):
    assert isinstance(issuer, Issuer) and issuer.name == "scm"


@pytest.mark.parametrize("kind", ["ec", "rsa"])
async def test_ov_product_to_issued(issuer, sandbox, unique_cn, kind):
    request = issue_request(sandbox, unique_cn, "instantssl", kind=kind)
    result = await drive(issuer, request)
    assert result.outcome is StepOutcome.ISSUED, result.reason
    cert = result.certificate
    leaf = x509.load_pem_x509_certificate(cert.leaf_pem.encode())
    chain = [x509.load_pem_x509_certificate(p.encode()) for p in cert.chain_pems]
    verify_chain(leaf, chain, root_of(sandbox))
    assert cert.serial_hex == format(leaf.serial_number, "x") == cert.serial_hex.lower()
    assert cert.backend_ref == str(request.state["ssl_id"])
    assert cert.not_before < cert.not_after
    org = leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    assert org[0].value == "Example University"
    assert request.state["profile_name"] == "InstantSSL"


async def test_ev_waits_for_approval_then_issues_when_approved_at_ca(issuer, sandbox, unique_cn):
    request = issue_request(sandbox, unique_cn, "ev-ssl")
    for _ in range(4):
        result = await issuer.advance(request)
        request.state = result.state
        assert result.outcome is StepOutcome.PENDING
    assert request.state["scm_status"] == "Requested"
    request.state["approve_at_ca"] = True  # the broker's approval workflow finished
    result = await drive(issuer, request)
    assert result.outcome is StepOutcome.ISSUED, result.reason
    assert result.state["approved"] is True
    leaf = x509.load_pem_x509_certificate(result.certificate.leaf_pem.encode())
    assert leaf.subject.get_attributes_for_oid(NameOID.JURISDICTION_COUNTRY_NAME)


async def test_ev_multi_domain_with_approve_in_config(issuer, sandbox, unique_cn):
    request = issue_request(sandbox, unique_cn, "ev-multi-domain", approve_at_ca=True)
    result = await drive(issuer, request)
    assert result.outcome is StepOutcome.ISSUED, result.reason


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"term": 999}, "term 999 not allowed for profile InstantSSL (SCM -36)"),
        ({"custom_fields": {}}, "mandatory custom field is missing: Custom field 'costCenter'"),
        ({"product": "no-such-product"}, "product 'no-such-product' is not sold through SCM"),
        (
            {"cn": "x.example.io"},
            "domain control validation is missing: Domain(s) not DCV-validated: x.example.io",
        ),
        ({"cn": "*.wild.example.com"}, "does not allow wildcard names"),
        ({"org_id": 9100}, "has no profile named 'InstantSSL'"),
        ({"password": "wrong"}, "SCM refused the configured credentials"),
        ({"auth_style": "oauth"}, "SCM configuration is invalid"),
    ],
)
async def test_failure_reasons(issuer, sandbox, unique_cn, change, reason):
    change = dict(change)
    cn = change.pop("cn", unique_cn)
    product = change.pop("product", "instantssl")
    term = change.pop("term", 365)
    request = issue_request(sandbox, cn, product, term, **change)
    result = await drive(issuer, request)
    assert result.outcome is StepOutcome.FAILED
    assert reason in result.reason
    assert "wrong" not in result.reason  # no secrets in reasons


async def test_declined_order_fails_with_reason(issuer, sandbox, unique_cn):
    request = issue_request(sandbox, unique_cn, "ev-ssl")
    result = await issuer.advance(request)
    request.state = result.state
    await issuer.cancel(request)  # still Requested: declined at SCM
    result = await drive(issuer, request)
    assert result.outcome is StepOutcome.FAILED
    assert result.reason == f"SCM order {request.state['ssl_id']} is declined"


async def test_transient_errors_are_pending_and_never_duplicate(
    issuer, sandbox, control, unique_cn
):
    request = issue_request(sandbox, unique_cn)
    await control.faults(rules=[{"path": "/ssl/v1/enroll", "count": 3, "status": 503}])
    result = await issuer.advance(request)
    assert result.outcome is StepOutcome.PENDING and result.retry_after >= 1
    assert "temporarily unavailable" in result.reason
    await control.clear_faults()
    await control.faults(drop_after_enroll_count=1)
    request.state = result.state
    result = await drive(issuer, request)
    assert result.outcome is StepOutcome.ISSUED
    assert await control.enrollments_for(request.csr_pem) == 1


async def test_ca_unavailable_is_pending_and_then_issues_once(issuer, sandbox, control, unique_cn):
    """SCM answers 400 with -195 when the CA behind it is down: wait and try again."""
    request = issue_request(sandbox, unique_cn)
    await control.faults(
        rules=[
            {
                "path": "/ssl/v1/enroll",
                "count": 2,
                "status": 400,
                "code": -195,
                "description": "CA is not available now, please try again later.",
            }
        ]
    )
    result = await issuer.advance(request)
    assert result.outcome is StepOutcome.PENDING and result.retry_after >= 1
    assert await control.enrollments_for(request.csr_pem) == 0
    await control.clear_faults()
    request.state = result.state
    result = await drive(issuer, request)
    assert result.outcome is StepOutcome.ISSUED
    assert await control.enrollments_for(request.csr_pem) == 1


async def test_crash_after_enroll_resumes_without_second_order(issuer, sandbox, control, unique_cn):
    request = issue_request(sandbox, unique_cn)
    first = await issuer.advance(request)  # its state is "lost": the job crashed before commit
    assert first.state["ssl_id"]
    again = await issuer.advance(request)
    assert again.state["ssl_id"] == first.state["ssl_id"]
    assert await control.enrollments_for(request.csr_pem) == 1


async def test_stuck_in_applied_stays_pending_with_growing_delay(
    issuer, sandbox, control, unique_cn
):
    await control.faults(stuck_in_applied=True)
    request = issue_request(sandbox, unique_cn)
    delays = []
    for _ in range(8):
        result = await issuer.advance(request)
        request.state = result.state
        assert result.outcome is StepOutcome.PENDING
        delays.append(result.retry_after)
        await asyncio.sleep(0.03)
    assert delays[-1] > delays[1] and max(delays) <= 2.0


async def test_profiles_cached_per_org(issuer, sandbox, control, unique_cn):
    await drive(issuer, issue_request(sandbox, unique_cn))
    before = await control.calls("GET /api/ssl/v1/types")
    await drive(issuer, issue_request(sandbox, f"second.{unique_cn}"))
    assert await control.calls("GET /api/ssl/v1/types") == before


async def test_profile_override_and_shared_clients(issuer, sandbox, unique_cn):
    _, client = issuer.client_for(backend_config(sandbox))
    pro = next(p for p in await client.list_profiles(1234) if p.name == "InstantSSL Pro")
    request = issue_request(sandbox, unique_cn, profile_overrides={"instantssl": pro.id})
    result = await drive(issuer, request)
    assert result.outcome is StepOutcome.ISSUED
    assert request.state["profile_name"] == "InstantSSL Pro"
    issuer.client_for(backend_config(sandbox, org_id=4321))
    assert len(issuer.pool) == 1  # same endpoint and credentials: one client


async def test_revoke_maps_reasons_and_is_repeatable(issuer, sandbox, unique_cn):
    request = issue_request(sandbox, unique_cn)
    result = await drive(issuer, request)
    config = request.backend_config
    cert = result.certificate
    await issuer.revoke(config, cert.leaf_pem, cert.backend_ref, 2)  # cACompromise -> 1
    _, client = issuer.client_for(config)
    details = await client.details(int(cert.backend_ref))
    assert details.status == "Revoked"
    await issuer.revoke(config, cert.leaf_pem, cert.backend_ref, 1)  # already revoked: fine
    with pytest.raises(ValueError):
        await issuer.revoke(config, cert.leaf_pem, cert.backend_ref, 8)


async def test_revoke_by_serial_when_ref_is_not_an_id(issuer, sandbox, unique_cn):
    request = issue_request(sandbox, unique_cn)
    cert = (await drive(issuer, request)).certificate
    await issuer.revoke(request.backend_config, cert.leaf_pem, "imported", 4)
    _, client = issuer.client_for(request.backend_config)
    assert (await client.details(int(cert.backend_ref))).status == "Revoked"


@pytest.mark.parametrize("style", ["oauth", "client_cert"])
async def test_other_auth_styles_issue(issuer, sandbox, unique_cn, style):
    if style == "oauth":
        config = {
            "auth_style": "oauth",
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
            "token_url": sandbox.token_url,
        }
    else:
        config = {
            "auth_style": "client_cert",
            "base_url": sandbox.private_base_url,
            "client_cert_pem": sandbox.client_cert_path.read_text(),
            "client_key_pem": sandbox.client_key_path.read_text(),
            "ca_bundle_pem": sandbox.ca_bundle_path.read_text(),
        }
    request = issue_request(sandbox, unique_cn, "positivessl", **config)
    result = await drive(issuer, request)
    assert result.outcome is StepOutcome.ISSUED, result.reason


async def test_refused_approval_is_left_to_a_human(issuer, sandbox, control, unique_cn):
    await control.settings(approver_may_be_requester=False)
    request = issue_request(sandbox, unique_cn, "ev-ssl", approve_at_ca=True)
    outcomes = []
    for _ in range(3):
        result = await issuer.advance(request)
        request.state = result.state
        outcomes.append(result)
    assert all(r.outcome is StepOutcome.PENDING for r in outcomes)
    assert "-1140" in outcomes[1].reason and outcomes[1].retry_after == 30.0
    assert request.state["approved"] is True  # tried once, not again
    assert await control.calls(f"POST /api/ssl/v1/approve/{request.state['ssl_id']}") == 1


async def test_cancel_finds_the_order_by_marker_when_state_was_lost(issuer, sandbox, unique_cn):
    request = issue_request(sandbox, unique_cn, "ev-ssl")
    placed = await issuer.advance(request)  # state not persisted: the job crashed
    await issuer.cancel(request)
    _, client = issuer.client_for(request.backend_config)
    assert (await client.details(placed.state["ssl_id"])).status == "Declined"
    await issuer.cancel(request)  # nothing left to do: no error
