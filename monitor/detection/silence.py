"""Has a source gone silent? Pure: post times in, a verdict out.

A feed that changed its address or format, a forum that started blocking us, a
parser broken by a redesign: each looks like a quiet source, and a quiet source
reads as "no complaints". The rule tells a normally busy source that stopped
from one that is merely slow: the source must have posted on most days before
it stopped (``active_days`` of the ``days`` before its last post), and its
quiet must be longer than a day and longer than a few of its usual gaps (the
median gap between its posts in those days). Slow sources (a weekly blog) never
qualify; a busy one that posts every few minutes alerts after ``min_gap``.

The days are counted back from the last post, not from now, so a source that
has been silent for three days still shows the week it was busy. An episode is
named by its last post (``silence_key``): the same silence alerts once, and a
later one, after posts came back and stopped again, is a new episode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

DAY = timedelta(days=1)


@dataclass(frozen=True)
class SilenceRule:
    days: int = 7
    active_days: int = 5
    min_gap: timedelta = DAY
    gap_factor: float = 3.0


@dataclass(frozen=True)
class Silence:
    """Why a source counts as silent."""

    last_post_at: datetime
    quiet_for: timedelta
    usual_gap: timedelta  # median gap between its posts in the days before
    threshold: timedelta  # how long a quiet it would have taken
    active_days: int  # of ``days`` before the last post, how many had posts


def active_days(times: Sequence[datetime], last: datetime, days: int) -> int:
    """On how many of the ``days`` 24-hour spans ending at ``last`` there were posts."""
    spans = {int((last - t) / DAY) for t in times if timedelta(0) <= last - t < days * DAY}
    return len(spans)


def median_gap(times: Sequence[datetime]) -> timedelta | None:
    """The median time between consecutive posts (None with fewer than two)."""
    ordered = sorted(times)
    gaps = [b - a for a, b in zip(ordered, ordered[1:], strict=False)]
    return median(gaps) if gaps else None


def went_silent(times: Sequence[datetime], now: datetime,
                rule: SilenceRule = SilenceRule()) -> Silence | None:
    """The source's silence if it is one, else None. ``times``: when its posts were
    stored (any order; one a bucket, e.g. the newest of each hour, is enough)."""
    if not times:
        return None
    last = max(times)
    recent = [t for t in times if last - t < rule.days * DAY]
    busy = active_days(recent, last, rule.days)
    gap = median_gap(recent)
    if busy < rule.active_days or gap is None:
        return None
    threshold = max(rule.min_gap, gap * rule.gap_factor)
    quiet = now - last
    if quiet <= threshold:
        return None
    return Silence(last, quiet, gap, threshold, busy)


def silence_key(source_id: int, last_post_at: datetime) -> str:
    """The dedup key of one silence episode of one source."""
    return f"source-silent:{source_id}:{last_post_at:%Y%m%dT%H%M%S}"


def spoken_since(episode_last_post: datetime, latest_post: datetime | None) -> bool:
    """Whether a silent source's alert clears: it stored a post after the episode's last."""
    return latest_post is not None and latest_post > episode_last_post
