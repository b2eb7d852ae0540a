"""The brand alarm: is the brand's negative volume far above its usual level over
the last hour, six hours or day? Pure: the detect stage passes the timestamps.

Why beside the incident rules: those judge one incident, so they see a matter
only as well as grouping put it together, and a slow burn adds a few mentions an
hour, under every one-hour rule. This alarm counts every flagged mention of the
brand, whatever incident it landed in, over several windows, so a matter split
into fragments, or growing over a day, still shows as a surge.

Why negative binomial: real chatter comes in bursts (a busy evening, one thread
drawing replies), so hourly counts vary more than Poisson allows, and a Poisson
tail calls ordinary busy hours impossible. The dispersion is fitted per window
on the brand's own history (method of moments on observed minus expected counts);
history no burstier than Poisson keeps the Poisson tail. Several windows are
tested at once, so each must pass ``p / len(windows)`` (Bonferroni).

Why each window has its own history, with past surges left out (issue 15): judging
the hour on the history before the DAY window kept a brand three and a half days old
from alarming at all, and a crisis last week left in the history raised the usual
level and made the fitted tail so heavy that the next crisis looked ordinary
(``usual_level``). The detect stage weighs each mention (``readings.alarm_weights``):
news naming the brand in passing and replies under a happy thread count little or
nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from monitor.detection.signals import SeasonalBaseline

HOUR = timedelta(hours=1)
WINDOWS = (1, 6, 24)  # hours
ALARM_P = 0.001  # family-wise, over the windows
MIN_OBSERVED = 4  # fewer negative mentions than this in a window never alarm
MIN_HISTORY_HOURS = 72  # a brand needs three days of history before its level is known
MAX_SIZE = 1_000.0  # an NB size this large is Poisson for every count that matters
TRIM_P = 0.01  # a history block this unlikely under Poisson is a past surge, not usual


@dataclass(frozen=True)
class WindowSurprise:
    """One window's count against the brand's usual level for those hours."""

    hours: int
    observed: int
    expected: float
    size: float  # negative binomial size (dispersion): smaller is burstier
    p_value: float


@dataclass(frozen=True)
class BrandAlarm:
    windows: tuple[WindowSurprise, ...]
    fired: WindowSurprise | None  # the most surprising window that passed, if any

    def reason(self, brand: str) -> str | None:
        """The alarm in words with its numbers, or None when it did not fire."""
        w = self.fired
        if w is None:
            return None
        return (f"{w.observed} negative mentions of {brand} in the last {w.hours} h vs "
                f"{w.expected:.1f} usual for those hours (p={w.p_value:.0e}, brand alarm)")


def nb_sf(observed: int, mean: float, size: float) -> float:
    """P(X >= observed) for a negative binomial with this mean and size."""
    if observed <= 0:
        return 1.0
    from scipy import special  # here, not at the top: scipy costs every command 0.5 s

    mean, k = max(mean, 1e-9), np.floor(observed)  # as scipy.stats' sf(observed - 1)
    if size >= MAX_SIZE:  # Poisson: P(X >= k) is the regularised lower gamma P(k, mean)
        return float(special.gammainc(k, mean))
    return float(special.betainc(k, size, mean / (size + mean)))  # I_{1-p}(k, size)


def fit_size(observed: Sequence[float], expected: Sequence[float]) -> float:
    """Method-of-moments size: Var(X) = mu + mu^2 / size, pooled over blocks whose
    expectations differ, so size = sum(mu^2) / sum((x - mu)^2 - mu)."""
    x, mu = np.asarray(observed, dtype=float), np.asarray(expected, dtype=float)
    if len(x) < 2:
        return MAX_SIZE
    excess = float(np.sum((x - mu) ** 2 - mu))
    if excess <= 0:
        return MAX_SIZE
    return float(min(MAX_SIZE, max(0.5, np.sum(mu ** 2) / excess)))


def _blocks(hourly: np.ndarray, rates: np.ndarray, hours: int) -> tuple[np.ndarray, ...]:
    """Sums over consecutive ``hours``-hour blocks, observed and expected."""
    n = len(hourly) // hours * hours
    return (hourly[:n].reshape(-1, hours).sum(1), rates[:n].reshape(-1, hours).sum(1))


def _hourly(offsets: np.ndarray, weights: np.ndarray, hours: int) -> np.ndarray:
    """Weighted counts of the ``hours`` whole hours of history (offsets in hours)."""
    keep = (offsets >= 0) & (offsets < hours)
    return np.bincount(offsets[keep], weights=weights[keep], minlength=hours)[:hours]


def _hour_rates(baseline: SeasonalBaseline, start: datetime, hours: int) -> np.ndarray:
    """The baseline's expectation for each hour from ``start`` (its week, repeated)."""
    week = [baseline.expected(start + i * HOUR) for i in range(min(hours, 168))]
    return np.array(week * (hours // 168 + 1))[:hours]


def usual_level(hourly: np.ndarray, start: datetime, hours: int,
                trim_p: float = TRIM_P) -> tuple[SeasonalBaseline, float]:
    """The brand's usual level for ``hours``-hour windows: a seasonal baseline and a
    negative binomial size fitted on the history with its own past surges left out.
    Why: a crisis last week (or a slow burn yesterday) in the history would raise the
    usual level and, worse, make the fitted tail so heavy that the next crisis looks
    ordinary. A block whose count is a surge even under a Poisson tail (``trim_p``)
    against a first fit is replaced by that fit's expectation, then both are refitted."""
    values = np.array(hourly, dtype=float)
    for final in (False, True):
        baseline = SeasonalBaseline.from_hourly(values.tolist(), start)
        rates = _hour_rates(baseline, start, len(values))
        observed, expected = _blocks(values, rates, hours)
        if final:
            return baseline, fit_size(observed, expected)
        hot = [i for i, (x, mu) in enumerate(zip(observed, expected, strict=True))
               if nb_sf(int(round(x)), mu, MAX_SIZE) <= trim_p]
        if not hot:
            return baseline, fit_size(observed, expected)
        for i in hot:
            values[i * hours:(i + 1) * hours] = rates[i * hours:(i + 1) * hours]
    raise AssertionError("unreachable")


def brand_alarm(times: Sequence[datetime], now: datetime, *, history_days: int = 28,
                windows: Sequence[int] = WINDOWS, p: float = ALARM_P,
                weights: Sequence[float] | None = None) -> BrandAlarm:
    """Test the brand's flagged-mention times (``times``, any order, the last
    ``history_days`` up to ``now``; ``weights``: how much each counts, 1 by default)
    over each window ending at ``now`` against the usual level (``usual_level``) of
    the history before THAT window: the hour is judged on everything up to an hour
    ago, the day on everything up to a day ago, so a brand three and a half days old
    can alarm on its hour, and a burst never inflates its own baseline. The history
    starts at the first mention: a brand first heard of yesterday has no usual level."""
    weight = np.ones(len(times)) if weights is None else np.asarray(weights, dtype=float)
    start = max(now - timedelta(days=history_days), min(times, default=now))
    start = start.replace(minute=0, second=0, microsecond=0)
    seconds = np.array([(t - start).total_seconds() for t in times], dtype=float)
    offsets = np.floor(seconds / 3600).astype(int)
    found = []
    for w in windows:
        cut = now - w * HOUR
        hours = int((cut - start) // HOUR)
        if hours < MIN_HISTORY_HOURS:
            continue
        inside = (seconds > (cut - start).total_seconds()) & (seconds <= (now - start)
                                                               .total_seconds())
        observed = float(weight[inside].sum())
        baseline, size = usual_level(_hourly(offsets, weight, hours), start, w)
        expected = max(baseline.expected(cut, hours=w), 0.5)
        count = int(round(observed))
        found.append(WindowSurprise(w, count, expected, size, nb_sf(count, expected, size)))
    passing = [w for w in found if w.observed >= MIN_OBSERVED and w.p_value <= p / len(windows)]
    return BrandAlarm(tuple(found), min(passing, key=lambda w: w.p_value, default=None))
