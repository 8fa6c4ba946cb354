"""The pure rules of webhooks, without a database: signatures, the URL policy, the retry
schedule, and which certificate changes are events."""

from __future__ import annotations

import datetime as dt
import ipaddress
import time

import pytest

from app.certificates.models import CertificateEvent
from app.settings import WebhookSettings
from app.webhooks.delivery import next_wait
from app.webhooks.lifecycle import certificate_event_types
from app.webhooks.models import EventType
from app.webhooks.signing import headers, new_secret, sign
from app.webhooks.targets import address_problem, url_problem
from tests.webhooks.receiver import Received

STRICT = WebhookSettings()
OPEN = WebhookSettings(allow_http=True, allow_private_networks=True)


def test_signature_matches_the_standard_webhooks_test_vector() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    signature = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_receivers_verification_accepts_what_the_broker_signs() -> None:
    secret, body = new_secret(), b'{"type":"ping"}'
    sent = headers(secret, "msg_1", int(time.time()), body)
    assert Received("p", sent, body).verified(secret) == {"type": "ping"}
    with pytest.raises(AssertionError):
        Received("p", sent, body).verified(new_secret())


@pytest.mark.parametrize(
    ("address", "strict", "open_"),
    [
        ("93.184.216.34", None, None),
        ("2606:2800:220:1::1", None, None),
        ("127.0.0.1", "a loopback address", None),
        ("::1", "a loopback address", None),
        ("::ffff:127.0.0.1", "a loopback address", None),
        ("10.0.0.1", "a private address", None),
        ("192.168.1.1", "a private address", None),
        ("100.64.0.1", "not a public address", None),  # carrier-grade NAT
        ("fc00::1", "a private address", None),
        ("169.254.10.1", "a link-local address", None),
        ("169.254.169.254", "a cloud metadata address", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address", "a cloud metadata address"),
        ("0.0.0.0", "not a unicast address", "not a unicast address"),
        ("224.0.0.1", "not a unicast address", "not a unicast address"),
    ],
)
def test_address_policy(address: str, strict: str | None, open_: str | None) -> None:
    ip = ipaddress.ip_address(address)
    assert address_problem(ip, STRICT) == strict
    assert address_problem(ip, OPEN) == open_


def test_url_policy() -> None:
    assert url_problem("https://hooks.example.com/x?y=1", STRICT) is None
    assert url_problem("http://hooks.example.com/", STRICT) == "must use https"
    assert url_problem("http://hooks.example.com/", OPEN) is None
    assert url_problem("ftp://hooks.example.com/", OPEN) == "must be https or http"
    assert "credentials" in (url_problem("https://a:b@hooks.example.com/", STRICT) or "")
    assert url_problem("https:///nohost", STRICT) == "has no host"


def test_retries_follow_the_schedule_until_the_window_closes() -> None:
    policy = WebhookSettings(retry_schedule_seconds=[5, 30, 120], retry_window_seconds=600)
    first = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    waits = [
        next_wait(n, first, first + dt.timedelta(seconds=s), policy)
        for n, s in [(1, 0), (2, 5), (3, 35), (4, 155), (5, 275), (6, 395), (7, 515), (8, 600)]
    ]
    # The last wait repeats, the final attempt lands on the end of the window, then none.
    assert waits == [5, 30, 120, 120, 120, 120, 85, None]
    default = WebhookSettings()
    assert default.retry_schedule_seconds[:6] == [5, 30, 120, 600, 1800, 3600]
    assert default.retry_window_seconds == 86400


def _change(from_status: str | None, to_status: str, **detail: str) -> CertificateEvent:
    return CertificateEvent(
        tenant_id="t",
        certificate_id="c",
        from_status=from_status,
        to_status=to_status,
        actor="a",
        message="m",
        detail=detail,
    )


def test_certificate_changes_map_to_events() -> None:
    E = EventType
    assert certificate_event_types(_change(None, "submitted"), False) == [E.CERTIFICATE_REQUESTED]
    approved = _change("pending_approval", "pending_approval", approval_id="x")
    assert certificate_event_types(approved, False) == [E.CERTIFICATE_APPROVED]
    assert certificate_event_types(_change("issued", "issued"), False) == []  # a note
    assert certificate_event_types(_change("submitted", "issued"), False) == [E.CERTIFICATE_ISSUED]
    assert certificate_event_types(_change("submitted", "issued"), True) == [
        E.CERTIFICATE_ISSUED,
        E.CERTIFICATE_RENEWED,
    ]
    assert certificate_event_types(_change("submitted", "failed"), False) == [E.CERTIFICATE_FAILED]
    assert certificate_event_types(_change("pending_approval", "rejected"), False) == [
        E.CERTIFICATE_REJECTED
    ]
    assert certificate_event_types(_change("issued", "revoked"), False) == [E.CERTIFICATE_REVOKED]
    assert certificate_event_types(_change("submitted", "pending_validation"), False) == []
    assert certificate_event_types(_change("issued", "superseded"), False) == []
