"""The contract's §9 SSL payloads, field by field, over real HTTP through the shared fixture."""

from __future__ import annotations

import re

from tests.sandbox.csrs import make_csr, unique_host
from tests.sandbox.orders import enroll_body, wait_for_status


async def test_types_list_shape(scm_sandbox):
    async with scm_sandbox.client() as scm:
        response = await scm.get("/ssl/v1/types")
    assert response.status_code == 200
    profiles = response.json()
    assert [p["name"] for p in profiles] == [
        "InstantSSL",
        "InstantSSL Pro",
        "InstantSSL Premium Wildcard",
        "EV SSL",
        "EV Multi-Domain",
        "PositiveSSL",
        "PositiveSSL Wildcard",
        "PositiveSSL Multi-Domain",
    ]
    first = profiles[0]
    assert set(first) == {"id", "name", "description", "terms", "keyTypes", "useSecondaryOrgName"}
    assert first["id"] == 224 and first["description"] == "" and first["terms"] == [365]
    assert first["keyTypes"]["RSA"] == ["2048", "3072", "4096"]
    assert "P-256" in first["keyTypes"]["EC"]
    assert first["useSecondaryOrgName"] is False


async def test_custom_fields(scm_sandbox):
    async with scm_sandbox.client() as scm:
        fields = (await scm.get("/ssl/v1/customFields")).json()
    assert {"id": 57, "name": "costCenter", "mandatory": True} in fields
    assert all(set(field) == {"id", "name", "mandatory"} for field in fields)


async def test_enroll_response_and_issue(scm_sandbox):
    async with scm_sandbox.client() as scm:
        response = await scm.post(
            "/ssl/v1/enroll", json=enroll_body(numberServers=1, serverType=-1)
        )
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"sslId", "renewId"}
        assert isinstance(body["sslId"], int)
        assert re.fullmatch(r"[A-Za-z0-9]{20}", body["renewId"])
        details = await wait_for_status(scm, body["sslId"], "Issued")
    assert details["id"] == details["sslId"] == body["sslId"]


async def test_collect_not_ready_bodies(scm_sandbox):
    async with scm_sandbox.client() as scm:
        ssl_id = (await scm.post("/ssl/v1/enroll", json=enroll_body())).json()["sslId"]
        await scm_sandbox.force_state(ssl_id, "Requested")
        requested = await scm.get(f"/ssl/v1/collect/{ssl_id}", params={"format": "x509CO"})
        await scm_sandbox.force_state(ssl_id, "Applied")
        applied = await scm.get(f"/ssl/v1/collect/{ssl_id}/x509CO")
        async with scm_sandbox.settings(legacy_collect_pending=True):
            legacy = await scm.get(f"/ssl/v1/collect/{ssl_id}")
    assert requested.status_code == applied.status_code == legacy.status_code == 400
    assert requested.headers["content-type"].startswith("application/json")
    assert requested.json() == {"code": -183, "description": "Certificate is not collectable."}
    assert applied.json() == {
        "code": -1400,
        "description": "The request is being processed by Sectigo.",
    }
    assert legacy.json() == {"code": 0, "description": "Being processed by Sectigo"}


async def test_details_keys_and_formats(scm_sandbox):
    name = unique_host()
    body = enroll_body(name, subjAltNames=f"{name},api.{name}", externalRequester="ops@example.org")
    async with scm_sandbox.client() as scm:
        ssl_id = (await scm.post("/ssl/v1/enroll", json=body)).json()["sslId"]
        await scm_sandbox.force_state(ssl_id, "Applied")
        pending = (await scm.get(f"/ssl/v1/{ssl_id}")).json()
        await scm_sandbox.force_state(ssl_id, "Issued")
        issued = (await scm.get(f"/ssl/v1/{ssl_id}")).json()
        iso = (await scm.get(f"/ssl/v1/{ssl_id}", params={"dateFormat": "ISO"})).json()
        eu = (await scm.get(f"/ssl/v1/{ssl_id}", params={"dateFormat": "eu"})).json()
    assert pending["keySize"] == 0 and pending["keyType"] == "EC"
    assert "serialNumber" not in pending and pending["status"] == "Applied"
    assert issued["status"] == "Issued"
    for key in (
        "commonName",
        "sslId",
        "id",
        "orgId",
        "orderNumber",
        "backendCertId",
        "vendor",
        "certType",
        "validationType",
        "term",
        "requester",
        "requestedVia",
        "comments",
        "externalRequester",
        "requested",
        "issued",
        "expires",
        "renewed",
        "serialNumber",
        "signatureAlg",
        "keyType",
        "subjectAlternativeNames",
        "certificateDetails",
        "autoInstallDetails",
        "autoRenewDetails",
        "suspendNotifications",
    ):
        assert key in issued, key
    assert issued["commonName"] == name and issued["orgId"] == 1234
    assert issued["validationType"] == "Organization Validation (OV)"
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4}", issued["requested"])
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4}", issued["expires"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", iso["issued"])
    assert re.fullmatch(r"\d{2}\.\d{2}\.\d{4}", eu["issued"])
    assert re.fullmatch(r"([0-9A-F]{2}:)+[0-9A-F]{2}", issued["serialNumber"])
    assert issued["subjectAlternativeNames"] == [name, f"api.{name}"]
    assert issued["certificateDetails"]["subjectAltNames"] == (
        f"dNSName={name}, dNSName=api.{name}"
    )
    assert issued["certificateDetails"]["subject"].startswith(f"CN={name},O=Example University")
    assert issued["keyType"] == "EC - P-256" and issued["keySize"] == 256
    assert issued["certType"]["id"] == 224 and issued["term"] == 365


async def test_list_item_and_marker_search(scm_sandbox):
    body = enroll_body()
    marker = body["comments"]
    async with scm_sandbox.client() as scm:
        ssl_id = (await scm.post("/ssl/v1/enroll", json=body)).json()["sslId"]
        by_comment = await scm.get("/ssl/v1", params={"comments": marker, "size": 200})
        by_requester = await scm.get("/ssl/v1", params={"externalRequester": "nobody-else"})
        count = await scm.head("/ssl/v1", params={"comments": marker})
    assert by_comment.status_code == 200
    assert by_comment.headers["X-Total-Count"] == "1"
    item = by_comment.json()[0]
    assert item["sslId"] == ssl_id and item["commonName"] == body["subjAltNames"]
    assert "status" not in item
    assert by_requester.json() == []
    assert count.status_code == 200 and count.headers["X-Total-Count"] == "1"
    assert count.content == b""


async def test_auth_error(scm_sandbox):
    async with scm_sandbox.client() as scm:
        response = await scm.get("/ssl/v1/types", headers={"password": "wrong"})
    assert response.status_code == 401
    assert response.json() == {"code": -16, "description": "Unknown user"}


async def test_header_names_are_case_insensitive(scm_sandbox):
    headers = {"LOGIN": "sandbox", "Password": "sandbox", "CUSTOMERURI": "sandbox"}
    async with scm_sandbox.client() as scm:
        response = await scm.get("/organization/v1", headers=headers)
    assert response.status_code == 200


async def test_private_api_needs_the_mtls_listener(scm_sandbox):
    async with scm_sandbox.private_client() as scm:
        over_mtls = await scm.get("/ssl/v1/types")
    async with scm_sandbox.client() as scm:
        plain = await scm.get(
            f"{scm_sandbox.origin}/private/api/ssl/v1/types", headers=scm_sandbox.private_headers
        )
    assert over_mtls.status_code == 200 and over_mtls.json()[0]["id"] == 224
    assert plain.status_code == 401


async def test_csr_with_own_sans_keeps_enroll_names(scm_sandbox):
    name = unique_host()
    body = enroll_body(name, csr=make_csr(name, sans=[name, f"other.{name}"]))
    async with scm_sandbox.client() as scm:
        ssl_id = (await scm.post("/ssl/v1/enroll", json=body)).json()["sslId"]
        details = (await scm.get(f"/ssl/v1/{ssl_id}")).json()
    assert details["subjectAlternativeNames"] == [name]
