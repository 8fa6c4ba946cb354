"""Deliveries end to end: the API stages them, the worker signs and sends them to a local
receiver, which verifies every signature as a consumer would."""

from __future__ import annotations

import logging

import pytest

from app.settings import EgressSettings, WebhookSettings
from tests.fixtures.e2e import Tenant, create_org, scm_settings, wait_for_status
from tests.fixtures.egress import EgressNames
from tests.fixtures.scm_sandbox import ScmSandbox
from tests.webhooks.conftest import create_webhook, deliveries, wait_for_delivery
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.usefixtures("webhook_policy")


async def ping(tenant: Tenant, webhook_id: str) -> dict:
    answer = await tenant.http.post(f"/v1/webhooks/{webhook_id}/test", headers=tenant.as_("admin"))
    assert answer.status_code == 202, answer.text
    return answer.json()


async def test_a_ping_arrives_signed_and_is_logged(
    tenant: Tenant, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    webhook, path = await create_webhook(tenant, receiver, ["certificate.issued"])
    queued = await ping(tenant, webhook["id"])
    assert queued["status"] == "pending" and queued["payload"]["type"] == "ping"

    (arrived,) = await receiver.wait_for(path)
    payload = arrived.verified(webhook["secret"])
    assert payload["type"] == "ping" and payload["data"] == {"webhook_id": webhook["id"]}
    assert arrived.headers["webhook-id"] == queued["event_id"]
    assert arrived.headers["content-type"] == "application/json"
    tampered = type(arrived)(path, arrived.headers, arrived.body.replace(b"ping", b"pong"))
    with pytest.raises(AssertionError, match="bad signature"):
        tampered.verified(webhook["secret"])

    done = await wait_for_delivery(tenant, webhook["id"], queued["id"])
    assert done["status"] == "succeeded" and done["attempts"] == 1
    assert done["last_status_code"] == 200 and done["last_error"] is None
    assert done["payload"] == payload and done["completed_at"] is not None
    secret_part = webhook["secret"].removeprefix("whsec_")
    signature = arrived.headers["webhook-signature"].removeprefix("v1,")
    assert secret_part not in caplog.text and signature not in caplog.text
    assert "webhook delivered" in caplog.text


@pytest.mark.usefixtures("app_resolves_bind_names")
async def test_a_host_name_is_resolved_checked_and_pinned(
    tenant: Tenant, receiver: Receiver, egress_names: EgressNames
) -> None:
    port = receiver.base_url.rsplit(":", 1)[1]
    webhook, path = await create_webhook(tenant, receiver, ["certificate.issued"])
    name = await egress_names.name_for(["127.0.0.1"], "hooks")
    named = f"http://{name}:{port}/{path}"
    changed = await tenant.http.patch(
        f"/v1/webhooks/{webhook['id']}", json={"url": named}, headers=tenant.as_("admin")
    )
    assert changed.status_code == 200, changed.text
    queued = await ping(tenant, webhook["id"])
    (arrived,) = await receiver.wait_for(path)
    # Sent to the checked address of the name, still addressed to the name.
    assert arrived.headers["host"] == f"{name}:{port}"
    arrived.verified(webhook["secret"])
    done = await wait_for_delivery(tenant, webhook["id"], queued["id"])
    assert done["status"] == "succeeded"


async def test_a_failed_attempt_is_retried_then_redelivered(
    tenant: Tenant, receiver: Receiver
) -> None:
    webhook, path = await create_webhook(tenant, receiver, ["certificate.issued"])
    receiver.script[path] = [500]
    queued = await ping(tenant, webhook["id"])

    first, second = await receiver.wait_for(path, count=2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == queued["event_id"]
    assert first.verified(webhook["secret"]) == second.verified(webhook["secret"])
    done = await wait_for_delivery(tenant, webhook["id"], queued["id"])
    assert done["status"] == "succeeded" and done["attempts"] == 2
    assert done["first_attempt_at"] < done["last_attempt_at"]

    again = await tenant.http.post(
        f"/v1/webhooks/deliveries/{queued['id']}/redeliver", headers=tenant.as_("admin")
    )
    assert again.status_code == 202, again.text
    assert again.json()["redelivery_of"] == queued["id"]
    third = (await receiver.wait_for(path, count=3))[2]
    assert third.headers["webhook-id"] == queued["event_id"]
    third.verified(webhook["secret"])
    redone = await wait_for_delivery(tenant, webhook["id"], again.json()["id"])
    assert redone["status"] == "succeeded"
    log = await deliveries(tenant, webhook["id"])
    assert [d["id"] for d in log] == [again.json()["id"], queued["id"]]


async def test_a_receiver_that_never_answers_2xx_is_given_up_after_the_window(
    tenant: Tenant, receiver: Receiver, webhook_policy: WebhookSettings
) -> None:
    webhook_policy.retry_window_seconds = 1.0
    webhook, path = await create_webhook(tenant, receiver, ["certificate.issued"])
    receiver.script[path] = [503] * 20
    queued = await ping(tenant, webhook["id"])
    done = await wait_for_delivery(tenant, webhook["id"], queued["id"])
    assert done["status"] == "failed"
    assert done["last_status_code"] == 503 and done["last_error"] == "HTTP 503"
    assert done["attempts"] == len(receiver.requests[path]) >= 2


async def test_a_url_blocked_at_delivery_time_is_not_contacted(
    tenant: Tenant, receiver: Receiver, egress_settings: EgressSettings
) -> None:
    webhook, path = await create_webhook(tenant, receiver, ["certificate.issued"])
    # The deployment closes the receiver's address after the webhook was registered (the
    # same check catches a name that now resolves elsewhere: tests/egress/test_webhooks.py).
    egress_settings.allowed_networks = []
    queued = await ping(tenant, webhook["id"])
    done = await wait_for_delivery(tenant, webhook["id"], queued["id"])
    assert done["status"] == "failed" and done["attempts"] == 1
    assert done["last_error"].startswith("refused: 127.0.0.1 is a loopback address")
    assert "CERTBROKER_EGRESS__ALLOWED_NETWORKS" in done["last_error"]  # what would allow it
    assert done["last_status_code"] is None
    assert receiver.requests[path] == []


async def test_an_issued_certificate_sends_its_events(
    tenant: Tenant, receiver: Receiver, scm_sandbox: ScmSandbox
) -> None:
    webhook, path = await create_webhook(
        tenant,
        receiver,
        ["certificate.requested", "certificate.issued", "certificate.renewed", "domain.validated"],
    )
    org = await create_org(tenant, allowed_domains=["example.com"], scm=scm_settings(scm_sandbox))
    order = {
        "organization_id": org["id"],
        "product": "instantssl",
        "common_name": "hook-e2e.example.com",
        "key": {"type": "EC-P256"},
    }
    answer = await tenant.http.post("/v1/certificates", json=order, headers=tenant.as_("requester"))
    assert answer.status_code == 202, answer.text
    cert = await wait_for_status(tenant, answer.json()["id"], {"issued", "failed"})
    assert cert["status"] == "issued", cert

    got = await receiver.events(
        path, webhook["secret"], {"certificate.requested", "certificate.issued", "domain.validated"}
    )
    requested = got["certificate.requested"]["data"]
    issued = got["certificate.issued"]["data"]
    assert requested["certificate"]["id"] == issued["certificate"]["id"] == cert["id"]
    assert requested["from_status"] is None
    assert issued["to_status"] == "issued"
    assert issued["certificate"]["serial"] == cert["serial"]
    assert issued["certificate"]["names"] == ["hook-e2e.example.com"]
    assert "certificate.renewed" not in got  # not a renewal
    # A fresh organization had to validate its domain at SCM first.
    domain = got["domain.validated"]["data"]["domain"]
    assert domain["name"] == "example.com" and domain["status"] == "validated"
    assert got["domain.validated"]["data"]["validation"]["status"] == "validated"
    log = await deliveries(tenant, webhook["id"])
    assert {d["event_type"] for d in log} == {
        "certificate.requested",
        "certificate.issued",
        "domain.validated",
    }


async def test_approvals_send_pending_and_approved(
    tenant: Tenant, receiver: Receiver, scm_sandbox: ScmSandbox
) -> None:
    webhook, path = await create_webhook(
        tenant, receiver, ["approval.pending", "certificate.approved"]
    )
    org = await create_org(
        tenant,
        allowed_domains=["example.com"],
        scm=scm_settings(scm_sandbox),
        approvers={"EV": [tenant.ids["approver"]]},
    )
    order = {
        "organization_id": org["id"],
        "product": "ev-ssl",
        "common_name": "ev-hook.example.com",
    }
    answer = await tenant.http.post("/v1/certificates", json=order, headers=tenant.as_("requester"))
    assert answer.status_code == 202, answer.text
    got = await receiver.events(path, webhook["secret"], {"approval.pending"})
    approval = got["approval.pending"]["data"]["approval"]
    assert approval["certificate_id"] == answer.json()["id"]
    assert approval["status"] == "pending"
    decided = await tenant.http.post(
        f"/v1/approvals/{approval['id']}/approve", json={}, headers=tenant.as_("approver")
    )
    assert decided.status_code == 200, decided.text
    got = await receiver.events(path, webhook["secret"], {"certificate.approved"})
    approved = got["certificate.approved"]["data"]
    assert approved["certificate"]["id"] == answer.json()["id"]
    assert approved["actor"] == tenant.ids["approver"]
