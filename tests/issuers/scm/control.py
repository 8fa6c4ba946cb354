"""Test-side driver of the simulator's /__sandbox control API (faults, settings, counters)."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


class SandboxControl:
    def __init__(self, root_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=f"{root_url.rstrip('/')}/__sandbox", timeout=10)
        self._default_settings: dict[str, Any] | None = None

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.http.request(method, path, json=body)
        response.raise_for_status()
        return response.json() if response.content else None

    async def faults(self, **changes: Any) -> dict:
        return await self._call("PATCH", "/faults", changes)

    async def clear_faults(self) -> None:
        await self._call("DELETE", "/faults")

    async def settings(self, **changes: Any) -> dict:
        if self._default_settings is None:
            self._default_settings = await self._call("GET", "/settings")
        return await self._call("PATCH", "/settings", changes)

    async def restore_settings(self) -> None:
        if self._default_settings is not None:
            await self._call("PATCH", "/settings", self._default_settings)

    async def counters(self) -> dict:
        return await self._call("GET", "/counters")

    async def enrollments_for(self, csr_pem: str) -> int:
        """How many orders the simulator recorded for this CSR's public key."""
        csr = x509.load_pem_x509_csr(csr_pem.encode())
        spki = csr.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        by_key = (await self.counters())["enrollmentsByKey"]
        return by_key.get(hashlib.sha256(spki).hexdigest(), 0)

    async def calls(self, key: str) -> int:
        return (await self.counters())["callsByPath"].get(key, 0)

    async def force_state(self, ssl_id: int, status: str) -> None:
        await self._call("PUT", f"/orders/{ssl_id}/state", {"status": status})

    async def root_pem(self) -> str:
        return (await self.http.get("/ca/root.pem")).text
