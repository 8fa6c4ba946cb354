"""Pure lifecycle rules, no I/O: when a certificate renews, what an ARI window means, which
expiry threshold comes next and how severe it is.

Renewal window: a certificate's own `renew_before_days` wins when set. Otherwise the window is
the larger of the deployment's `renew_before_days` (30) and `renew_share` (a third) of the
lifetime, so a 90-day certificate renews 30 days before expiry and a 47-day one 30 days before
(day 17). Either way the window is capped at two thirds of the lifetime: a certificate shorter
than its window would otherwise be due again the moment it is issued, and renew in a loop.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

MAX_WINDOW_SHARE = 2 / 3
EXPIRED = 0  # `alerted_threshold` / alert threshold once the certificate has expired


def renewal_window(
    not_before: dt.datetime,
    not_after: dt.datetime,
    renew_before_days: int | None,
    default_days: int,
    default_share: float,
) -> dt.timedelta:
    lifetime = max(not_after - not_before, dt.timedelta(0))
    if renew_before_days is not None:
        window = dt.timedelta(days=renew_before_days)
    else:
        window = max(dt.timedelta(days=default_days), lifetime * default_share)
    return min(window, lifetime * MAX_WINDOW_SHARE)


def parse_rfc3339(value: str) -> dt.datetime:
    """RFC 3339 as CAs write it: `Z` or an offset, up to nanoseconds (Python keeps micro)."""
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip()).replace("z", "Z")
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without an offset: {value!r}")
    return parsed.astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class AriWindow:
    start: dt.datetime
    end: dt.datetime
    retry_after: float | None = None

    @classmethod
    def parse(cls, start: str, end: str, retry_after: float | None = None) -> AriWindow:
        return cls(parse_rfc3339(start), parse_rfc3339(end), retry_after)

    def renew_at(self, seed: str) -> dt.datetime:
        """A point in the window, fixed per certificate (`seed`) so repeated checks agree, and
        spread across certificates so a CA's window does not become a thundering herd."""
        if self.end <= self.start:
            return self.start
        fraction = int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        return self.start + (self.end - self.start) * fraction


@dataclass(frozen=True, slots=True)
class RenewalDecision:
    renew_now: bool
    next_check: dt.datetime | None  # the new `renew_after` when not renewing now
    reason: str


def decide_renewal(
    now: dt.datetime,
    own_window_opens: dt.datetime,
    ari: AriWindow | None,
    seed: str,
    recheck: dt.timedelta,
    *,
    ari_unavailable: bool = False,
) -> RenewalDecision:
    """Renew now, or when to look again. The CA's ARI window, when it offers one, wins over the
    broker's own window, earlier or later; without ARI the own window decides."""
    if ari is not None:
        at = ari.renew_at(seed)
        window = f"{ari.start:%Y-%m-%d %H:%M} to {ari.end:%Y-%m-%d %H:%M} UTC"
        if at <= now:
            return RenewalDecision(True, None, f"inside the CA's renewal window (ARI) {window}")
        if ari.retry_after:
            recheck = dt.timedelta(seconds=max(60.0, ari.retry_after))
        return RenewalDecision(False, min(at, now + recheck), f"CA's renewal window {window}")
    if own_window_opens <= now:
        return RenewalDecision(True, None, "inside the renewal window")
    if ari_unavailable:  # ask the CA again before the own window opens
        return RenewalDecision(False, min(own_window_opens, now + recheck), "ARI unavailable")
    return RenewalDecision(False, own_window_opens, "renewal window not open yet")


def positive_thresholds(thresholds: list[int]) -> list[int]:
    """Days before expiry, largest first, without repeats or nonsense."""
    return sorted({int(t) for t in thresholds if int(t) > 0}, reverse=True)


def severity(threshold: int, thresholds: list[int]) -> str:
    """The smallest threshold (and expiry) is critical, the next one warning, the rest info:
    30/14/7 days give info/warning/critical."""
    ordered = sorted(positive_thresholds(thresholds))
    if threshold == EXPIRED or not ordered or threshold <= ordered[0]:
        return "critical"
    if len(ordered) > 1 and threshold <= ordered[1]:
        return "warning"
    return "info"


def next_alert_at(
    not_after: dt.datetime, thresholds: list[int], alerted_threshold: int | None
) -> dt.datetime | None:
    """When the next threshold not yet alerted is crossed; expiry itself is the last one."""
    if alerted_threshold == EXPIRED:
        return None
    for days in positive_thresholds(thresholds):
        if alerted_threshold is None or days < alerted_threshold:
            return not_after - dt.timedelta(days=days)
    return not_after


def crossed_threshold(
    not_after: dt.datetime, thresholds: list[int], alerted_threshold: int | None, now: dt.datetime
) -> int | None:
    """The most severe threshold crossed by `now` and not yet alerted (EXPIRED once past
    `not_after`), or None. Several crossed at once (a late check, a short-lived certificate)
    give one alert, for the most severe of them."""
    if alerted_threshold == EXPIRED:
        return None
    if now >= not_after:
        return EXPIRED
    crossed = [
        days
        for days in positive_thresholds(thresholds)
        if not_after - dt.timedelta(days=days) <= now
        and (alerted_threshold is None or days < alerted_threshold)
    ]
    return min(crossed) if crossed else None
