"""Domains and DCV over real HTTP: §9 shapes, the DCV state machine, and DCV-enforced enroll."""

from __future__ import annotations

import asyncio
import re
import uuid

from tests.sandbox.orders import enroll_body


def fresh_domain() -> str:
    return f"d{uuid.uuid4().hex[:10]}.example.net"


async def create_domain(scm, name: str) -> int:
    response = await scm.post(
        "/domain/v1",
        json={"name": name, "delegations": [{"orgId": 1234, "certTypes": ["SSL"]}]},
    )
    assert response.status_code == 201 and response.content == b""
    return int(response.headers["Location"].rsplit("/", 1)[1])


async def test_domain_create_is_201_with_location(scm_sandbox):
    name = fresh_domain()
    async with scm_sandbox.client() as scm:
        response = await scm.post("/domain/v1", json={"name": name})
        location = response.headers["Location"]
        again = await scm.post("/domain/v1", json={"name": name})
        domain_id = int(location.rsplit("/", 1)[1])
        details = (await scm.get(f"/domain/v1/{domain_id}")).json()
        listed = await scm.get("/domain/v1", params={"name": name})
        deleted = await scm.delete(f"/domain/v1/{domain_id}")
        gone = await scm.get(f"/domain/v1/{domain_id}")
    assert response.status_code == 201 and response.content == b""
    assert re.fullmatch(rf"{scm_sandbox.base_url}/domain/v1/\d+", location)
    assert again.status_code == 400 and again.json()["code"] == -700
    assert details["name"] == name and details["validationStatus"] == "NOT_VALIDATED"
    assert listed.json() == [{"id": domain_id, "name": name}]
    assert listed.headers["X-Total-Count"] == "1"
    assert deleted.status_code == 204 and gone.status_code == 404


async def test_dcv_start_shapes(scm_sandbox):
    name = fresh_domain()
    async with scm_sandbox.client() as scm:
        await create_domain(scm, name)
        cname = (
            await scm.post("/dcv/v1/validation/start/domain/cname", json={"domain": name})
        ).json()
        http = (
            await scm.post("/dcv/v1/validation/start/domain/http", json={"domain": name})
        ).json()
        https = (
            await scm.post("/dcv/v2/validation/start/domain/https", json={"domain": name})
        ).json()
        txt = await scm.post("/dcv/v1/validation/start/domain/txt", json={"domain": name})
        email = (
            await scm.post("/dcv/v1/validation/start/domain/email", json={"domain": name})
        ).json()
    assert set(cname) == {"host", "point"}
    token = re.fullmatch(rf"_([0-9a-f]{{32}})\.{re.escape(name)}\.", cname["host"]).group(1)
    first, second = re.fullmatch(
        r"([0-9a-f]{32})\.([0-9a-f]{32})\.sectigo\.com\.", cname["point"]
    ).groups()
    assert set(http) == {"url", "firstLine", "secondLine"}
    assert http["url"] == f"http://{name}/.well-known/pki-validation/{token.upper()}.txt"
    assert http["firstLine"] == first + second and http["secondLine"] == "sectigo.com"
    assert https["url"].startswith(f"https://{name}/.well-known/pki-validation/")
    assert txt.status_code == 400
    assert f"admin@{name}" in email["emails"]
    assert email["dcvEmails"][0]["domainName"] == name
    assert set(email["dcvEmails"][0]) == {
        "domainName",
        "whoisEmails",
        "adminEmails",
        "dnsTxtEmails",
    }


async def test_dcv_lifecycle_submit_validate_expire(scm_sandbox):
    name = fresh_domain()
    async with (
        scm_sandbox.client() as scm,
        scm_sandbox.settings(dcv_validation_seconds=0.2, dcv_expiry_seconds=1.0),
    ):
        await create_domain(scm, name)
        before = (await scm.post("/dcv/v2/validation/status", json={"domain": name})).json()
        submit = await scm.post("/dcv/v1/validation/submit/domain/cname", json={"domain": name})
        submitted = (await scm.post("/dcv/v2/validation/status", json={"domain": name})).json()
        await asyncio.sleep(0.3)
        validated = (await scm.post("/dcv/v1/validation/status", json={"domain": name})).json()
        search = await scm.get("/dcv/v1/validation", params={"domain": name})
        await asyncio.sleep(1.0)
        expired = (await scm.post("/dcv/v2/validation/status", json={"domain": name})).json()
    assert before["status"] == "NOT_VALIDATED" and before["orderStatus"] == "NOT_INITIATED"
    assert submit.status_code == 200
    body = submit.json()
    assert set(body) == {"status", "orderStatus", "message", "orderBackendId"}
    assert body["status"] == "NOT_VALIDATED" and body["orderStatus"] == "SUBMITTED"
    assert body["message"] == "Submitted successfully" and body["orderBackendId"].isdigit()
    assert submitted["orderStatus"] == "SUBMITTED" and submitted["orderMode"] == "CNAME"
    assert submitted["host"].startswith("_")
    assert set(validated) == {"status", "validationDate", "expirationDate", "orderStatus"}
    assert validated["status"] == "VALIDATED" and validated["orderStatus"] == "NOT_INITIATED"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", validated["expirationDate"])
    assert search.json() == [
        {
            "domain": name,
            "dcvStatus": "VALIDATED",
            "dcvMethod": "CNAME",
            "dcvOrderStatus": "NOT_INITIATED",
            "dcvOrderMethod": "CNAME",
            "expirationDate": validated["expirationDate"],
        }
    ]
    assert search.headers["X-Total-Count"] == "1"
    assert expired["status"] == "EXPIRED"


async def test_txt_submit_returns_record(scm_sandbox):
    name = fresh_domain()
    async with scm_sandbox.client() as scm:
        await create_domain(scm, name)
        body = (
            await scm.post("/dcv/v1/validation/submit/domain/txt", json={"domain": name})
        ).json()
    assert body["orderStatus"] == "SUBMITTED" and body["host"] == f"_pki-validation.{name}."
    assert re.fullmatch(r"[0-9a-f]{64}", body["point"])


async def test_unknown_domain_is_404_on_v2_and_400_on_v1(scm_sandbox):
    async with scm_sandbox.client() as scm:
        v2 = await scm.post("/dcv/v2/validation/status", json={"domain": "nope.invalid.test"})
        v1 = await scm.post("/dcv/v1/validation/status", json={"domain": "nope.invalid.test"})
    assert (v2.status_code, v2.json()["code"]) == (404, -727)
    assert (v1.status_code, v1.json()["code"]) == (400, -727)


async def test_enroll_needs_dcv_and_succeeds_after_it(scm_sandbox):
    name = fresh_domain()
    host = f"www.{name}"
    async with scm_sandbox.client() as scm:
        await create_domain(scm, name)
        refused = await scm.post("/ssl/v1/enroll", json=enroll_body(host))
        async with scm_sandbox.settings(dcv_validation_seconds=0):
            await scm.post("/dcv/v1/validation/submit/domain/http", json={"domain": name})
            await scm.post("/dcv/v2/validation/status", json={"domain": name})
        accepted = await scm.post("/ssl/v1/enroll", json=enroll_body(host))
        await scm_sandbox.force_dcv(name, "EXPIRED")
        expired = await scm.post("/ssl/v1/enroll", json=enroll_body(host))
        async with scm_sandbox.settings(dcv_exempt_org_ids=[1234]):
            exempt = await scm.post("/ssl/v1/enroll", json=enroll_body(host))
    assert refused.status_code == 400 and refused.json()["code"] == -1137
    assert accepted.status_code == 200
    assert expired.status_code == 400 and expired.json()["code"] == -107
    assert exempt.status_code == 200


async def test_delete_and_clear_reset_dcv(scm_sandbox):
    name = fresh_domain()
    async with scm_sandbox.client() as scm:
        await create_domain(scm, name)
        await scm.post("/dcv/v1/validation/submit/domain/cname", json={"domain": name})
        cleared = (await scm.post("/dcv/v1/validation/clear", json={"domain": name})).json()
        await scm_sandbox.force_dcv(name, "VALIDATED")
        deleted = await scm.post("/dcv/v1/validation/delete", json={"domain": name})
        status = (await scm.post("/dcv/v1/validation/status", json={"domain": name})).json()
    assert cleared["orderStatus"] == "NOT_INITIATED"
    assert deleted.status_code == 200 and status["status"] == "NOT_VALIDATED"


async def test_delegations(scm_sandbox):
    name = fresh_domain()
    async with scm_sandbox.client() as scm:
        domain_id = await create_domain(scm, name)
        added = await scm.post(f"/domain/v1/{domain_id}/delegation", json={"orgId": 5678})
        rejected = await scm.post(f"/domain/v1/{domain_id}/delegation/reject", json={"orgId": 5678})
        bulk = await scm.post(
            "/domain/v1/delegation", json={"domainIds": [domain_id], "orgId": 4321}
        )
        details = (await scm.get(f"/domain/v1/{domain_id}")).json()
        by_org = (await scm.get("/domain/v1", params={"orgId": 4321, "name": name})).json()
        removed = await scm.request(
            "DELETE", f"/domain/v1/{domain_id}/delegation", json={"orgId": 1234}
        )
        after = (await scm.get(f"/domain/v1/{domain_id}")).json()
    assert added.status_code == rejected.status_code == bulk.status_code == 200
    statuses = {d["orgId"]: d["status"] for d in details["delegations"]}
    assert statuses == {1234: "ACTIVE", 5678: "REJECTED", 4321: "ACTIVE"}
    assert by_org == [{"id": domain_id, "name": name}]
    assert removed.status_code == 200
    assert {d["orgId"] for d in after["delegations"]} == {5678, 4321}
