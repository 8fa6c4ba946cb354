"""Data-key rotation: every registered encrypted column moves to the new key and still decrypts."""

from __future__ import annotations

import os
from pathlib import Path

from sqlmodel import SQLModel

from app.crypto.rotation import ENCRYPTED_COLUMNS, reencrypt_all
from app.crypto.secretbox import SecretBox
from app.db import create_engine, session_factory, session_scope
from app.egress.policy import EgressPolicy
from app.models import import_all_models
from app.organizations.models import Organization
from app.organizations.schemas import OrganizationCreate
from app.organizations.service import create_organization
from app.settings import EgressSettings
from app.tenants.service import create_tenant
from tests.fixtures.app import TEST_EGRESS


def test_every_secret_column_is_registered() -> None:
    import_all_models()
    names = {spec.name for spec in ENCRYPTED_COLUMNS}
    assert {
        "organization.scm_secret",
        "organization.acme_eab_secret",
        "organization.dns_secret",
        "certificate.private_key",
        "acme_account_key.key_pem",
        "signing_key.private_key_encrypted",
        "webhook_subscription.secret",
    } <= names


async def test_reencrypt_moves_values_to_the_active_key(tmp_path: Path) -> None:
    """On a database of its own: rotating re-seals every stored secret, which the shared test
    database's background worker must not see half-way."""
    import_all_models()
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'rotation.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    sessions = session_factory(engine)
    old_key, new_key = os.urandom(32), os.urandom(32)
    old = SecretBox({"old": old_key}, "old")
    egress = EgressPolicy(EgressSettings(**TEST_EGRESS))  # the body's SCM is on 127.0.0.1
    body = OrganizationCreate(
        name="rotation",
        allowed_domains=["example.com"],
        scm={
            "base_url": "http://127.0.0.1:9/api",
            "login": "l",
            "password": "rotate-me",
            "customer_uri": "c",
            "org_id": 1,
        },
        dns={
            "provider": "rfc2136",
            "server": "127.0.0.1",
            "tsig_key_name": "k.",
            "tsig_secret": "abc=",
        },
    )
    async with session_scope(sessions) as session:
        tenant = await create_tenant(session, "rotation")
        org = await create_organization(session, tenant.id, body, old, egress)
        org_id = org.id

    rotated = SecretBox({"old": old_key, "new": new_key}, "new")
    async with session_scope(sessions) as session:
        counts = await reencrypt_all(session, rotated)
    assert counts["organization.scm_secret"] == 1 and counts["organization.dns_secret"] == 1
    async with session_scope(sessions) as session:
        org = await session.get(Organization, org_id)
        assert org is not None and org.scm_secret and org.scm_secret.startswith("v1:new:")
        assert rotated.decrypt_str(org.scm_secret, context=f"org:{org.id}:scm") == "rotate-me"
        # Nothing is left under the old key: it can be dropped, and a second run is a no-op.
        assert set((await reencrypt_all(session, rotated)).values()) == {0}
    new_only = SecretBox({"new": new_key}, "new")
    async with session_scope(sessions) as session:
        org = await session.get(Organization, org_id)
        assert org is not None and org.dns_secret
        assert "abc=" in new_only.decrypt_str(org.dns_secret, context=f"org:{org.id}:dns")
    await engine.dispose()
