"""Which channel gets an alert, and when. Pure functions of a channel's settings,
the alert and the clock: the outbox (alerts/outbox.py) does the reading and writing.

A channel at tier 0 gets alerts as they happen; a channel at tier 1, 2 ... only
gets escalations (alerts/escalation.py). Within tier 0:
- ``min_severity`` and ``brands`` decide whether it wants an alert at all;
- ``digest`` (a severity): alerts at or below it wait and go out together every
  ``digest_every_s``, so a busy day is one message, not forty;
- ``rate_limit`` ("10/1h"): past that many messages in the period, further alerts
  join the digest instead of being sent alone;
- ``quiet_hours`` ("22:00-07:00" in ``timezone``): messages wait for the end of the
  quiet span, except alerts at or above ``quiet_override`` (a crisis by default),
  which are never held back by quiet hours or the rate limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from alerts.durations import parse_quiet_hours, parse_rate
from db.models import SEVERITIES


@dataclass(frozen=True)
class Route:
    """What to do with one alert on one channel: ``send`` now or at ``not_before``,
    or ``hold`` it for the channel's next digest."""

    action: str  # send | hold
    not_before: datetime
    why: str = ""


def rank(severity: str) -> int:
    return SEVERITIES.index(severity)


def wants(channel_min: str, channel_brands: list[str], severity: str, brand: str) -> bool:
    """Does a channel take this alert at all: severity high enough, brand listed (or none)."""
    if rank(severity) < rank(channel_min):
        return False
    return not channel_brands or brand.casefold() in {b.casefold() for b in channel_brands}


def quiet_until(now: datetime, span: str | None, zone: str = "UTC") -> datetime | None:
    """The end of the quiet span ``now`` falls in (aware UTC), or None when not quiet.
    A span may wrap midnight; it is read in the channel's time zone, so "22:00-07:00"
    follows daylight-saving changes of that zone."""
    if not span:
        return None
    start, end = parse_quiet_hours(span)
    local = now.astimezone(ZoneInfo(zone))
    minute = local.hour * 60 + local.minute
    inside = start <= minute < end if start < end else minute >= start or minute < end
    if not inside:
        return None
    days = 1 if start > end and minute >= start else 0
    end_day = (local + timedelta(days=days)).date()
    end_local = datetime(end_day.year, end_day.month, end_day.day, end // 60, end % 60,
                         tzinfo=local.tzinfo)
    return end_local.astimezone(now.tzinfo)


def rate_window(rate: str) -> tuple[int, timedelta]:
    """``"10/1h"`` -> (10, 1 hour); the config validated it already."""
    count, seconds = parse_rate(rate)
    return count, timedelta(seconds=seconds)


def route(*, severity: str, now: datetime, digest: str | None, quiet_hours: str | None,
          timezone: str, quiet_override: str, rate_limit: str | None,
          sent_in_period: int) -> Route:
    """Send, delay or hold one alert for one channel that wants it.

    ``sent_in_period`` is how many messages the channel was sent (or has queued)
    within its rate-limit period before this one."""
    urgent = rank(severity) >= rank(quiet_override)
    if digest is not None and rank(severity) <= rank(digest) and not urgent:
        return Route("hold", now, f"{severity} alerts go to the digest")
    if rate_limit and not urgent:
        limit, _period = rate_window(rate_limit)
        if sent_in_period >= limit:
            return Route("hold", now, f"rate limit {rate_limit} reached; sent in the digest")
    until = None if urgent else quiet_until(now, quiet_hours, timezone)
    if until is not None:
        return Route("send", until, f"quiet hours {quiet_hours} {timezone}")
    return Route("send", now)


def digest_due(now: datetime, *, held_since: datetime, last_digest_at: datetime | None,
               every: timedelta, quiet_hours: str | None, timezone: str) -> bool:
    """A channel's digest goes out once ``every`` has passed since the last one (or
    since the oldest held alert, for the first), and never during quiet hours."""
    since = max(held_since, last_digest_at) if last_digest_at else held_since
    if now - since < every:
        return False
    return quiet_until(now, quiet_hours, timezone) is None
