"""ACME accounts, the ssl-certificates report and organizations: §9 shapes over real HTTP."""

from __future__ import annotations

import base64
import re
import uuid

from tests.sandbox.orders import enroll_body

B64URL = r"[A-Za-z0-9_-]"


async def test_organization_list_and_details(scm_sandbox):
    async with scm_sandbox.client() as scm:
        orgs = (await scm.get("/organization/v1")).json()
        details = (await scm.get("/organization/v1/1234")).json()
        missing = await scm.get("/organization/v1/1")
    first = orgs[0]
    assert first == {
        "id": 1234,
        "name": "Example University",
        "certTypes": ["SSL", "SMIME"],
        "departments": [
            {"id": 4321, "name": "IT", "parentName": "Example University", "certTypes": ["SSL"]},
            {
                "id": 4322,
                "name": "Research",
                "parentName": "Example University",
                "certTypes": ["SSL", "SMIME"],
            },
        ],
    }
    assert details["country"] == "US" and details["sslCertsApiEnabled"] is True
    assert missing.status_code == 404 and missing.json()["code"] == -1023


async def test_acme_account_create_get_list_and_eab(scm_sandbox):
    name = f"web-{uuid.uuid4().hex[:8]}"
    body = {"name": name, "acmeServer": "https://acme.sectigo.com/v2/OV", "organizationId": 1234}
    async with scm_sandbox.client() as scm:
        created = await scm.post("/acme/v2/account", json=body)
        account_id = int(re.search(r"/(\d+)$", created.headers["Location"]).group(1))
        account = (await scm.get(f"/acme/v2/account/{account_id}")).json()
        listed = await scm.get("/acme/v1/account", params={"organizationId": 1234, "name": name})
        added = (
            await scm.post(
                f"/acme/v2/account/{account_id}/domain",
                json={"domains": [{"name": "www.example.com"}, {"name": "nowhere.invalid"}]},
            )
        ).json()
        domains = (await scm.get(f"/acme/v2/account/{account_id}/domain")).json()
        removed = (
            await scm.request(
                "DELETE",
                f"/acme/v1/account/{account_id}/domains",
                json={"domains": [{"name": "www.example.com"}, {"name": "other.example.com"}]},
            )
        ).json()
        servers = (await scm.get("/acme/v1/server")).json()
        no_org = await scm.get("/acme/v2/account")
    assert created.status_code == 201 and created.content == b""
    assert created.headers["Location"] == f"{scm_sandbox.base_url}/acme/v2/account/{account_id}"
    assert set(account) == {
        "id",
        "name",
        "status",
        "macKey",
        "macId",
        "accountId",
        "acmeServer",
        "organizationId",
        "certValidationType",
        "contacts",
        "evDetails",
    }
    assert account["status"] == "pending" and account["certValidationType"] == "OV"
    assert (
        re.fullmatch(f"{B64URL}{{22}}", account["macId"])
        and account["accountId"] == account["macId"]
    )
    assert re.fullmatch(f"{B64URL}{{86}}", account["macKey"])
    assert len(base64.urlsafe_b64decode(account["macKey"] + "==")) == 64
    assert listed.headers["X-Total-Count"] == "1" and listed.json()[0]["domains"] == []
    assert added == {"notAddedDomains": ["nowhere.invalid"]}
    assert domains[0]["name"] == "www.example.com"
    assert removed == {"notRemovedDomains": ["other.example.com"]}
    assert {s["certValidationType"] for s in servers} == {"DV", "OV", "EV"}
    assert no_org.status_code == 400
    eab = {entry["id"]: entry for entry in await scm_sandbox.eab_credentials()}
    assert eab[account_id]["macKey"] == account["macKey"]
    async with scm_sandbox.client() as scm:
        pebble = (await scm.get(f"{scm_sandbox.origin}/__sandbox/acme/eab/pebble")).json()
    assert pebble["externalAccountMACKeys"][account["macId"]] == account["macKey"]


async def test_ssl_certificates_report(scm_sandbox):
    body = enroll_body(externalRequester=f"{uuid.uuid4().hex}@example.org")
    async with scm_sandbox.client() as scm:
        ssl_id = (await scm.post("/ssl/v1/enroll", json=body)).json()["sslId"]
        await scm_sandbox.force_state(ssl_id, "Issued")
        response = await scm.post(
            "/report/v1/ssl-certificates",
            json={
                "certificateStatus": 0,
                "externalRequester": body["externalRequester"],
                "organizationIds": [1234],
            },
        )
        issued_only = await scm.post(
            "/report/v1/ssl-certificates",
            json={"certificateStatus": 1, "externalRequester": body["externalRequester"]},
        )
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="rest_api_ssl-certificates.json"'
    )
    report = response.json()
    assert report["statusCode"] == 0 and len(report["reports"]) == 1
    row = report["reports"][0]
    assert row["id"] == ssl_id and row["status"] == "Issued" and row["type"] == "InstantSSL"
    assert row["subjAltNames"] == body["subjAltNames"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", row["requested"])
    assert issued_only.json()["reports"] == []
