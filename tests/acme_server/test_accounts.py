"""EAB credentials, the directory, nonces, strict JWS and accounts: certbot registers with a key
the broker issued; every way to get it wrong is refused with the RFC 8555 problem."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from sqlalchemy import select

from app.acme_server.models import AcmeCredential
from app.audit.models import AuditEvent
from app.issuers.acme.jws import AccountKey, sign_jws
from tests.acme_server.client import JOSE, TinyAcme, problem_type
from tests.acme_server.conftest import AcmeEnv


async def _org_with_key(env: AcmeEnv, **credential: object) -> tuple[dict, dict]:
    org = await env.create_org(allowed_domains=["example.com"], acme=env.acme_settings())
    return org, await env.credential(org["id"], **credential)


async def test_credentials_are_shown_once_stored_sealed_and_revocable(acme_env: AcmeEnv) -> None:
    org, created = await _org_with_key(acme_env, name="k8s", allowed_domains=["team.example.com"])
    assert created["product"] == "positivessl" and created["hmac_key"]
    assert created["directory_url"] == acme_env.directory(org["id"])
    assert org["acme_directory_url"] == acme_env.directory(org["id"])
    listed = await acme_env.http.get(
        f"/v1/organizations/{org['id']}/acme-credentials", headers=acme_env.as_("admin")
    )
    assert listed.status_code == 200 and "hmac_key" not in listed.text
    assert [c["id"] for c in listed.json()["items"]] == [created["id"]]
    async with acme_env.runtime.sessions() as session:
        row = await session.get(AcmeCredential, created["id"])
        assert row is not None and created["hmac_key"] not in row.hmac_key
    refused = await acme_env.http.post(
        f"/v1/organizations/{org['id']}/acme-credentials",
        json={"allowed_domains": ["example.net"]},
        headers=acme_env.as_("admin"),
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "body.allowed_domains.0"
    revoked = await acme_env.http.post(
        f"/v1/organizations/{org['id']}/acme-credentials/{created['id']}/revoke",
        headers=acme_env.as_("admin"),
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    again = await acme_env.http.post(
        f"/v1/organizations/{org['id']}/acme-credentials/{created['id']}/revoke",
        headers=acme_env.as_("admin"),
    )
    assert again.status_code == 409


async def test_certbot_registers_with_the_brokers_eab(acme_env: AcmeEnv, tmp_path: Path) -> None:
    org, key = await _org_with_key(acme_env)
    dirs = [f"--{d}-dir={tmp_path / d}" for d in ("config", "work", "logs")]
    run = await asyncio.to_thread(
        subprocess.run,
        [
            "certbot", "register", "--non-interactive", "--agree-tos", "--no-eff-email",
            "--email", "pki@example.com", "--server", acme_env.directory(org["id"]),
            f"--eab-kid={key['id']}", f"--eab-hmac-key={key['hmac_key']}", *dirs,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    async with acme_env.runtime.sessions() as session:
        events = (
            await session.execute(
                select(AuditEvent).where(
                    AuditEvent.tenant_id == acme_env.tenant_id,
                    AuditEvent.action == "acme.account.create",
                )
            )
        ).scalars()
        assert any(e.detail.get("credential_id") == key["id"] for e in events)


async def test_directory_nonce_and_account_lifecycle(acme_env: AcmeEnv) -> None:
    org, key = await _org_with_key(acme_env)
    client = await TinyAcme(acme_env.http, acme_env.directory(org["id"])).start()
    assert client.directory["meta"]["externalAccountRequired"] is True
    got = await acme_env.http.get(client.directory["newNonce"])
    assert got.status_code == 204 and got.headers["Replay-Nonce"]
    assert got.headers["Cache-Control"] == "no-store"

    lookup = await client.post(
        client.directory["newAccount"], {"onlyReturnExisting": True}, kid=None
    )
    assert lookup.status_code == 400 and problem_type(lookup) == "accountDoesNotExist"
    created = await client.register(key["id"], key["hmac_key"])
    assert created.status_code == 201, created.text
    assert created.headers["Location"].startswith(f"{acme_env.url}/acme/{org['id']}/account/")
    assert f'<{client.directory_url}>;rel="index"' in created.headers["Link"]
    same = await client.post(client.directory["newAccount"], {"onlyReturnExisting": True}, kid=None)
    assert same.status_code == 200 and same.headers["Location"] == client.kid

    updated = await client.post(client.kid, {"contact": ["mailto:team@example.com"]})
    assert updated.json()["contact"] == ["mailto:team@example.com"]

    # keyChange: the old key signs the outer JWS, the new one the inner.
    new_key = AccountKey.generate("rsa2048")
    inner = sign_jws(
        new_key, {"account": client.kid, "oldKey": client.key.jwk}, client.directory["keyChange"]
    )
    changed = await client.post(client.directory["keyChange"], inner)
    assert changed.status_code == 200, changed.text
    stale = await client.post(client.kid, None)
    assert stale.status_code == 400  # the old ES256 key no longer fits the RSA account key
    assert problem_type(stale) == "badSignatureAlgorithm"
    client.key = new_key
    assert (await client.post(client.kid, None)).status_code == 200

    # A key another account holds cannot be taken over: 409 naming that account.
    other = await TinyAcme(acme_env.http, client.directory_url).start()
    assert (await other.register(key["id"], key["hmac_key"])).status_code == 201
    taken = sign_jws(
        other.key, {"account": client.kid, "oldKey": client.key.jwk}, client.directory["keyChange"]
    )
    conflict = await client.post(client.directory["keyChange"], taken)
    assert conflict.status_code == 409 and conflict.headers["Location"] == other.kid

    gone = await client.post(client.kid, {"status": "deactivated"})
    assert gone.json()["status"] == "deactivated"
    after = await client.post(client.kid, None)
    assert after.status_code == 403 and problem_type(after) == "unauthorized"


async def test_every_wrong_request_gets_its_problem(acme_env: AcmeEnv) -> None:
    org, key = await _org_with_key(acme_env)
    client = await TinyAcme(acme_env.http, acme_env.directory(org["id"])).start()
    new_account = client.directory["newAccount"]

    no_eab = await client.post(new_account, {"termsOfServiceAgreed": True}, kid=None)
    assert problem_type(no_eab) == "externalAccountRequired"
    wrong_mac = await client.post(
        new_account,
        {"externalAccountBinding": client.eab(key["id"], "d3JvbmctaG1hYy1rZXktd3Jvbmcta2V5")},
        kid=None,
    )
    assert wrong_mac.status_code == 403 and problem_type(wrong_mac) == "unauthorized"
    other_key = AccountKey.generate()
    not_this_key = await client.post(
        new_account,
        {"externalAccountBinding": client.eab(key["id"], key["hmac_key"], other_key)},
        kid=None,
    )
    assert problem_type(not_this_key) == "unauthorized"
    other_org, other_eab = await _org_with_key(acme_env)
    foreign = await client.post(
        new_account,
        {"externalAccountBinding": client.eab(other_eab["id"], other_eab["hmac_key"])},
        kid=None,
    )
    assert problem_type(foreign) == "unauthorized"

    assert (await client.register(key["id"], key["hmac_key"])).status_code == 201
    nonce = await client.nonce()
    assert (await client.post(client.kid, None, nonce=nonce)).status_code == 200
    replayed = await client.post(client.kid, None, nonce=nonce)
    assert replayed.status_code == 400 and problem_type(replayed) == "badNonce"
    assert replayed.headers["Replay-Nonce"] != nonce
    wrong_url = await client.post(client.kid, None, signed_url=client.kid + "x")
    assert problem_type(wrong_url) == "unauthorized"
    wrong_key = await client.post(client.kid, None, key=other_key)
    assert problem_type(wrong_key) == "malformed"
    # This account's kid, sent to another organization's directory.
    other = await TinyAcme(acme_env.http, acme_env.directory(other_org["id"])).start()
    other.key, other.kid = client.key, client.kid
    crossed = await other.post(other.directory["keyChange"], {})
    assert problem_type(crossed) == "accountDoesNotExist"
    plain_json = await acme_env.http.post(
        client.kid,
        json=sign_jws(client.key, None, client.kid, await client.nonce(), kid=client.kid),
    )
    assert plain_json.status_code == 415
    none_alg = {"protected": "eyJhbGciOiJub25lIn0", "payload": "", "signature": ""}
    refused = await acme_env.http.post(client.kid, json=none_alg, headers=JOSE)
    assert problem_type(refused) == "badSignatureAlgorithm"

    await acme_env.http.post(
        f"/v1/organizations/{org['id']}/acme-credentials/{key['id']}/revoke",
        headers=acme_env.as_("admin"),
    )
    revoked = await client.post(client.kid, None)
    assert revoked.status_code == 403 and problem_type(revoked) == "unauthorized"
    late = await TinyAcme(acme_env.http, acme_env.directory(org["id"])).start()
    refused_late = await late.register(key["id"], key["hmac_key"])
    assert problem_type(refused_late) == "unauthorized"


async def test_an_eab_keys_accounts_share_a_request_budget(acme_env: AcmeEnv) -> None:
    org, key = await _org_with_key(acme_env)
    client = await TinyAcme(acme_env.http, acme_env.directory(org["id"])).start()
    assert (await client.register(key["id"], key["hmac_key"])).status_code == 201
    settings = acme_env.settings.acme_server
    saved, settings.requests_per_minute = settings.requests_per_minute, 3
    try:
        answers = [await client.post(client.kid, None) for _ in range(4)]
    finally:
        settings.requests_per_minute = saved
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    assert answers[3].status_code == 429 and problem_type(answers[3]) == "rateLimited"
    assert int(answers[3].headers["Retry-After"]) >= 1 and answers[3].headers["Replay-Nonce"]
