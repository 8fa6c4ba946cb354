"""Fault injection: latency, 5xx and 429 answers, dropped connections, and ambiguous enrolls."""

from __future__ import annotations

import asyncio
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ENROLL_PATH = "/ssl/v1/enroll"


class FaultRule(BaseModel):
    """Deterministic: the next `count` calls whose API path starts with `path` fail this way."""

    model_config = ConfigDict(extra="forbid")  # a misspelt knob must not silently do nothing

    path: str
    method: str | None = None
    count: int = Field(1, ge=0)
    status: int = 503  # ignored when drop is set
    drop: bool = False  # close the socket without an answer instead of answering `status`
    after: bool = False  # let the request take effect first (an ambiguous outcome)
    retry_after: int | None = None  # Retry-After header, e.g. with 429
    # The SCM error body: e.g. 400 with code -195 "CA unavailable, retry later".
    code: int = -1
    description: str | None = None

    def matches(self, method: str, api_path: str) -> bool:
        return (
            self.count > 0
            and api_path.startswith(self.path)
            and (self.method is None or self.method.upper() == method)
        )


class Faults(BaseModel):
    """Set with PUT /__sandbox/faults (replace) or PATCH (merge), or from the command line."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: int = Field(0, ge=0)
    error_rate: float = Field(0.0, ge=0, le=1)  # share of calls answered with error_status
    error_status: int = 503
    rate_limit_rate: float = Field(0.0, ge=0, le=1)  # share of calls answered 429
    retry_after_seconds: int = 1
    drop_rate: float = Field(0.0, ge=0, le=1)  # share of calls whose connection is dropped
    # The next N enrolls are recorded (order created, counters bumped) and then the client gets
    # no usable answer: the connection is dropped ("drop") or a 502 comes back ("502").
    drop_after_enroll_count: int = Field(0, ge=0)
    drop_after_enroll_mode: Literal["drop", "502"] = "drop"
    stuck_in_applied: bool = False  # orders reaching Applied stay there
    paths: list[str] = Field(default_factory=list)  # limit rate faults to these path prefixes
    rules: list[FaultRule] = Field(default_factory=list)

    def targets(self, api_path: str) -> bool:
        return not self.paths or any(api_path.startswith(prefix) for prefix in self.paths)

    def take_rule(self, method: str, api_path: str) -> FaultRule | None:
        for rule in self.rules:
            if rule.matches(method, api_path):
                rule.count -= 1
                return rule
        return None


def api_path(path: str) -> str | None:
    """The service-relative path (/ssl/v1/...) of an SCM call, or None for non-SCM paths."""
    for prefix in ("/private/api", "/api"):
        if path.startswith(prefix + "/"):
            return path[len(prefix) :]
    if path.startswith("/auth/"):
        return path
    return None


async def send_status(
    send,
    status: int,
    retry_after: int | None = None,
    code: int = -1,
    description: str | None = None,
) -> None:
    text = description or f"Injected fault: HTTP {status}"
    body = json.dumps({"code": code, "description": text}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def drop_connection(receive, send) -> None:
    """Close the TCP connection without a byte of answer.

    uvicorn hands the app no socket, but its `receive` is a bound method of the request cycle,
    which holds the transport. Closing it and yielding lets uvicorn notice the disconnect, so it
    does not try to write its own 500. Without uvicorn (in-process tests) a 502 stands in.
    """
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is None:
        await send_status(send, 502)
        return
    transport.close()
    for _ in range(5):
        await asyncio.sleep(0)


async def swallow(_message) -> None:
    """A `send` that discards the answer of a request whose reply is replaced by a fault."""
