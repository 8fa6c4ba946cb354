"""Organizations, custom fields, domains (201 + Location), DCV per method, reports, ACME."""

import asyncio
import re
import uuid

import pytest

from app.issuers.scm.dcv import DcvMethod

from .ordering import ORG_ID, enroll


async def test_organizations_and_departments(scm):
    orgs = {org.id: org for org in await scm.list_organizations()}
    assert orgs[ORG_ID].name == "Example University"
    assert {d.id for d in orgs[ORG_ID].departments} >= {4321}
    assert (await scm.get_organization(ORG_ID)).id == ORG_ID
    fields = {f.name: f for f in await scm.list_custom_fields()}
    assert fields["costCenter"].mandatory


async def test_profiles_by_org_have_terms(scm):
    profiles = await scm.list_profiles(organization_id=ORG_ID)
    instant = next(p for p in profiles if p.name == "InstantSSL")
    assert 365 in instant.terms and instant.id > 0


@pytest.fixture
def new_domain():
    return f"d{uuid.uuid4().hex[:10]}.example.net"


async def test_domain_create_get_delegate(scm, new_domain):
    domain_id = await scm.create_domain(new_domain, org_id=ORG_ID, description="test")
    domain = await scm.get_domain(domain_id)
    assert domain.name == new_domain and domain.id == domain_id
    await scm.delegate_domain(domain_id, 5678)
    delegated = {d.org_id for d in (await scm.get_domain(domain_id)).delegations}
    assert {ORG_ID, 5678} <= delegated
    names = [d.name async for d in scm.list_domains(name=new_domain)]
    assert names == [new_domain]


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_dcv_cname_to_validated(scm, new_domain, version):
    await scm.create_domain(new_domain, org_id=ORG_ID)
    start = await scm.dcv_start(new_domain, DcvMethod.CNAME, version=version)
    assert re.fullmatch(rf"_[0-9a-f]{{32}}\.{re.escape(new_domain)}\.", start.host)
    assert start.point.endswith(".sectigo.com.")
    submitted = await scm.dcv_submit(new_domain, "cname", version=version)
    assert submitted.order_status == "SUBMITTED"
    if version == "v2":
        pending = await scm.dcv_status(new_domain, version="v2")
        assert pending.validated or pending.instructions.host == start.host
    for _ in range(50):
        status = await scm.dcv_status(new_domain, version=version)
        if status.validated:
            break
        await asyncio.sleep(0.05)
    assert status.validated and status.expiration_date > status.validation_date


@pytest.mark.parametrize("method", [DcvMethod.HTTP, DcvMethod.HTTPS])
async def test_dcv_http_and_https(scm, new_domain, method):
    await scm.create_domain(new_domain, org_id=ORG_ID)
    start = await scm.dcv_start(new_domain, method)
    assert start.url.startswith(f"{method}://{new_domain}/.well-known/pki-validation/")
    assert len(start.first_line) == 64 and start.second_line == "sectigo.com"
    assert (await scm.dcv_submit(new_domain, method)).order_status == "SUBMITTED"


async def test_dcv_txt_has_no_start_and_submit_returns_record(scm, new_domain):
    await scm.create_domain(new_domain, org_id=ORG_ID)
    with pytest.raises(ValueError):
        await scm.dcv_start(new_domain, DcvMethod.TXT)
    submitted = await scm.dcv_submit(new_domain, DcvMethod.TXT, version="v2")
    assert submitted.instructions and submitted.instructions.point
    assert new_domain in submitted.instructions.host


async def test_dcv_email(scm, new_domain):
    await scm.create_domain(new_domain, org_id=ORG_ID)
    start = await scm.dcv_start(new_domain, DcvMethod.EMAIL)
    assert start.emails and all("@" in e for e in start.emails)
    submitted = await scm.dcv_submit(new_domain, DcvMethod.EMAIL, email=start.emails[0])
    assert submitted.order_status == "SUBMITTED"
    v1 = await scm.dcv_status(new_domain, version="v1")
    assert v1.status in {"NOT_VALIDATED", "VALIDATED"}


async def test_ssl_report(scm, unique_cn):
    result, _, _ = await enroll(scm, unique_cn)
    rows = await scm.ssl_certificates_report(organization_ids=[ORG_ID], common_name=unique_cn)
    assert [row.id for row in rows] == [result.ssl_id]
    assert rows[0].common_name == unique_cn
    assert unique_cn in rows[0].sans  # a "; "-joined string on the wire


async def test_acme_accounts_and_eab(scm):
    name = f"acct-{uuid.uuid4().hex[:8]}"
    server = "https://acme.sectigo.com/v2/OV"
    account_id = await scm.create_acme_account(name, server, ORG_ID)
    account = await scm.get_acme_account(account_id)
    assert account.mac_id and account.mac_key and account.organization_id == ORG_ID
    assert "macKey" not in repr(account) and account.mac_key.get_secret_value() not in repr(account)
    listed = [a.id async for a in scm.list_acme_accounts(ORG_ID)]
    assert account_id in listed
    eab = await scm.eab_credentials(ORG_ID, server, name=name)
    assert eab.kid == account.mac_id
    assert eab.hmac_key.get_secret_value() == account.mac_key.get_secret_value()
    fresh = await scm.eab_credentials(ORG_ID, server, name=f"{name}-new")
    assert fresh.kid != eab.kid
