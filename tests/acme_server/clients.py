"""Running Debian's lego and certbot against the broker's directory (unmodified clients)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from tests.acme_server.conftest import AcmeEnv

# DNS-01 for both clients: a hook that puts the TXT record into challtestsrv, the DNS every
# lookup of this environment (the broker's and pebble's) goes to.
TXT_HOOK = """#!{python}
import json, os, sys, urllib.request
mgmt = {mgmt!r}
if "CERTBOT_DOMAIN" in os.environ:  # certbot --manual-auth-hook / --manual-cleanup-hook
    action = "cleanup" if os.environ.get("CERTBOT_AUTH_OUTPUT") is not None else "present"
    fqdn = "_acme-challenge." + os.environ["CERTBOT_DOMAIN"] + "."
    value = os.environ["CERTBOT_VALIDATION"]
else:  # lego's exec provider: present|cleanup FQDN VALUE
    action, fqdn, value = sys.argv[1], sys.argv[2], sys.argv[3]
if action == "present":
    body = {{"host": fqdn, "value": value}}
    urllib.request.urlopen(urllib.request.Request(
        mgmt + "/set-txt", json.dumps(body).encode(), {{"Content-Type": "application/json"}}))
"""


def txt_hook(env: AcmeEnv, workdir: Path) -> Path:
    hook = workdir / "txt-hook.py"
    hook.write_text(TXT_HOOK.format(python=sys.executable, mgmt=env.challtestsrv.management_url))
    hook.chmod(0o755)
    return hook


async def run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return await asyncio.to_thread(
        subprocess.run,
        args,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


async def lego(
    env: AcmeEnv,
    org_id: str,
    key: dict,
    workdir: Path,
    domains: list[str],
    *,
    dns: bool = False,
    command: list[str] | None = None,
) -> subprocess.CompletedProcess:
    args = [
        "lego", "--server", env.directory(org_id), "--eab", "--kid", key["id"],
        f"--hmac={key['hmac_key']}", "--email", "pki@example.com", "--accept-tos",
        "--path", str(workdir / "lego"),
    ]  # fmt: skip
    for domain in domains:
        args += ["--domains", domain]
    extra: dict[str, str] = {}
    if dns:
        args += ["--dns", "exec", "--dns.disable-cp"]
        extra = {
            "EXEC_PATH": str(txt_hook(env, workdir)),
            "EXEC_POLLING_INTERVAL": "1",
            "EXEC_PROPAGATION_TIMEOUT": "30",
        }
    else:
        args += ["--http", "--http.port", f"127.0.0.1:{env.http01_port}"]
    return await run([*args, *(command or ["run"])], extra)


async def certbot(
    env: AcmeEnv,
    org_id: str,
    key: dict,
    workdir: Path,
    command: list[str],
) -> subprocess.CompletedProcess:
    dirs = [f"--{d}-dir={workdir / 'certbot' / d}" for d in ("config", "work", "logs")]
    args = [
        "certbot", *command, "--non-interactive", "--agree-tos", "--no-eff-email",
        "--email", "pki@example.com", "--server", env.directory(org_id),
        f"--eab-kid={key['id']}", f"--eab-hmac-key={key['hmac_key']}", *dirs,
    ]  # fmt: skip
    return await run(args)
