"""When a source is due, and how long it waits after failing: pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

MAX_BACKOFF_S = 3600.0
# a server may ask us to wait, but not to go silent for years
MAX_RETRY_AFTER_S = 24 * 3600.0
# a source is polled again no sooner than this share of its interval after a fetch
MIN_GAP_SHARE = 0.5


def next_poll(now: datetime, interval_s: float, consecutive_errors: int) -> datetime:
    """Poll again after ``interval_s``; after failures double it each time (up to an
    hour, or the interval if that is longer) so a broken site is not hammered."""
    if consecutive_errors <= 0:
        return now + timedelta(seconds=interval_s)
    ceiling = max(interval_s, MAX_BACKOFF_S)
    delay = min(interval_s * 2 ** min(consecutive_errors, 20), ceiling)
    return now + timedelta(seconds=delay)


def next_poll_after(started_at: datetime | None, fetched_at: datetime, interval_s: float,
                    consecutive_errors: int) -> datetime:
    """The next poll of a source whose poll went out at ``started_at`` and was stored
    at ``fetched_at``: ``next_poll`` counted from the start, so the download, the
    parse and the wait for the commit are not added to every gap. Never sooner than
    ``MIN_GAP_SHARE`` of the interval after this fetch, so a poll that took long
    (a slow site, a worker that fell behind) is not repeated at once. Without a
    start (a one-off store), counted from the fetch as before."""
    since = fetched_at if started_at is None or started_at > fetched_at else started_at
    due = next_poll(since, interval_s, consecutive_errors)
    return max(due, fetched_at + timedelta(seconds=interval_s * MIN_GAP_SHARE))


def is_due(next_poll_at: datetime | None, now: datetime) -> bool:
    return next_poll_at is None or next_poll_at <= now


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # '²' is a digit to str.isdigit, not to float
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retry_wait(asked: float, reason: str = "Retry-After") -> tuple[float, str]:
    """How long to honour a ``Retry-After`` (or ``reason``'s header) of ``asked``
    seconds (at most a day, so a hostile or broken header cannot silence a source
    for years), and the health note that says so."""
    if asked > MAX_RETRY_AFTER_S or asked != asked:  # too long, or NaN
        return MAX_RETRY_AFTER_S, (f"server asked to wait {asked:.0f} s ({reason}); "
                                   f"capped at {MAX_RETRY_AFTER_S:.0f} s")
    return asked, f"server asked to wait {asked:.0f} s ({reason})"
