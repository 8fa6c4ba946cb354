"""Order lifecycle: timing, approval, decline, revoke, renew, replace, enroll validation codes."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.sandbox.csrs import make_csr, unique_host
from tests.sandbox.orders import enroll_body, wait_for_status


async def test_natural_lifecycle_passes_requested_applied_issued(scm_sandbox):
    seen = []
    async with (
        scm_sandbox.client() as scm,
        scm_sandbox.settings(requested_to_applied_seconds=0.15, applied_to_issued_seconds=0.15),
    ):
        ssl_id = (await scm.post("/ssl/v1/enroll", json=enroll_body())).json()["sslId"]
        for _ in range(40):
            status = (await scm.get(f"/ssl/v1/{ssl_id}")).json()["status"]
            if not seen or seen[-1] != status:
                seen.append(status)
            if status == "Issued":
                break
            await asyncio.sleep(0.03)
    assert seen == ["Requested", "Applied", "Issued"]


async def test_stuck_in_applied_fault(scm_sandbox):
    fast = {"requested_to_applied_seconds": 0, "applied_to_issued_seconds": 0}
    async with (
        scm_sandbox.client() as scm,
        scm_sandbox.faults(stuck_in_applied=True),
        scm_sandbox.settings(**fast),
    ):
        ssl_id = (await scm.post("/ssl/v1/enroll", json=enroll_body())).json()["sslId"]
        await asyncio.sleep(0.05)
        details = (await scm.get(f"/ssl/v1/{ssl_id}")).json()
    assert details["status"] == "Applied"


async def test_ev_waits_for_approval_then_issues(scm_sandbox):
    body = enroll_body(certType=283)
    async with scm_sandbox.client() as scm:
        ssl_id = (await scm.post("/ssl/v1/enroll", json=body)).json()["sslId"]
        await asyncio.sleep(0.3)
        waiting = (await scm.get(f"/ssl/v1/{ssl_id}")).json()
        empty = await scm.post(f"/ssl/v1/approve/{ssl_id}", json={"message": ""})
        approved = await scm.post(f"/ssl/v1/approve/{ssl_id}", json={"message": "ok"})
        issued = await wait_for_status(scm, ssl_id, "Issued")
        again = await scm.post(f"/ssl/v1/approve/{ssl_id}", json={"message": "ok"})
    assert waiting["status"] == "Requested"
    assert empty.status_code == 400
    assert approved.status_code == 204 and approved.content == b""
    assert issued["validationType"] == "Extended Validation (EV)" and "approved" in issued
    assert "businessCategory" in issued["certificateDetails"]["subject"] or (
        "2.5.4.15" in issued["certificateDetails"]["subject"]
    )
    assert again.status_code == 400


async def test_requester_may_not_approve_when_configured(scm_sandbox):
    async with scm_sandbox.client() as scm, scm_sandbox.settings(approver_may_be_requester=False):
        ssl_id = (await scm.post("/ssl/v1/enroll", json=enroll_body(certType=284))).json()["sslId"]
        response = await scm.post(f"/ssl/v1/approve/{ssl_id}", json={"message": "mine"})
    assert response.json()["code"] == -1140


async def test_decline(scm_sandbox):
    async with scm_sandbox.client() as scm:
        ssl_id = (await scm.post("/ssl/v1/enroll", json=enroll_body(certType=283))).json()["sslId"]
        declined = await scm.post(f"/ssl/v1/decline/{ssl_id}", json={"message": "no"})
        details = (await scm.get(f"/ssl/v1/{ssl_id}")).json()
        collect = await scm.get(f"/ssl/v1/collect/{ssl_id}")
    assert declined.status_code == 204
    assert details["status"] == "Declined" and "declined" in details
    assert collect.status_code == 400


async def test_revoke_rules_and_revoke_by_serial(scm_sandbox):
    async with scm_sandbox.client() as scm:
        first = (await scm.post("/ssl/v1/enroll", json=enroll_body())).json()["sslId"]
        await scm_sandbox.force_state(first, "Applied")
        not_issued = await scm.post(f"/ssl/v1/revoke/{first}", json={"reason": "x"})
        await scm_sandbox.force_state(first, "Issued")
        no_reason = await scm.post(f"/ssl/v1/revoke/{first}", json={"reasonCode": 1})
        long_reason = await scm.post(f"/ssl/v1/revoke/{first}", json={"reason": "x" * 513})
        bad_code = await scm.post(f"/ssl/v1/revoke/{first}", json={"reasonCode": 2, "reason": "x"})
        revoked = await scm.post(f"/ssl/v1/revoke/{first}", json={"reason": "gone"})
        twice = await scm.post(f"/ssl/v1/revoke/{first}", json={"reason": "gone"})
        details = (await scm.get(f"/ssl/v1/{first}")).json()
        second = (await scm.post("/ssl/v1/enroll", json=enroll_body())).json()["sslId"]
        await scm_sandbox.force_state(second, "Issued")
        serial = (await scm.get(f"/ssl/v1/{second}")).json()["serialNumber"]
        by_serial = await scm.post(
            f"/ssl/v1/revoke/serial/{serial.replace(':', '').lower()}",
            json={"reasonCode": "5", "reason": "decommissioned"},
        )
        after = (await scm.get(f"/ssl/v1/{second}")).json()
    assert not_issued.json()["code"] == -102
    assert no_reason.status_code == long_reason.status_code == bad_code.status_code == 400
    assert revoked.status_code == 204 and twice.json()["code"] == -159
    assert details["status"] == "Revoked" and details["reasonCode"] == 0
    assert by_serial.status_code == 204 and after["status"] == "Revoked"


async def test_renew_by_id_renew_id_and_replace(scm_sandbox):
    body = enroll_body()
    async with scm_sandbox.client() as scm:
        enrolled = (await scm.post("/ssl/v1/enroll", json=body)).json()
        ssl_id = enrolled["sslId"]
        await scm_sandbox.force_state(ssl_id, "Issued")
        old_serial = (await scm.get(f"/ssl/v1/{ssl_id}")).json()["serialNumber"]
        renewed = await scm.post(f"/ssl/v1/renewById/{ssl_id}")
        by_renew_id = await scm.post(f"/ssl/v1/renew/{enrolled['renewId']}", json={})
        replaced = await scm.post(
            f"/ssl/v1/replace/{ssl_id}",
            json={"csr": make_csr(body["subjAltNames"]), "reason": "key rotation"},
        )
        after = await wait_for_status(scm, ssl_id, "Issued")
        original = (await scm.get(f"/ssl/v1/{ssl_id}")).json()
    assert renewed.status_code == 200
    new_id = renewed.json()["sslId"]
    assert set(renewed.json()) == {"sslId"} and new_id != ssl_id
    assert by_renew_id.status_code == 204
    assert replaced.status_code == 204
    assert after["id"] == ssl_id and after["serialNumber"] != old_serial
    assert original["renewed"] is True and "replaced" in original


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"certType": 999}, -111),
        ({"orgId": 9100}, -39),
        ({"term": 730}, -36),
        ({"customFields": []}, -62),
        ({"csr": "not base64 at all!"}, -9),
        ({"csr": "QUJDRA=="}, -10),
        ({"orgId": 42}, -1023),
        ({"subjAltNames": "*.example.com"}, -1601),
        ({"subjAltNames": "www.unvalidated.example.io"}, -1137),
    ],
)
async def test_enroll_error_codes(scm_sandbox, overrides, code):
    async with scm_sandbox.client() as scm:
        response = await scm.post("/ssl/v1/enroll", json=enroll_body(**overrides))
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert set(response.json()) == {"code", "description"}


async def test_weak_and_unsupported_keys(scm_sandbox):
    name = unique_host()
    async with scm_sandbox.client() as scm:
        weak = await scm.post(
            "/ssl/v1/enroll", json=enroll_body(name, csr=make_csr(name, "rsa1024"))
        )
        strong = await scm.post(
            "/ssl/v1/enroll", json=enroll_body(name, csr=make_csr(name, "rsa2048"))
        )
    assert weak.json()["code"] == -141
    assert strong.status_code == 200


async def test_paging_past_200(scm_sandbox):
    marker = f"page-{uuid.uuid4().hex}"
    csr = make_csr("paging.example.com")
    body = enroll_body("paging.example.com", csr=csr, externalRequester=marker)
    async with scm_sandbox.client() as scm:
        for _ in range(205):
            assert (await scm.post("/ssl/v1/enroll", json=body)).status_code == 200
        first = await scm.get("/ssl/v1", params={"externalRequester": marker, "size": 200})
        second = await scm.get(
            "/ssl/v1", params={"externalRequester": marker, "size": 200, "position": 200}
        )
        too_big = await scm.get("/ssl/v1", params={"size": 201})
        default = await scm.get("/ssl/v1", params={"externalRequester": marker})
        count = await scm.head("/ssl/v1", params={"externalRequester": marker})
    assert len(first.json()) == 200 and len(second.json()) == 5
    assert first.headers["X-Total-Count"] == second.headers["X-Total-Count"] == "205"
    ids = [item["sslId"] for item in first.json() + second.json()]
    assert len(set(ids)) == 205 and ids == sorted(ids)
    assert too_big.status_code == 400
    assert len(default.json()) == 10
    assert count.headers["X-Total-Count"] == "205"
    assert await scm_sandbox.enrollments_for(csr) == 205


async def test_edit_certificate_record(scm_sandbox):
    async with scm_sandbox.client() as scm:
        ssl_id = (await scm.post("/ssl/v1/enroll", json=enroll_body(certType=283))).json()["sslId"]
        edited = await scm.put("/ssl/v1", json={"sslId": ssl_id, "comments": "edited"})
        bad_term = await scm.put("/ssl/v1", json={"sslId": ssl_id, "term": 999})
        await scm_sandbox.force_state(ssl_id, "Issued")
        locked = await scm.put("/ssl/v1", json={"sslId": ssl_id, "commonName": "x.example.com"})
        notes = await scm.put("/ssl/v1", json={"sslId": ssl_id, "externalRequester": "a@b.c"})
    assert edited.status_code == 200 and edited.json()["comments"] == "edited"
    assert bad_term.json()["code"] == -36
    assert locked.status_code == 400
    assert notes.json()["externalRequester"] == "a@b.c"


async def test_manual_revoke_and_renew_marks(scm_sandbox):
    async with scm_sandbox.client() as scm:
        ssl_id = (await scm.post("/ssl/v1/enroll", json=enroll_body())).json()["sslId"]
        await scm_sandbox.force_state(ssl_id, "Issued")
        renewed = await scm.post(f"/ssl/v1/renew/manual/{ssl_id}", json={})
        revoked = await scm.post("/ssl/v1/revoke/manual", json={"certId": ssl_id, "reasonCode": 0})
        details = (await scm.get(f"/ssl/v1/{ssl_id}")).json()
        email_without_address = await scm.post("/ssl/v1/enroll", json=enroll_body(dcvMode="EMAIL"))
    assert renewed.status_code == revoked.status_code == 204
    assert details["status"] == "Revoked" and details["renewed"] is True
    assert email_without_address.json()["code"] == -7


async def test_locations(scm_sandbox):
    async with scm_sandbox.client() as scm:
        ssl_id = (await scm.post("/ssl/v1/enroll", json=enroll_body())).json()["sslId"]
        created = await scm.post(f"/ssl/v1/{ssl_id}/location", json={"details": {"host": "web1"}})
        location_id = int(created.headers["Location"].rsplit("/", 1)[1])
        updated = await scm.put(
            f"/ssl/v1/{ssl_id}/location/{location_id}", json={"details": {"host": "web2"}}
        )
        listed = (await scm.get(f"/ssl/v1/{ssl_id}/location")).json()
        deleted = await scm.delete(f"/ssl/v1/{ssl_id}/location/{location_id}")
        gone = await scm.get(f"/ssl/v1/{ssl_id}/location/{location_id}")
    assert created.status_code == 201 and created.content == b""
    assert created.headers["Location"].endswith(f"/api/ssl/v1/{ssl_id}/location/{location_id}")
    assert updated.json() == {"id": location_id, "details": {"host": "web2"}}
    assert listed == [{"id": location_id, "details": {"host": "web2"}}]
    assert deleted.status_code == 204 and gone.status_code == 404


async def test_actions_take_any_body_as_scm_does(scm_sandbox):
    """No body, `""` or `[]` reach the action (SCM's own -1601 for a missing message), never a
    framework 422; renewals need no body at all."""
    async with scm_sandbox.client() as scm:
        ssl_id = (await scm.post("/ssl/v1/enroll", json=enroll_body(certType=283))).json()["sslId"]
        for content in (None, b'""', b"[]"):
            kwargs = {"content": content, "headers": {"content-type": "application/json"}}
            answer = await scm.post(f"/ssl/v1/approve/{ssl_id}", **(kwargs if content else {}))
            assert answer.status_code == 400 and answer.json()["code"] == -1601, answer.text
        approved = await scm.post(f"/ssl/v1/approve/{ssl_id}", json={"message": "ok"})
        assert approved.status_code == 204
        await wait_for_status(scm, ssl_id, "Issued")
        renewed = await scm.post(
            f"/ssl/v1/renewById/{ssl_id}",
            content=b'""',
            headers={"content-type": "application/json"},
        )
    assert renewed.status_code == 200 and renewed.json()["sslId"] != ssl_id, renewed.text
