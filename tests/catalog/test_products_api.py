"""/v1/products: the catalog as a platform team finds it, and what one organization may order."""

from __future__ import annotations

import uuid

import httpx
import pytest

from app.catalog.products import PRODUCTS
from app.runtime import Runtime
from tests.auth.factories import Actor, new_actor


@pytest.fixture
async def admin(runtime: Runtime, api: httpx.AsyncClient) -> Actor:
    return await new_actor(runtime, api)


async def new_org(api: httpx.AsyncClient, actor: Actor, **body: object) -> dict:
    body = {"name": f"org-{uuid.uuid4().hex[:8]}", "allowed_domains": ["example.com"], **body}
    answer = await api.post("/v1/organizations", json=body, headers=actor.headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_every_product_with_its_rules(api: httpx.AsyncClient, admin: Actor) -> None:
    answer = await api.get("/v1/products", headers=admin.headers)

    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert [p["code"] for p in page["items"]] == list(PRODUCTS)
    assert page["next_cursor"] is None and page["limit"] == 100
    by_code = {p["code"]: p for p in page["items"]}
    wildcard = by_code["positivessl-wildcard"]
    assert wildcard["validation_level"] == "DV" and wildcard["default_backend"] == "acme"
    assert wildcard["name_rules"]["wildcard_allowed"] is True
    assert wildcard["name_rules"]["max_names"] == 2
    assert "*.example.com" in wildcard["name_rules"]["summary"]
    multi = by_code["ev-multi-domain"]
    assert multi["name_rules"]["multi_domain"] is True and multi["approval_required"] is True
    assert by_code["positivessl-multi-domain"]["terms_days"] == [365, 730]
    assert "RSA-2048" in by_code["instantssl"]["key_types"]
    assert all(p["organization"] is None for p in page["items"])


async def test_filters_and_cursor(api: httpx.AsyncClient, admin: Actor) -> None:
    ev = await api.get("/v1/products", params={"validation_level": "EV"}, headers=admin.headers)
    assert [p["code"] for p in ev.json()["items"]] == ["ev-ssl", "ev-multi-domain"]
    wild = await api.get("/v1/products", params={"wildcard": "true"}, headers=admin.headers)
    assert {p["code"] for p in wild.json()["items"]} == {
        "positivessl-wildcard",
        "instantssl-premium-wildcard",
    }
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/v1/products", params=params, headers=admin.headers)).json()
        assert len(page["items"]) <= 3
        seen += [p["code"] for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(PRODUCTS)


async def test_for_an_organization_catalog_routes_and_approval(
    api: httpx.AsyncClient, admin: Actor
) -> None:
    org = await new_org(
        api,
        admin,
        catalog=["positivessl", "instantssl"],
        backend_overrides={"instantssl": "acme"},
        default_terms={"positivessl": 365},
        auto_approve=False,
    )
    answer = await api.get(
        "/v1/products", params={"organization_id": org["id"]}, headers=admin.headers
    )
    by_code = {p["code"]: p["organization"] for p in answer.json()["items"]}
    assert by_code["positivessl"] == {
        "organization_id": org["id"],
        "allowed": True,
        "backend": "acme",
        "backend_configured": False,
        "term_days": 365,
        "approval_required": True,
    }
    assert by_code["instantssl"]["backend"] == "acme"
    assert by_code["ev-ssl"]["allowed"] is False and by_code["ev-ssl"]["backend"] == "scm"
    orderable = await api.get(
        "/v1/products",
        params={"organization_id": org["id"], "orderable": "true"},
        headers=admin.headers,
    )
    assert [p["code"] for p in orderable.json()["items"]] == ["positivessl", "instantssl"]
    one = await api.get(
        "/v1/products/instantssl", params={"organization_id": org["id"]}, headers=admin.headers
    )
    assert one.status_code == 200 and one.json()["organization"]["backend"] == "acme"


async def test_unknown_product_and_another_tenants_organization_are_404(
    runtime: Runtime, api: httpx.AsyncClient, admin: Actor
) -> None:
    missing = await api.get("/v1/products/no-such", headers=admin.headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    org = await new_org(api, admin)
    stranger = await new_actor(runtime, api)
    for path in ("/v1/products", "/v1/products/positivessl"):
        theirs = await api.get(
            path, params={"organization_id": org["id"]}, headers=stranger.headers
        )
        assert theirs.status_code == 404, theirs.text


async def test_readers_may_look(runtime: Runtime, api: httpx.AsyncClient) -> None:
    reader = await new_actor(runtime, api, ["certificates:read"])
    assert (await api.get("/v1/products", headers=reader.headers)).status_code == 200
    nobody = await new_actor(runtime, api, ["domains:write"])
    assert (await api.get("/v1/products", headers=nobody.headers)).status_code == 403
