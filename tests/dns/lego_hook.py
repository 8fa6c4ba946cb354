"""lego's `exec` DNS hook (EXEC_MODE=RAW) backed by a Certbroker DnsProvider, for end-to-end tests.

lego calls `<hook> present|cleanup -- <domain> <token> <keyAuth>`; the provider to use comes as
JSON {"provider": NAME, "config": {...}} in CERTBROKER_DNS_HOOK.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import sys

from app.dns.registry import default_dns_registry


def challenge_record(domain: str, key_authorization: str) -> tuple[str, str]:
    """RFC 8555 §8.4: the TXT owner and value for a dns-01 key authorization."""
    bare = domain.removeprefix("*.").rstrip(".")
    digest = hashlib.sha256(key_authorization.encode()).digest()
    return f"_acme-challenge.{bare}.", base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def main(argv: list[str]) -> None:
    action, _, domain, _token, key_authorization = argv
    spec = json.loads(os.environ["CERTBROKER_DNS_HOOK"])
    provider = default_dns_registry().create(spec["provider"], spec["config"])
    fqdn, value = challenge_record(domain, key_authorization)
    if action == "present":
        await provider.present_txt(fqdn, value)
        await provider.wait_for_txt(fqdn, value, timeout=10)
    elif action == "cleanup":
        await provider.cleanup_txt(fqdn, value)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
