"""The pure lifecycle rules: renewal windows, ARI decisions, expiry thresholds."""

from __future__ import annotations

import datetime as dt

import pytest

from app.issuers.acme.models import RenewalInfo
from app.lifecycle import windows
from app.lifecycle.windows import AriWindow, decide_renewal

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def window(lifetime: dt.timedelta, renew_before_days: int | None = None) -> dt.timedelta:
    return windows.renewal_window(T0, T0 + lifetime, renew_before_days, 30, 1 / 3)


def test_default_window_is_the_larger_of_30_days_and_a_third() -> None:
    assert window(90 * DAY) == 30 * DAY
    assert window(47 * DAY) == 30 * DAY  # renews on day 17 of 47
    assert window(365 * DAY) == 365 * DAY / 3
    assert window(398 * DAY) > 132 * DAY


def test_the_certificates_own_days_win_but_never_beyond_two_thirds_of_the_lifetime() -> None:
    assert window(90 * DAY, renew_before_days=10) == 10 * DAY
    assert window(90 * DAY, renew_before_days=45) == 45 * DAY
    assert window(47 * DAY, renew_before_days=60) == 47 * DAY * 2 / 3
    # A short-lived certificate would be due the moment it is issued, and renew in a loop.
    assert window(dt.timedelta(seconds=120)) == dt.timedelta(seconds=80)


def test_ari_window_in_the_past_renews_even_before_the_own_window() -> None:
    ari = AriWindow(T0 - 2 * DAY, T0 - DAY)
    decision = decide_renewal(T0, T0 + 20 * DAY, ari, "cert-1", DAY)
    assert decision.renew_now and "ARI" in decision.reason


def test_ari_window_later_than_the_own_window_wins() -> None:
    ari = AriWindow(T0 + 10 * DAY, T0 + 12 * DAY)
    decision = decide_renewal(T0, T0 - DAY, ari, "cert-1", 3 * DAY)
    assert not decision.renew_now
    at = ari.renew_at("cert-1")
    assert ari.start <= at <= ari.end
    assert decision.next_check == T0 + 3 * DAY  # asks the CA again before the point


def test_ari_point_is_stable_per_certificate_and_spread_across_certificates() -> None:
    ari = AriWindow(T0, T0 + DAY)
    assert ari.renew_at("a") == ari.renew_at("a")
    points = {ari.renew_at(f"cert-{i}") for i in range(50)}
    assert len(points) > 40 and all(T0 <= p <= T0 + DAY for p in points)
    decision = decide_renewal(ari.renew_at("a"), T0 + 9 * DAY, ari, "a", DAY)
    assert decision.renew_now


def test_ari_retry_after_sets_the_next_look() -> None:
    ari = AriWindow(T0 + 10 * DAY, T0 + 11 * DAY, retry_after=3600)
    decision = decide_renewal(T0, T0 + 20 * DAY, ari, "x", DAY)
    assert decision.next_check == T0 + dt.timedelta(hours=1)


def test_without_ari_the_own_window_decides() -> None:
    assert decide_renewal(T0, T0, None, "x", DAY).renew_now
    later = decide_renewal(T0, T0 + 5 * DAY, None, "x", DAY)
    assert not later.renew_now and later.next_check == T0 + 5 * DAY
    unavailable = decide_renewal(T0, T0 + 5 * DAY, None, "x", DAY, ari_unavailable=True)
    assert unavailable.next_check == T0 + DAY


def test_renewal_info_from_the_acme_client_parses() -> None:
    info = RenewalInfo("2026-01-02T04:00:00.123456789Z", "2026-01-03T04:00:00+02:00", None, 21600)
    ari = AriWindow.parse(info.window_start, info.window_end, info.retry_after)
    assert ari.start == dt.datetime(2026, 1, 2, 4, 0, 0, 123456, tzinfo=dt.UTC)
    assert ari.end == dt.datetime(2026, 1, 3, 2, 0, tzinfo=dt.UTC)
    with pytest.raises(ValueError):
        AriWindow.parse("2026-01-02T04:00:00", "2026-01-03T04:00:00Z")


@pytest.mark.parametrize(
    ("thresholds", "expected"),
    [
        ([30, 14, 7], {30: "info", 14: "warning", 7: "critical", 0: "critical"}),
        ([60, 30, 14, 7], {60: "info", 30: "info", 14: "warning", 7: "critical"}),
        ([30, 7], {30: "warning", 7: "critical"}),
        ([14], {14: "critical"}),
    ],
)
def test_severity_by_threshold(thresholds: list[int], expected: dict[int, str]) -> None:
    assert {t: windows.severity(t, thresholds) for t in expected} == expected


def test_thresholds_cross_once_each_in_order() -> None:
    not_after = T0 + 40 * DAY
    alerted: int | None = None
    fired = []
    now = T0
    while now < not_after + 2 * DAY:
        crossed = windows.crossed_threshold(not_after, [30, 14, 7], alerted, now)
        if crossed is not None:
            fired.append(crossed)
            alerted = crossed
            nxt = windows.next_alert_at(not_after, [30, 14, 7], alerted)
            assert nxt is None or nxt > now
        now += dt.timedelta(hours=5)
    assert fired == [30, 14, 7, windows.EXPIRED]
    assert windows.next_alert_at(not_after, [30, 14, 7], windows.EXPIRED) is None


def test_a_late_check_fires_only_the_most_severe_crossed_threshold() -> None:
    not_after = T0 + 10 * DAY
    assert windows.next_alert_at(not_after, [7, 30, 14, 14, 0], None) == not_after - 30 * DAY
    assert windows.crossed_threshold(not_after, [30, 14, 7], None, T0) == 14
    assert windows.next_alert_at(not_after, [30, 14, 7], 14) == not_after - 7 * DAY
    assert windows.next_alert_at(not_after, [30, 14, 7], 7) == not_after
