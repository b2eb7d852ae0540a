"""Detection signals: small pure functions over counts and timestamps.

No I/O, no database: the stages feed these numbers they already hold, and the
backtest (``bench.simulate``) feeds them simulated streams, so the same code
is measured offline and run live. Every datetime is timezone-aware; naive ones
are refused rather than guessed.

- ``velocity``: how fast a thread's replies grow (seed 004: a first post
  nobody answers is where big events brew; growth is the sign it is brewing);
- ``SeasonalBaseline`` / ``volume_surprise``: is this hour's count of negative
  mentions more than this brand usually gets at this time of the week;
- ``spread``: on how many sources a matter is, and how fast it moved;
- ``iceberg``: the silent customers behind the visible complaints (seed 002);
- ``sigma_rule``: the mean + k*std baseline detector we are compared against.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from statistics import NormalDist

import numpy as np

HOUR = timedelta(hours=1)
HOURS_PER_WEEK = 7 * 24


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at!r}: pass a timezone-aware one (UTC)")
    return at


# --- velocity --------------------------------------------------------------------------


@dataclass(frozen=True)
class Velocity:
    """Growth of a cumulative counter (replies, likes, views) over a window.

    ``gained`` adds only the rises between consecutive snapshots and
    ``removed`` the falls, so replies deleted by a moderator (or the author)
    neither hide growth nor count as negative growth; ``delta`` is the plain
    net change. ``per_hour`` is ``gained`` over the minutes actually spanned.
    """

    since: datetime  # time of the snapshot used as the start
    until: datetime  # time of the latest snapshot at or before ``now``
    before: int
    after: int
    delta: int  # after - before, may be negative
    gained: int
    removed: int
    per_hour: float
    minutes: float


def _usable(snapshots: Iterable[tuple[datetime, int | None]], now: datetime
            ) -> list[tuple[datetime, int]]:
    return [(_aware(at), n) for at, n in snapshots if n is not None and _aware(at) <= now]


def velocity(snapshots: Sequence[tuple[datetime, int | None]], now: datetime,
             window: timedelta) -> Velocity | None:
    """Engagement velocity from cumulative count snapshots (oldest first).

    The start is the count in effect when the window opened: the latest
    snapshot at or before ``now - window`` if there is one (so a thread polled
    every 30 min still has a start for a 20 min window), else the oldest
    snapshot inside the window. Snapshots with a ``None`` count (the page did
    not show one) and snapshots after ``now`` are skipped. No usable snapshot
    gives ``None``; a single one gives zero growth over zero minutes, because
    one reading cannot tell how fast the count arrived.
    """
    _aware(now)
    points = _usable(snapshots, now)
    if not points:
        return None
    opened = now - window
    first = max((i for i, (at, _) in enumerate(points) if at <= opened), default=0)
    used = points[first:]
    steps = [b - a for (_, a), (_, b) in zip(used, used[1:], strict=False)]
    gained = sum(s for s in steps if s > 0)
    removed = -sum(s for s in steps if s < 0)
    (since, before), (until, after) = used[0], used[-1]
    minutes = (until - since).total_seconds() / 60
    per_hour = gained * 60 / minutes if minutes > 0 else 0.0
    return Velocity(since, until, before, after, after - before, gained, removed, per_hour,
                    minutes)


# --- seasonal baseline and volume surprise ----------------------------------------------


@dataclass(frozen=True)
class VolumeSignal:
    """How surprising an observed count is against its expectation."""

    observed: int
    expected: float  # the rate tested against (after the floor)
    ratio: float  # observed / expected
    p_value: float  # Poisson P(X >= observed | expected)
    z: float  # the standard-normal quantile of p_value (3.0 ~ p 0.00135)


def poisson_sf(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam), exact and stable in the far tail.

    Below the mean the tail is large and 1 - cdf is fine; above it the terms
    shrink geometrically, so they are summed directly (1 - cdf would round to
    0 just where the answer matters)."""
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0

    def pmf(j: int) -> float:
        return math.exp(j * math.log(lam) - lam - math.lgamma(j + 1))

    if k <= lam:
        return min(1.0, max(0.0, 1.0 - math.fsum(pmf(j) for j in range(k))))
    total, j, term = 0.0, k, pmf(k)
    while term > total * 1e-17 and term > 0.0:
        total += term
        j += 1
        term *= lam / j
    return min(1.0, total)


def volume_surprise(observed_count: int, expected: float, *, floor: float = 0.5
                    ) -> VolumeSignal:
    """Upper-tail Poisson test of an observed count against its expected rate.

    Why Poisson: mentions in an hour come from many people posting mostly
    independently, and the counts are small (0-5 an hour for most brands),
    where a Gaussian mean + k*std rule is meaningless: the exact tail is. Why
    only the upper tail: fewer complaints than usual is no crisis. Why the
    floor: an expected rate near zero (a quiet or new brand) makes any single
    post "impossible"; below one mention per two hours nobody can tell the
    rate apart, and with the floor at 0.5 one or two posts in an hour are not
    significant (p 0.39 and 0.09) while five are (p 0.0002). ``z`` converts the
    p-value to standard-normal units so thresholds read like a sigma rule.
    Real chatter is burstier than Poisson (overdispersed), so a p-value is a
    ranking, not a calibrated false-alarm rate: pick the threshold on the
    simulator (``bench.simulate``).
    """
    if observed_count < 0:
        raise ValueError("observed_count must be >= 0")
    lam = max(float(expected), floor)
    p = poisson_sf(observed_count, lam)
    z = -NormalDist().inv_cdf(min(max(p, 1e-300), 1 - 1e-12))
    return VolumeSignal(observed_count, lam, observed_count / lam, p, z)


@dataclass(frozen=True)
class SeasonalBaseline:
    """Expected count per hour for each (day-of-week, hour-of-day) bucket.

    Each bucket's rate is a gamma-Poisson posterior mean shrunk toward the
    coarser level: the bucket toward its hour-of-day rate (all weekdays
    pooled), the hour-of-day rate toward the brand's overall hourly mean.
    ``hour_prior`` and ``bucket_prior`` are pseudo-hours: a bucket with as many
    observed hours as ``bucket_prior`` is half its own data, half the coarser
    rate. So a brand with two days of history is judged on its overall mean
    (no weekly pattern is invented from one Monday), and its second mention is
    weighed against a rate near its first, not against an empty bucket.
    Buckets are in ``tz`` (the brand's audience's local time).
    """

    rates: tuple[float, ...]  # index weekday * 24 + hour, Monday = 0
    hours: int  # hours of history
    total: float  # events in the history
    tz: tzinfo = UTC

    @classmethod
    def from_hourly(cls, counts: Sequence[float], start: datetime, *, hour_prior: float = 3.0,
                    bucket_prior: float = 4.0, tz: tzinfo = UTC) -> SeasonalBaseline:
        """From counts of consecutive hours, ``counts[i]`` being the hour that
        begins at ``start + i hours``."""
        _aware(start)
        values = np.asarray(counts, dtype=float)
        idx = np.array([_bucket(start + i * HOUR, tz) for i in range(len(values))], dtype=int)
        sums = np.bincount(idx, weights=values, minlength=HOURS_PER_WEEK).reshape(7, 24)
        seen = np.bincount(idx, minlength=HOURS_PER_WEEK).reshape(7, 24).astype(float)
        overall = values.sum() / len(values) if len(values) else 0.0
        by_hour = (sums.sum(0) + hour_prior * overall) / (seen.sum(0) + hour_prior)
        rates = (sums + bucket_prior * by_hour) / (seen + bucket_prior)
        return cls(tuple(float(r) for r in rates.ravel()), len(values), float(values.sum()), tz)

    @classmethod
    def from_events(cls, times: Iterable[datetime], start: datetime, end: datetime,
                    **options: object) -> SeasonalBaseline:
        """From event timestamps observed between ``start`` (floored to the
        hour) and ``end``: the complete hours in between are the history,
        hours with no event included (they are what makes the rate low)."""
        first = _aware(start).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        n = max(0, int((_aware(end) - first) // HOUR))
        offsets = (int((_aware(t) - first) // HOUR) for t in times)
        hits = np.array([o for o in offsets if 0 <= o < n], dtype=int)
        counts = np.bincount(hits, minlength=n)[:n]
        return cls.from_hourly(counts.tolist(), first, **options)  # type: ignore[arg-type]

    def expected(self, at: datetime, hours: int = 1) -> float:
        """Expected count in the ``hours`` whole hours starting with the one
        that contains ``at``."""
        begin = _aware(at).replace(minute=0, second=0, microsecond=0)
        return sum(self.rates[_bucket(begin + i * HOUR, self.tz)] for i in range(hours))

    def surprise(self, at: datetime, observed_count: int, hours: int = 1, *,
                 floor: float = 0.5) -> VolumeSignal:
        """``volume_surprise`` of a count against this baseline at ``at``."""
        return volume_surprise(observed_count, self.expected(at, hours), floor=floor)


def _bucket(at: datetime, tz: tzinfo) -> int:
    local = _aware(at).astimezone(tz)
    return local.weekday() * 24 + local.hour


# --- spread ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """Where a matter appeared, in order, and the gaps between sources."""

    sources: int
    order: tuple[str, ...]
    first_seen: datetime | None
    gaps: tuple[timedelta, ...]  # order[i] -> order[i + 1]
    to_second: timedelta | None  # how long it stayed on one source
    span: timedelta  # first source -> last source


def spread(source_first_seen: Mapping[str, datetime]) -> Spread:
    """Order sources by when the matter was first seen there (ties by name,
    so the result does not depend on dict order). Seed 004: a matter jumping
    to other sites is how "a small matter becomes a big event"; the gap to the
    second source is how fast it escaped its first audience."""
    items = sorted(((_aware(at), name) for name, at in source_first_seen.items()))
    if not items:
        return Spread(0, (), None, (), None, timedelta(0))
    times = [at for at, _ in items]
    gaps = tuple(b - a for a, b in zip(times, times[1:], strict=False))
    return Spread(len(items), tuple(name for _, name in items), times[0], gaps,
                  gaps[0] if gaps else None, times[-1] - times[0])


# --- iceberg -----------------------------------------------------------------------------

COMPLAINT_SHARE = 0.05  # seed 002: only about 5% of dissatisfied customers complain
ICEBERG_MULTIPLIER = 20.0  # = 1 / COMPLAINT_SHARE


def iceberg(visible: int, multiplier: float = ICEBERG_MULTIPLIER) -> int:
    """Estimated dissatisfied customers behind ``visible`` complaints, the
    visible ones included (the silent ones are the result minus ``visible``).

    Seed 002 (shared/seeds/002_*.txt): "有研究数据表明：在对我们不满意的客户中只有5%左右的
    客户会投诉" (research shows only about 5% of dissatisfied customers
    complain), so one complaint stands for about 1 / 0.05 = 20 unhappy
    customers, and the seed asks of each complaint whether it is a one-off or
    "只是其中爆发出来的一个" (just the one of many that broke out). The seed
    names no study, and public posts are not complaints filed with the
    company, so this is an order-of-magnitude figure for the PR report, not a
    measurement; pass another ``multiplier`` where better numbers exist.
    """
    if visible < 0:
        raise ValueError("visible must be >= 0")
    if multiplier < 1:
        raise ValueError("multiplier must be >= 1: the visible complainers are unhappy too")
    return round(visible * multiplier)


# --- the baseline detector ----------------------------------------------------------------


def sigma_rule(counts: Sequence[int], k: float = 3.0, trailing: int = 24, *,
               min_history: int | None = None) -> list[bool]:
    """The peers' baseline: flag bucket i when ``counts[i] > mean + k * std``
    of the previous ``trailing`` buckets (population std, ddof 0, as
    ``numpy.std``; strictly greater).

    With too little history, fewer than ``min_history`` previous buckets
    (default: the full ``trailing`` window, like pandas' rolling default), a
    bucket is never flagged, so the first ``trailing`` buckets are all False;
    ``min_history`` is at least 2, as one bucket has no spread. Known weakness,
    kept on purpose because it is the baseline: a flat history (std 0) makes
    any count above the mean an alarm, and a quiet brand with mostly zeros
    flags its first busy hour.
    """
    need = trailing if min_history is None else max(2, min_history)
    values = np.asarray(counts, dtype=float)
    flags = []
    for i, value in enumerate(values):
        past = values[max(0, i - trailing):i]
        flags.append(len(past) >= need and bool(value > past.mean() + k * past.std()))
    return flags
