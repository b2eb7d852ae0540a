"""When a source is due, and how long it waits after failing: pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

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


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
