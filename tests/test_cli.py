"""The `certbroker` command as an operator runs it: migrate, tenants, clients, openapi."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def certbroker(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# Several interpreter start-ups in a row: slow on a loaded two-core machine, not stuck.
@pytest.mark.timeout(300)
def test_operator_commands(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CERTBROKER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "CERTBROKER_LOG_LEVEL": "WARNING",
    }
    migrated = certbroker("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert "database migrated to head" in migrated.stdout

    tenant = certbroker("tenants", "create", "Payments", env=env)
    assert tenant.returncode == 0, tenant.stderr
    tenant_id = json.loads(tenant.stdout)["id"]

    client = certbroker(
        "clients",
        "create",
        "--tenant",
        tenant_id,
        "--name",
        "deployer",
        "--scopes",
        "certificates:read",
        "certificates:write",
        env=env,
    )
    assert client.returncode == 0, client.stderr
    created = json.loads(client.stdout)
    assert created["client_id"].startswith("cb_") and len(created["client_secret"]) >= 32
    assert "shown once" in client.stderr

    by_slug = certbroker(
        "clients",
        "create",
        "--tenant",
        "payments",
        "--name",
        "ci",
        "--scopes",
        "certificates:read",
        env=env,
    )
    assert by_slug.returncode == 0, by_slug.stderr
    unknown = certbroker(
        "clients",
        "create",
        "--tenant",
        "nope",
        "--name",
        "x",
        "--scopes",
        "certificates:read",
        env=env,
    )
    assert unknown.returncode != 0 and "no tenant 'nope'" in unknown.stderr

    spec_dir = tmp_path / "spec"
    written = certbroker("openapi", "--out", str(spec_dir), env=env)
    assert written.returncode == 0, written.stderr
    assert json.loads((spec_dir / "openapi.json").read_text())["info"]["title"] == "Certbroker"
    assert (spec_dir / "openapi.yaml").read_text().startswith("openapi:")

    rotated = certbroker("signing-keys", "rotate", env=env)
    assert rotated.returncode == 0 and rotated.stdout.startswith("new signing key "), rotated.stderr

    # Rotate the data key: list the new key beside the old one, make it active, re-encrypt.
    new_key = base64.b64encode(os.urandom(32)).decode()
    from app.settings import DEV_DATA_KEY

    rotated_env = {
        **env,
        "CERTBROKER_DATA_KEYS": json.dumps({"dev": DEV_DATA_KEY, "2026-11": new_key}),
        "CERTBROKER_DATA_KEY_ID": "2026-11",
    }
    reencrypted = certbroker("secrets", "reencrypt", env=rotated_env)
    assert reencrypted.returncode == 0, reencrypted.stderr
    assert "signing_key.private_key_encrypted: 1 re-encrypted" in reencrypted.stdout
    # Nothing is left under the old key: with only the new key configured, a second run
    # finds nothing to move (it would fail to decrypt anything still sealed under "dev").
    only_new = {
        **env,
        "CERTBROKER_DATA_KEYS": json.dumps({"2026-11": new_key}),
        "CERTBROKER_DATA_KEY_ID": "2026-11",
    }
    again = certbroker("secrets", "reencrypt", env=only_new)
    assert again.returncode == 0, again.stderr
    assert " 1 re-encrypted" not in again.stdout
