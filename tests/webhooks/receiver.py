"""A webhook receiver for tests: a tiny Starlette app on a loopback port that records what
arrives and answers from a per-path script, plus Standard Webhooks verification written from
the specification (independently of app/webhooks), as a consumer would."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def verified(self, secret: str, tolerance: float = 300) -> dict[str, Any]:
        """The JSON payload, if the signature is valid for `secret`; else AssertionError."""
        msg_id = self.headers["webhook-id"]
        timestamp = self.headers["webhook-timestamp"]
        assert abs(time.time() - int(timestamp)) < tolerance, "stale timestamp"
        assert secret.startswith("whsec_")
        key = base64.b64decode(secret[len("whsec_") :])
        signed = f"{msg_id}.{timestamp}.".encode() + self.body
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        offered = [
            part.split(",", 1)[1]
            for part in self.headers["webhook-signature"].split(" ")
            if part.startswith("v1,")
        ]
        assert any(hmac.compare_digest(expected, sig) for sig in offered), "bad signature"
        return json.loads(self.body)


@dataclass
class Receiver:
    base_url: str = ""
    requests: dict[str, list[Received]] = field(default_factory=lambda: defaultdict(list))
    # Status codes to answer on a path, in order; 200 once they run out.
    script: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path}"

    async def handle(self, request: Request) -> Response:
        path = request.path_params["path"]
        body = await request.body()
        async with self._arrived:
            self.requests[path].append(Received(path, dict(request.headers), body))
            self._arrived.notify_all()
        status = self.script[path].pop(0) if self.script[path] else 200
        return Response(status_code=status)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self.handle, methods=["POST"])])

    async def wait_for(self, path: str, count: int = 1, within: float = 15) -> list[Received]:
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: len(self.requests[path]) >= count), within
            )
            return list(self.requests[path])

    async def events(
        self, path: str, secret: str, wanted: set[str], within: float = 20
    ) -> dict[str, dict[str, Any]]:
        """Wait until every type in `wanted` has arrived on `path`; verified payloads by type."""
        deadline = time.monotonic() + within
        while True:
            got = {}
            for item in self.requests[path]:
                payload = item.verified(secret)
                got.setdefault(payload["type"], payload)
            if wanted <= got.keys():
                return got
            left = deadline - time.monotonic()
            assert left > 0, f"only {sorted(got)} arrived, wanted {sorted(wanted)}"
            await asyncio.sleep(0.05)
