"""The dashboard in a real headless Chromium against the real API, worker, pebble and simulator:
sign-in, overview and timeline, filters, detail and download, approving an EV order, tenant
walls, and problems shown for refused actions. Screenshots land in var/dashboard-screenshots/."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from app.auth.external import ExternalIdps
from app.auth.state import auth_state
from app.runtime import Runtime
from app.settings import ExternalIdp
from tests.auth.factories import TENANT_SCOPES, fetch_token, new_client, new_tenant
from tests.dashboard.conftest import Browser
from tests.dashboard.idp import PkceIdp
from tests.fixtures.e2e import (
    LiveApi,
    Tenant,
    acme_settings,
    create_org,
    scm_settings,
    wait_for_status,
)
from tests.fixtures.pebble import PebbleServer
from tests.fixtures.scm_sandbox import ScmSandbox
from tests.inventory.conftest import TinyCa

# One backend is enough for the browser: the API's SQL is covered on both elsewhere.
pytestmark = pytest.mark.parametrize("db_backend", ["postgres"], indirect=True)


@dataclass
class Login:
    client_id: str
    secret: str


@dataclass
class Seeded:
    org: dict
    admin: Login
    approver: Login
    second_approver: Login  # also listed for EV; decides one request behind the page's back
    outsider: Login  # approvals:write, but not a listed approver
    dv: dict
    ov: dict
    ev: dict
    ev_raced: dict  # rejected through the API while the approver's page still shows it
    soon: list[str]  # common names of uploaded certificates expiring within 30 days


async def _login(runtime: Runtime, tenant_id: str, scopes: list[str]) -> Login:
    _, client_id, secret = await new_client(runtime, tenant_id, scopes)
    return Login(client_id, secret)


async def _seed(runtime: Runtime, tenant: Tenant, pebble: PebbleServer, scm: ScmSandbox) -> Seeded:
    admin = await _login(runtime, tenant.id, TENANT_SCOPES)
    approver = await _login(runtime, tenant.id, ["certificates:read", "approvals:write"])
    second_approver = await _login(runtime, tenant.id, ["certificates:read", "approvals:write"])
    outsider = await _login(runtime, tenant.id, ["certificates:read", "approvals:write"])
    org = await create_org(
        tenant,
        name=f"Payments {uuid.uuid4().hex[:4]}",
        allowed_domains=["example.com"],
        scm=scm_settings(scm),
        acme=acme_settings(pebble),
        approvers={"EV": [approver.client_id, second_approver.client_id]},
    )
    headers = tenant.as_("requester")
    orders = {}
    for key, product, name in (
        ("dv", "positivessl", "dash-dv.example.com"),
        ("ov", "instantssl", "dash-ov.example.com"),
        ("ev", "ev-ssl", "dash-ev.example.com"),
        ("ev_raced", "ev-ssl", "dash-ev-raced.example.com"),
    ):
        answer = await tenant.http.post(
            "/v1/certificates",
            json={
                "organization_id": org["id"],
                "product": product,
                "common_name": name,
                "labels": {"team": "payments"},
            },
            headers=headers,
        )
        assert answer.status_code == 202, answer.text
        orders[key] = answer.json()
    ca = TinyCa("Dashboard Test CA")
    soon = []
    for days in (3, 10, 20, 50):
        name = f"soon-{days}d.example.com"
        pem = ca.leaf(name, days_left=days).public_bytes(serialization.Encoding.PEM).decode()
        answer = await tenant.http.post(
            "/v1/inventory/certificates",
            json={"organization_id": org["id"], "pem": pem},
            headers=headers,
        )
        assert answer.status_code == 201, answer.text
        if days < 30:
            soon.append(name)
    expired = ca.leaf("gone.example.com", days_left=-2).public_bytes(serialization.Encoding.PEM)
    answer = await tenant.http.post(
        "/v1/inventory/certificates",
        json={"organization_id": org["id"], "pem": expired.decode()},
        headers=headers,
    )
    assert answer.status_code == 201, answer.text
    dv = await wait_for_status(tenant, orders["dv"]["id"], {"issued"})
    ov = await wait_for_status(tenant, orders["ov"]["id"], {"issued"})
    ev = await wait_for_status(tenant, orders["ev"]["id"], {"pending_approval"})
    ev_raced = await wait_for_status(tenant, orders["ev_raced"]["id"], {"pending_approval"})
    return Seeded(org, admin, approver, second_approver, outsider, dv, ov, ev, ev_raced, soon)


def sign_in(browser: Browser, base: str, login: Login) -> None:
    browser.open(f"{base}/dashboard/")
    browser.driver.execute_script("sessionStorage.clear();")
    browser.open(f"{base}/dashboard/#/overview")
    browser.find("#client-id").send_keys(login.client_id)
    browser.find("#client-secret").send_keys(login.secret)
    browser.find("#sign-in").click()
    browser.find("#nav")
    browser.wait_text("#who", login.client_id)


def sign_out(browser: Browser) -> None:
    browser.find("#sign-out").click()
    browser.find("#client-id")


async def test_a_platform_engineer_answers_their_questions_from_the_dashboard(
    browser: Browser,
    runtime: Runtime,
    live_api: LiveApi,
    tenant: Tenant,
    broker_pebble: PebbleServer,
    scm_sandbox: ScmSandbox,
) -> None:
    seeded = await _seed(runtime, tenant, broker_pebble, scm_sandbox)
    base = live_api.url

    # Overview: counts, the timeline (a chart plus its table), approvals waiting.
    await browser.run(sign_in, browser, base, seeded.admin)

    def overview() -> None:
        browser.wait_text("#total-count", "9")
        assert browser.find("#expiring-30").text == str(len(seeded.soon))
        assert browser.find("#pending-approvals").text == "2"
        # The admin holds approvals:write but is no listed approver: nothing is theirs.
        assert browser.find("#pending-for-me").text == "0"
        assert "already expired" in browser.find("#expired-count").text
        assert browser.find("#expired-count").text.startswith("1")
        browser.find("canvas#expiry-chart")
        rows = browser.driver.find_elements(By.CSS_SELECTOR, "#expiry-table tbody tr")
        assert len(rows) == 13
        cells = [
            [cell.get_attribute("textContent") for cell in row.find_elements(By.TAG_NAME, "td")]
            for row in rows
        ]
        weekly = [int(cell[1]) for cell in cells]
        assert sum(weekly) == 4  # 3, 10, 20 and 50 days: all inside the quarter
        bands = [cell[2] for cell in cells]
        assert bands[0] == "critical" and bands[1] == "high" and bands[2] == "warning"
        by_level = browser.find("#by-level").find_element(By.XPATH, "..").text
        assert "EV" in by_level and "OV" in by_level and "DV" in by_level
        # The chart really drew something (Chart.js sizes the canvas when it renders).
        width = browser.driver.execute_script(
            "return document.getElementById('expiry-chart').width"
        )
        assert width > 100
        browser.screenshot("overview")

    await browser.run(overview)

    # Certificates: filter by product, then by expiry; open one, download its full chain.
    def certificates() -> None:
        browser.go("#/certificates")
        browser.find("#certificates-table")
        Select(browser.find("#filter-product")).select_by_value("instantssl")
        browser.find("#apply-filters").click()
        browser.wait_text("#certificates-table", "dash-ov.example.com")
        names = [a.text for a in browser.find_all(".cert-link")]
        assert names == ["dash-ov.example.com"], names
        browser.screenshot("certificates-filtered")
        browser.go("#/certificates")
        browser.find("#filter-expires-before")
        # Set as the input's ISO value: typed digits follow the browser's locale (d/m or m/d).
        soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).strftime("%Y-%m-%d")
        browser.driver.execute_script(
            "const i = arguments[0]; i.value = arguments[1];"
            "i.dispatchEvent(new Event('input', {bubbles: true}));"
            "i.dispatchEvent(new Event('change', {bubbles: true}));",
            browser.find("#filter-expires-before"),
            soon,
        )
        browser.find("#apply-filters").click()
        # The unfiltered list shows first; the filtered one has no ordered certificate left.
        browser.wait_without("#certificates-table", "dash-dv.example.com")
        browser.wait_text("#certificates-table", "soon-3d.example.com")
        names = sorted(a.text for a in browser.find_all(".cert-link"))
        assert names == sorted([*seeded.soon, "gone.example.com"]), names
        browser.go(f"#/certificates/{seeded.ov['id']}")
        browser.wait_text("#cert-title", "dash-ov.example.com")
        assert "dash-ov.example.com" in browser.find("#cert-names").text
        events = browser.find("#cert-events").text
        assert "issued" in events
        browser.find("#download-fullchain").click()
        browser.screenshot("certificate-detail")

    await browser.run(certificates)
    fullchain = await browser.run(browser.downloaded, "dash-ov.example.com.fullchain.pem")
    chain = x509.load_pem_x509_certificates(fullchain.read_bytes())
    assert len(chain) >= 2
    assert chain[0].subject.rfc4514_string().startswith("CN=dash-ov.example.com")

    # Someone with approvals:write who is not a listed approver sees what waits, without the
    # means to decide it, and why.
    await browser.run(sign_out, browser)
    await browser.run(sign_in, browser, base, seeded.outsider)

    def not_theirs() -> None:
        browser.go("#/approvals")
        browser.find("#no-approvals")
        cards = browser.find_all("#other-approvals .approval")
        assert len(cards) == 2
        assert not browser.find_all(".approval .approve")
        assert "not a listed approver" in browser.find("#other-approvals").text

    await browser.run(not_theirs)

    # The approver's page lists both; one is rejected by the other approver meanwhile, so
    # approving it from the stale page is refused and the page shows the problem.
    await browser.run(sign_out, browser)
    await browser.run(sign_in, browser, base, seeded.approver)

    def both_waiting() -> None:
        browser.go("#/approvals")
        browser.find("#approvals .approval")
        assert len(browser.find_all("#approvals .approval")) == 2

    await browser.run(both_waiting)
    second = await fetch_token(
        tenant.http, seeded.second_approver.client_id, seeded.second_approver.secret
    )
    assert second.status_code == 200, second.text
    approvals = await tenant.http.get(
        "/v1/approvals", headers={"Authorization": f"Bearer {second.json()['access_token']}"}
    )
    rows = approvals.json()
    rows = rows["items"] if isinstance(rows, dict) else rows
    raced = next(a for a in rows if a["certificate_id"] == seeded.ev_raced["id"])
    rejected = await tenant.http.post(
        f"/v1/approvals/{raced['id']}/reject",
        json={"comment": "not this one"},
        headers={"Authorization": f"Bearer {second.json()['access_token']}"},
    )
    assert rejected.status_code == 200, rejected.text

    def refused() -> None:
        card = browser.find(f".approval[data-certificate='{seeded.ev_raced['id']}']")
        card.find_element(By.CSS_SELECTOR, ".approve").click()
        notice = browser.find("#notice")
        browser.wait_text("#notice", "already rejected")
        assert notice.is_displayed()
        browser.screenshot("problem-shown")

    await browser.run(refused)

    # The approver approves the other EV order from the dashboard; it becomes issued.
    def approve() -> None:
        browser.go("#/approvals")
        card = browser.find(f".approval[data-certificate='{seeded.ev['id']}']")
        assert "dash-ev.example.com" in card.text
        assert "left" in card.find_element(By.CSS_SELECTOR, ".time-left").text
        assert seeded.ev["requested_by"] in card.text
        browser.screenshot("approvals")
        card.find_element(By.TAG_NAME, "textarea").send_keys("vetted")
        card.find_element(By.CSS_SELECTOR, ".approve").click()
        browser.wait_text("#notice", "Approved")
        browser.find("#no-approvals")

    await browser.run(approve)
    await wait_for_status(tenant, seeded.ev["id"], {"issued"})

    def issued() -> None:
        browser.go(f"#/certificates/{seeded.ev['id']}")
        browser.wait_text("#cert-facts", "issued")
        assert "approv" in browser.find("#cert-events").text.lower()

    await browser.run(issued)

    # Domains: each one's status and what to do.
    await browser.run(sign_out, browser)
    await browser.run(sign_in, browser, base, seeded.admin)

    def domains() -> None:
        browser.go("#/domains")
        browser.find("#domains-table")
        browser.screenshot("domains")

    await browser.run(domains)

    # Another tenant's client sees none of this tenant's certificates.
    other = await new_tenant(runtime, "dash-other")
    outsider = await _login(runtime, other.id, TENANT_SCOPES)
    await browser.run(sign_out, browser)
    await browser.run(sign_in, browser, base, outsider)

    def walled() -> None:
        browser.wait_text("#total-count", "0")
        browser.go("#/certificates")
        browser.wait_text("#certificates-table", "No certificate matches")
        browser.go(f"#/certificates/{seeded.ov['id']}")
        browser.wait_text("#notice", "not found")
        assert "dash-ov" not in browser.text()

    await browser.run(walled)
    errors = await browser.run(browser.console_errors)
    # Refused calls (the 403 and the 404 above) are logged by the browser; no script error is.
    assert all("Failed to load resource" in error for error in errors), errors


async def test_a_wrong_secret_shows_the_refusal(
    browser: Browser, runtime: Runtime, live_api: LiveApi
) -> None:
    tenant = await new_tenant(runtime, "dash-wrong")
    login = await _login(runtime, tenant.id, TENANT_SCOPES)

    def wrong() -> None:
        browser.open(f"{live_api.url}/dashboard/")
        browser.driver.execute_script("sessionStorage.clear();")
        browser.open(f"{live_api.url}/dashboard/")
        browser.find("#client-id").send_keys(login.client_id)
        browser.find("#client-secret").send_keys("not-the-secret")
        browser.find("#sign-in").click()
        browser.wait_text("#notice", "Sign-in refused")
        assert "wrong secret" in browser.find("#notice").text
        assert not browser.find_all("#nav")[0].is_displayed()

    await browser.run(wrong)


async def test_pages_carry_a_strict_content_security_policy(live_api: LiveApi) -> None:
    async with httpx.AsyncClient(base_url=live_api.url) as http:
        for path in ("/dashboard/", "/dashboard/static/js/main.js", "/dashboard/config.json"):
            answer = await http.get(path)
            assert answer.status_code == 200, path
            csp = answer.headers["content-security-policy"]
            assert "script-src 'self'" in csp
            assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
            assert answer.headers["x-content-type-options"] == "nosniff"
        page = (await http.get("/dashboard/")).text
        assert "<script>" not in page and " style=" not in page  # nothing inline
        assert (await http.get("/dashboard", follow_redirects=False)).status_code == 307


async def test_sign_in_through_the_company_idp_with_pkce(
    browser: Browser, runtime: Runtime, live_api: LiveApi, tenant: Tenant
) -> None:
    org = await create_org(tenant, allowed_domains=["example.com"])
    auth = runtime.settings.auth
    saved = auth.external_idps
    with PkceIdp("dashboard", "certbroker-dashboard", {}) as idp:
        idp.claims.update(
            sub="alice@example.test",
            tenant=tenant.id,
            scope="certificates:read approvals:write",
        )
        auth.external_idps = [
            *saved,
            ExternalIdp(
                issuer=idp.issuer,
                jwks_url=f"{idp.issuer}/jwks",
                audience="certbroker-dashboard",
                algorithms=["ES256"],
                authorization_endpoint=f"{idp.issuer}/authorize",
                token_endpoint=f"{idp.issuer}/token",
                dashboard_client_id="dashboard",
                dashboard_scope="openid certbroker",
                display_name="Example SSO",
            ),
        ]
        auth_state(runtime).idps = ExternalIdps(runtime)
        try:

            def sso() -> None:
                browser.open(f"{live_api.url}/dashboard/")
                browser.driver.execute_script("sessionStorage.clear();")
                browser.open(f"{live_api.url}/dashboard/")
                browser.wait_text("button.idp", "Example SSO").click()
                browser.wait_text("#who", "alice@example.test")
                assert "approvals:write" in browser.find("#who").text
                browser.find("#total-count")
                assert "code=" not in browser.driver.current_url  # the code is not left behind
                browser.go("#/domains")
                browser.find("#domains-organization")
                names = [o.text for o in browser.find_all("#domains-organization option")]
                assert org["name"] in names

            await browser.run(sso)
        finally:
            auth.external_idps = saved
            auth_state(runtime).idps = ExternalIdps(runtime)
    assert idp.refused == []
