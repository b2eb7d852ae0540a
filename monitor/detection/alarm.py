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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from scipy import stats

from monitor.detection.signals import SeasonalBaseline

HOUR = timedelta(hours=1)
WINDOWS = (1, 6, 24)  # hours
ALARM_P = 0.001  # family-wise, over the windows
MIN_OBSERVED = 4  # fewer negative mentions than this in a window never alarm
MIN_HISTORY_HOURS = 72  # a brand needs three days of history before its level is known
MAX_SIZE = 1_000.0  # an NB size this large is Poisson for every count that matters


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
    mean = max(mean, 1e-9)
    if size >= MAX_SIZE:
        return float(stats.poisson.sf(observed - 1, mean))
    return float(stats.nbinom.sf(observed - 1, size, size / (size + mean)))


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


def brand_alarm(times: Sequence[datetime], now: datetime, *, history_days: int = 28,
                windows: Sequence[int] = WINDOWS, p: float = ALARM_P) -> BrandAlarm:
    """Test the brand's flagged-mention times (``times``, any order, the last
    ``history_days`` up to ``now``) over each window ending at ``now`` against a
    seasonal baseline of the history before the longest window. The history starts
    at the first mention: a brand first heard of yesterday has no usual level yet."""
    longest = max(windows) * HOUR
    start = max(now - timedelta(days=history_days), min(times, default=now))
    start = start.replace(minute=0, second=0, microsecond=0)
    cut = now - longest
    history = [t for t in times if start <= t < cut]
    hours = int((cut - start) // HOUR)
    if hours < MIN_HISTORY_HOURS:
        return BrandAlarm((), None)
    baseline = SeasonalBaseline.from_events(history, start, cut)
    offsets = np.array([int((t - start) // HOUR) for t in history], dtype=int)
    hourly = np.bincount(offsets[offsets < hours], minlength=hours)[:hours].astype(float)
    rates = np.array([baseline.expected(start + i * HOUR) for i in range(hours)])
    found = []
    for w in windows:
        observed = sum(1 for t in times if now - w * HOUR < t <= now)
        expected = max(baseline.expected(now - w * HOUR, hours=w), 0.5)
        size = fit_size(*_blocks(hourly, rates, w))
        found.append(WindowSurprise(w, observed, expected, size, nb_sf(observed, expected, size)))
    passing = [w for w in found if w.observed >= MIN_OBSERVED and w.p_value <= p / len(found)]
    return BrandAlarm(tuple(found), min(passing, key=lambda w: w.p_value, default=None))
