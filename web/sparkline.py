"""The dashboard's per-brand sparkline: flagged mentions per hour over the last 24 h.

24 hours, not 7 days: the dashboard answers "what needs attention now", and at one
bar per hour a day fits in a table cell (168 hourly bars would be sub-pixel). Pure:
hourly counts in, bar geometry and a text alternative out; the counts come from one
grouped query per dashboard (``web.dashboard.flagged_per_hour``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

HOURS = 24
WIDTH, HEIGHT = 96, 20  # viewBox; 4 px per hour


@dataclass(frozen=True)
class Spark:
    bars: tuple[tuple[float, float, float, float], ...]  # x, y, w, h of each non-empty hour
    total: int
    peak: int
    label: str  # the text alternative: "12 flagged in the last 24 h, peak 5/h"
    width: int = WIDTH
    height: int = HEIGHT


def hour_start(at: datetime) -> datetime:
    """The start of ``at``'s UTC hour (naive values are UTC, as SQLite returns them)."""
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at.replace(minute=0, second=0, microsecond=0)


def first_hour(now: datetime) -> datetime:
    """The oldest hour shown: the current hour is the last of HOURS."""
    return hour_start(now) - timedelta(hours=HOURS - 1)


def per_hour(rows: Iterable[tuple[str, datetime, int]], now: datetime) -> dict[str, list[int]]:
    """(brand, hour, count) rows into HOURS counts per brand, oldest first; rows
    outside the window are ignored."""
    start, out = first_hour(now), {}
    for brand, hour, count in rows:
        i = int((hour_start(hour) - start) / timedelta(hours=1))
        if 0 <= i < HOURS:
            out.setdefault(brand, [0] * HOURS)[i] += int(count)
    return out


def sparkline(counts: Sequence[int]) -> Spark:
    """Bars scaled to the brand's own peak (a sparkline shows shape, the label the
    numbers); an hour with none draws nothing above the baseline."""
    total, peak = sum(counts), max(counts, default=0)
    step = WIDTH / max(len(counts), 1)
    bars = tuple((round(i * step + 0.5, 1), round(HEIGHT - 1 - (HEIGHT - 2) * c / peak, 1),
                  round(step - 1, 1), round((HEIGHT - 2) * c / peak, 1))
                 for i, c in enumerate(counts) if c)
    label = (f"{total} flagged in the last {HOURS} h, peak {peak}/h" if total
             else f"none flagged in the last {HOURS} h")
    return Spark(bars, total, peak, label)
