"""When a source is due, and how long it waits after failing: pure functions."""

from __future__ import annotations

from datetime import datetime, timedelta

MAX_BACKOFF_S = 3600.0


def next_poll(now: datetime, interval_s: float, consecutive_errors: int) -> datetime:
    """Poll again after ``interval_s``; after failures double it each time (up to an
    hour, or the interval if that is longer) so a broken site is not hammered."""
    if consecutive_errors <= 0:
        return now + timedelta(seconds=interval_s)
    ceiling = max(interval_s, MAX_BACKOFF_S)
    delay = min(interval_s * 2 ** min(consecutive_errors, 20), ceiling)
    return now + timedelta(seconds=delay)


def is_due(next_poll_at: datetime | None, now: datetime) -> bool:
    return next_poll_at is None or next_poll_at <= now
