"""The soft brand alarm: is the brand's RISK-WEIGHTED volume (every mention, flagged
or not, counted by its risk) far above its usual level, and is the surge riskier
than the brand's usual mix? Pure: the detect stage passes (time, risk) pairs.

Why beside the flagged alarm (``alarm.py``): on real posts the scorer flags only a
fifth to a third of a crisis's posts, so a crisis shows as a few flagged mentions
among many unflagged ones that still score riskier than the brand's chatter.
Summing each mention's risk over all of them sees that surge; counting flags sees
a handful.

Why the tone gate: a happy viral thread is a surge too (dozens of reposts in an
hour), and each repost still carries some risk. The gate asks what the surge's
EXCESS is made of: ``(weighted - expected weighted) / (mentions - expected
mentions)``, in units of the brand's usual mention's risk. A surge of ordinary
posts gives about 1; the alarm fires only at ``TONE`` or more (more negative than
the brand's usual mix), so a surge of praise stays quiet.

The weighted volume is measured in "usual mentions" (risk sum / the history's mean
risk), so its seasonal baseline and negative binomial tail are those of a count,
as in ``alarm.py``; each window's history is everything before that window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from monitor.detection.alarm import ALARM_P, MIN_OBSERVED, WINDOWS, _blocks, fit_size, nb_sf
from monitor.detection.signals import SeasonalBaseline

HOUR = timedelta(hours=1)
TONE = 1.3  # the surge's excess must be this many times as risky as a usual mention
MIN_HISTORY_HOURS = 72


@dataclass(frozen=True)
class SoftWindow:
    """One window: mentions and their risk-weighted volume against the usual."""

    hours: int
    mentions: int
    usual_mentions: float
    weighted: float  # the window's risk sum in usual mentions (sum / history's mean risk)
    expected: float  # ... usual for those hours
    size: float  # negative binomial size of the weighted volume
    p_value: float
    tone: float  # the excess's risk per excess mention, in usual mentions' risk


@dataclass(frozen=True)
class SoftAlarm:
    windows: tuple[SoftWindow, ...]
    fired: SoftWindow | None
    mean_risk: float  # of the brand's mentions in the history (the unit)

    def reason(self, brand: str) -> str | None:
        """The alarm in words with its numbers, or None when it did not fire."""
        w = self.fired
        if w is None:
            return None
        return (f"risk-weighted volume of {brand} in the last {w.hours} h: {w.mentions} "
                f"mentions worth {w.weighted:.1f} usual ones vs {w.expected:.1f} usual for "
                f"those hours (p={w.p_value:.0e}); the surge beyond the usual "
                f"{w.usual_mentions:.1f} mentions is {w.tone:.1f}x as risky as the brand's "
                f"usual mention (mean risk {self.mean_risk:.2f}) (soft brand alarm)")


def excess_tone(weighted: float, expected: float, mentions: int, usual: float) -> float:
    """Risk of the surge's excess per excess mention, in usual mentions' risk; 0 when
    there are no more mentions than usual (nothing to judge the tone of)."""
    if mentions <= usual:
        return 0.0
    return (weighted - expected) / (mentions - usual)


def _rates(baseline: SeasonalBaseline, start: datetime, hours: int) -> np.ndarray:
    """The baseline's expected count for each of ``hours`` hours from ``start`` (the
    week's 168 rates, repeated: the baseline has no other pattern)."""
    week = [baseline.expected(start + i * HOUR) for i in range(min(hours, 168))]
    return np.array(week * (hours // 168 + 1))[:hours]


def _window(times: np.ndarray, risks: np.ndarray, start: datetime, now: datetime,
            w: int) -> tuple[SoftWindow, float] | None:
    """Window ``w`` against the history before it; None when too little history."""
    cut = now - w * HOUR
    hours = int((cut - start) // HOUR)
    base, offsets = (cut - start).total_seconds(), times  # seconds since start
    past = offsets <= base
    if hours < MIN_HISTORY_HOURS or not past.any() or risks[past].sum() <= 0:
        return None
    unit = float(risks[past].mean())
    idx = (offsets[past] // 3600).astype(int)
    keep = idx < hours
    counts = np.bincount(idx[keep], minlength=hours)[:hours].astype(float)
    soft = np.bincount(idx[keep], weights=risks[past][keep] / unit, minlength=hours)[:hours]
    usual = SeasonalBaseline.from_hourly(counts.tolist(), start)
    weighted = SeasonalBaseline.from_hourly(soft.tolist(), start)
    inside = (offsets > base) & (offsets <= (now - start).total_seconds())
    mentions, volume = int(inside.sum()), float(risks[inside].sum() / unit)
    expected = max(weighted.expected(cut, hours=w), 0.5)
    usual_n = max(usual.expected(cut, hours=w), 0.5)
    size = fit_size(*_blocks(soft, _rates(weighted, start, hours), w))
    p = nb_sf(int(round(volume)), expected, size)
    tone = excess_tone(volume, expected, mentions, usual_n)
    return SoftWindow(w, mentions, usual_n, volume, expected, size, p, tone), unit


def soft_alarm(mentions: Sequence[tuple[datetime, float]], now: datetime, *,
               history_days: int = 28, windows: Sequence[int] = WINDOWS, p: float = ALARM_P,
               tone: float = TONE) -> SoftAlarm:
    """Test the brand's mentions (``(seen at, risk)``, any order, flagged or not) over
    each window ending at ``now`` against the seasonal baseline of the history before
    that window. Fires on the most surprising window whose weighted volume passes the
    negative binomial tail at ``p / len(windows)`` and whose excess is at least
    ``tone`` times as risky as a usual mention. Fewer than ``MIN_OBSERVED`` mentions
    never fire, however risky: two sharp posts are the incident rules' to judge."""
    start = max(now - timedelta(days=history_days), min((t for t, _ in mentions), default=now))
    start = start.replace(minute=0, second=0, microsecond=0)
    kept = [(t, r) for t, r in mentions if start <= t <= now]
    times = np.array([(t - start).total_seconds() for t, _ in kept], dtype=float)
    risks = np.array([max(0.0, float(r)) for _, r in kept], dtype=float)
    found, unit = [], 0.0
    for w in windows:
        got = _window(times, risks, start, now, w)
        if got is not None:
            found.append(got[0])
            unit = got[1]
    passing = [w for w in found if min(w.mentions, w.weighted) >= MIN_OBSERVED
               and w.p_value <= p / len(windows) and w.tone >= tone]
    return SoftAlarm(tuple(found), min(passing, key=lambda w: w.p_value, default=None), unit)
