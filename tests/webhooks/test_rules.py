"""The pure rules of webhooks, without a database: signatures, the URL rules, the retry
schedule, and which certificate changes are events."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from app.certificates.models import CertificateEvent
from app.egress.policy import EgressPolicy
from app.errors import Unprocessable
from app.settings import EgressSettings, WebhookSettings
from app.webhooks.delivery import next_wait
from app.webhooks.lifecycle import certificate_event_types
from app.webhooks.models import EventType
from app.webhooks.signing import headers, new_secret, sign
from tests.webhooks.receiver import Received


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


def test_url_policy() -> None:
    """Addresses are the egress policy's (tests/egress); the webhook's own rules are these."""
    egress = EgressPolicy(EgressSettings())

    def problem(url: str, allow_http: bool = False) -> str | None:
        try:
            egress.check_url(url, field="body.url", kind="webhook", allow_http=allow_http)
        except Unprocessable as exc:
            return exc.detail
        return None

    assert problem("https://hooks.example.com:8443/x?y=1") is None
    assert "must use https" in (problem("http://hooks.example.com/") or "")
    assert problem("http://hooks.example.com/", allow_http=True) is None
    assert "https URL" in (problem("ftp://hooks.example.com/", allow_http=True) or "")
    assert "credentials" in (problem("https://a:b@hooks.example.com/") or "")
    assert problem("https:///nohost") is not None
    assert "loopback" in (problem("https://[::ffff:127.0.0.1]/") or "")


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
