"""A DnsProvider for pebble-challtestsrv's mock DNS, driven through its management API."""

from __future__ import annotations

from typing import Any

import httpx


class ChallTestSrvDnsProvider:
    """Publishes TXT records in pebble-challtestsrv (`POST /set-txt`, `/clear-txt`).

    For test and benchmark setups with pebble. `/clear-txt` drops every value of the name, not
    just `value`: cleanup only runs once an order's validations are over, so that is harmless.
    Config: {"management_url": "http://127.0.0.1:PORT"}.
    """

    name = "challtestsrv"

    def __init__(self, management_url: str, http: httpx.AsyncClient | None = None) -> None:
        self.management_url = management_url.rstrip("/")
        self._http = http or httpx.AsyncClient(timeout=10.0)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ChallTestSrvDnsProvider:
        return cls(str(config["management_url"]))

    async def present_txt(self, fqdn: str, value: str) -> None:
        await self._post("/set-txt", {"host": fqdn, "value": value})

    async def wait_for_txt(self, fqdn: str, value: str, timeout: float) -> None:  # noqa: ASYNC109
        # The management API answers after the record is in the mock server: nothing to wait for.
        return None

    async def cleanup_txt(self, fqdn: str, value: str) -> None:
        await self._post("/clear-txt", {"host": fqdn})

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _post(self, path: str, body: dict[str, Any]) -> None:
        response = await self._http.post(f"{self.management_url}{path}", json=body)
        response.raise_for_status()
