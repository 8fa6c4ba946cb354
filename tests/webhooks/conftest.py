"""Webhook tests run against the real API, worker and a local receiver on 127.0.0.1, which the
suite's egress settings allow (`TEST_EGRESS`); `webhook_policy` allows http and shortens
retries per test."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import uvicorn

from app.settings import Settings, WebhookSettings
from tests.fixtures.e2e import Tenant
from tests.webhooks.receiver import Receiver

TEST_POLICY = WebhookSettings(
    allow_http=True,
    timeout_seconds=5,
    retry_schedule_seconds=[0.3, 0.6],
    retry_window_seconds=60,
)


@pytest.fixture
def webhook_policy(settings: Settings) -> Iterator[WebhookSettings]:
    """The policy the API and the worker read (they share `settings`); tests may change it."""
    before = settings.webhooks
    settings.webhooks = TEST_POLICY.model_copy(deep=True)
    yield settings.webhooks
    settings.webhooks = before


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
async def receiver() -> AsyncIterator[Receiver]:
    port = _free_port()
    hooks = Receiver(base_url=f"http://127.0.0.1:{port}")
    server = uvicorn.Server(
        uvicorn.Config(hooks.app(), host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield hooks
    server.should_exit = True
    await task


async def create_webhook(
    tenant: Tenant, receiver: Receiver, event_types: list[str], **body: Any
) -> tuple[dict[str, Any], str]:
    """A webhook on a fresh receiver path: (the answer, the path)."""
    path = uuid.uuid4().hex
    body = {"url": receiver.url(path), "event_types": event_types, **body}
    answer = await tenant.http.post("/v1/webhooks", json=body, headers=tenant.as_("admin"))
    assert answer.status_code == 201, answer.text
    return answer.json(), path


async def deliveries(tenant: Tenant, webhook_id: str) -> list[dict[str, Any]]:
    answer = await tenant.http.get(
        f"/v1/webhooks/{webhook_id}/deliveries", headers=tenant.as_("admin")
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


async def wait_for_delivery(
    tenant: Tenant, webhook_id: str, delivery_id: str, within: float = 15
) -> dict[str, Any]:
    """The delivery once it is no longer pending."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        found = {d["id"]: d for d in await deliveries(tenant, webhook_id)}
        if found[delivery_id]["status"] != "pending":
            return found[delivery_id]
        assert asyncio.get_running_loop().time() < deadline, found[delivery_id]
        await asyncio.sleep(0.1)
