"""One delivery attempt (sign, send through the pinned client, judge the answer) and the retry
schedule between attempts."""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass

import httpx

from app.settings import WebhookSettings
from app.webhooks import signing
from app.webhooks.models import WebhookEvent

USER_AGENT = "Certbroker-Webhooks/1.0"


@dataclass(frozen=True, slots=True)
class Attempt:
    status_code: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def body_of(record: WebhookEvent) -> bytes:
    return json.dumps(record.payload(), separators=(",", ":"), ensure_ascii=False).encode()


async def send(
    http: httpx.AsyncClient,
    url: str,
    secret: str,
    record: WebhookEvent,
    timeout_seconds: float,
) -> Attempt:
    """POST the signed event. `http` is the runtime's pinned client: it connects only to an
    address the egress policy has just checked (raising `EgressRefused` otherwise)."""
    body = body_of(record)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **signing.headers(secret, record.id, int(time.time()), body),
    }
    request = http.build_request(
        "POST", url, content=body, headers=headers, timeout=httpx.Timeout(timeout_seconds)
    )
    try:
        response = await http.send(request, follow_redirects=False, stream=True)
    except httpx.TimeoutException:
        return Attempt(error=f"no answer within {timeout_seconds:g} s")
    except httpx.HTTPError as exc:
        return Attempt(error=f"{type(exc).__name__}: {exc}"[:1000])
    await response.aclose()  # the body is not ours to read (nor to hold in memory)
    code = response.status_code
    if 200 <= code < 300:
        return Attempt(status_code=code)
    if response.is_redirect:
        return Attempt(code, f"HTTP {code}: redirects are not followed")
    return Attempt(code, f"HTTP {code}")


def next_wait(
    failed_attempts: int, first_attempt_at: dt.datetime, now: dt.datetime, policy: WebhookSettings
) -> float | None:
    """Seconds until the next attempt, or None once the retry window is over. The last
    attempt falls on the end of the window."""
    left = (first_attempt_at - now).total_seconds() + policy.retry_window_seconds
    if left <= 0:
        return None
    schedule = policy.retry_schedule_seconds
    return min(schedule[min(failed_attempts, len(schedule)) - 1], left)
