"""Orders step by step with a precise client (DNS-01 answered in challtestsrv): the resources'
shapes and polling hints, policy refusals per identifier, ARI `replaces` making the new
certificate the old one's renewal, and an organization deleted with its directory's state."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from app.acme_server.ari import cert_id
from app.catalog.products import KeyType
from app.crypto.csr import build_csr
from app.crypto.keys import generate_key
from app.issuers.acme.jws import b64url
from tests.acme_server.client import TinyAcme, problem_type
from tests.acme_server.conftest import AcmeEnv


async def _poll(client: TinyAcme, url: str, until: set[str]) -> dict[str, Any]:
    for _ in range(300):
        answer = await client.post(url, None)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        if body["status"] in until:
            return body
        assert "Retry-After" in answer.headers  # everything a client polls says when to ask again
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} stayed {body['status']}")


async def obtain(
    env: AcmeEnv, client: TinyAcme, name: str, replaces: str | None = None
) -> x509.Certificate:
    payload: dict[str, Any] = {"identifiers": [{"type": "dns", "value": name}]}
    if replaces:
        payload["replaces"] = replaces
    created = await client.post(client.directory["newOrder"], payload)
    assert created.status_code == 201, created.text
    order_url, order = created.headers["Location"], created.json()
    assert order["status"] == "pending"
    early = await client.post(order["finalize"], {"csr": "AA"})
    assert problem_type(early) == "orderNotReady"
    (authz_url,) = order["authorizations"]
    authz = (await client.post(authz_url, None)).json()
    assert authz["identifier"] == {"type": "dns", "value": name}
    (dns01,) = [c for c in authz["challenges"] if c["type"] == "dns-01"]
    key_authorization = client.key.key_authorization(dns01["token"])
    value = b64url(hashlib.sha256(key_authorization.encode()).digest())
    async with httpx.AsyncClient() as http:
        await http.post(
            f"{env.challtestsrv.management_url}/set-txt",
            json={"host": f"_acme-challenge.{name}.", "value": value},
        )
    answered = await client.post(dns01["url"], {})
    assert answered.status_code == 200 and f'<{authz_url}>;rel="up"' in answered.headers["Link"]
    assert (await _poll(client, authz_url, {"valid", "invalid"}))["status"] == "valid"

    key = generate_key(KeyType.EC_P256)
    csr = x509.load_pem_x509_csr(build_csr(key, [name]).encode())
    der = csr.public_bytes(serialization.Encoding.DER)
    finalized = await client.post(order["finalize"], {"csr": b64url(der)})
    assert finalized.status_code == 200, finalized.text
    done = await _poll(client, order_url, {"valid", "invalid"})
    assert done["status"] == "valid", done
    pem = await client.post(done["certificate"], None)
    assert pem.headers["content-type"] == "application/pem-certificate-chain"
    chain = x509.load_pem_x509_certificates(pem.content)
    assert len(chain) >= 2 and chain[0].public_key() == key.public_key()
    return chain[0]


async def test_ari_replaces_makes_the_new_certificate_the_renewal(acme_env: AcmeEnv) -> None:
    org = await acme_env.create_org(allowed_domains=["example.com"], acme=acme_env.acme_settings())
    key = await acme_env.credential(org["id"])
    client = await TinyAcme(acme_env.http, acme_env.directory(org["id"])).start()
    assert (await client.register(key["id"], key["hmac_key"])).status_code == 201
    name = f"ari-{uuid.uuid4().hex[:8]}.example.com"

    first = await obtain(acme_env, client, name)
    second = await obtain(acme_env, client, name, replaces=cert_id(first))

    listed = await acme_env.http.get(
        "/v1/certificates",
        params={"organization_id": org["id"], "name": name},
        headers=acme_env.as_("requester"),
    )
    by_serial = {c["serial"]: c for c in listed.json()["items"]}
    old, new = (
        by_serial[format(first.serial_number, "x")],
        by_serial[format(second.serial_number, "x")],
    )
    assert new["renewal_of"] == old["id"]
    assert old["status"] == "superseded" and old["superseded_by"] == new["id"]
    orders = await client.post(f"{client.kid}/orders", None)
    assert len(orders.json()["orders"]) == 2


async def test_policy_refusals_name_each_identifier(acme_env: AcmeEnv) -> None:
    org = await acme_env.create_org(allowed_domains=["example.com"], acme=acme_env.acme_settings())
    key = await acme_env.credential(org["id"], allowed_domains=["team.example.com"])
    client = await TinyAcme(acme_env.http, acme_env.directory(org["id"])).start()
    assert (await client.register(key["id"], key["hmac_key"])).status_code == 201
    refused = await client.post(
        client.directory["newOrder"],
        {"identifiers": [{"type": "dns", "value": "www.example.org"}]},
    )
    assert problem_type(refused) == "rejectedIdentifier"
    subproblems = refused.json()["subproblems"]
    assert {s["identifier"]["value"] for s in subproblems} == {"www.example.org"}
    assert any("allowed domains" in s["detail"] for s in subproblems)
    other_team = await client.post(
        client.directory["newOrder"],
        {"identifiers": [{"type": "dns", "value": "www.example.com"}]},
    )
    assert problem_type(other_team) == "rejectedIdentifier"
    assert "EAB key's domains" in other_team.json()["detail"]
    wildcard = await client.post(
        client.directory["newOrder"],
        {"identifiers": [{"type": "dns", "value": "*.team.example.com"}]},
    )
    assert "wildcard" in wildcard.json()["detail"]  # PositiveSSL allows none, as in the REST API
    ip = await client.post(
        client.directory["newOrder"], {"identifiers": [{"type": "ip", "value": "192.0.2.1"}]}
    )
    assert problem_type(ip) == "unsupportedIdentifier"


async def test_an_organization_is_deleted_with_its_directory(acme_env: AcmeEnv) -> None:
    org = await acme_env.create_org(allowed_domains=["example.com"], acme=acme_env.acme_settings())
    key = await acme_env.credential(org["id"])
    client = await TinyAcme(acme_env.http, acme_env.directory(org["id"])).start()
    assert (await client.register(key["id"], key["hmac_key"])).status_code == 201
    pending = await client.post(
        client.directory["newOrder"],
        {"identifiers": [{"type": "dns", "value": f"d-{uuid.uuid4().hex[:6]}.example.com"}]},
    )
    assert pending.status_code == 201
    deleted = await acme_env.http.delete(
        f"/v1/organizations/{org['id']}", headers=acme_env.as_("admin")
    )
    assert deleted.status_code == 204, deleted.text
    gone = await acme_env.http.get(client.directory_url)
    assert gone.status_code == 404
