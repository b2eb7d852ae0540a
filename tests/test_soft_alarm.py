"""monitor/detection/soft_alarm.py: risk-weighted brand volume with a tone gate."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from monitor.detection.soft_alarm import TONE, excess_tone, soft_alarm

NOW = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)


def usual(per_hour: float = 2.0, days: int = 13, seed: int = 1) -> list[tuple[datetime, float]]:
    """Every mention of ``days`` days before ``NOW``: Poisson arrivals, risk around 0.2
    (a brand's everyday mix: mostly benign, now and then a sour one)."""
    rng = random.Random(seed)
    out, t = [], NOW - timedelta(days=days)
    while True:
        t += timedelta(hours=rng.expovariate(per_hour))
        if t >= NOW - timedelta(minutes=1):
            return out
        out.append((t, min(1.0, rng.expovariate(5.0))))


def burst(n: int, risk: float, minutes: int = 50) -> list[tuple[datetime, float]]:
    return [(NOW - timedelta(minutes=minutes * i / n), risk) for i in range(n)]


def test_excess_tone_is_the_excess_risk_per_excess_mention() -> None:
    assert excess_tone(weighted=22.0, expected=2.0, mentions=12, usual=2.0) == 2.0
    assert excess_tone(weighted=12.0, expected=2.0, mentions=12, usual=2.0) == 1.0
    assert excess_tone(weighted=30.0, expected=2.0, mentions=2, usual=2.0) == 0.0  # no surge


def test_a_surge_of_risky_unflagged_mentions_fires_with_its_numbers() -> None:
    """Twenty mentions in an hour at risk 0.45 (none need be flagged) against two an
    hour at about 0.2: the weighted volume and its tone both stand out."""
    alarm = soft_alarm(usual() + burst(20, 0.45), NOW)
    assert alarm.fired is not None and alarm.fired.hours == 1
    assert alarm.fired.tone >= TONE and alarm.fired.mentions >= 20
    reason = alarm.reason("Acme")
    assert "risk-weighted volume of Acme in the last 1 h" in reason
    assert "as risky as the brand's usual mention" in reason and "(soft brand alarm)" in reason


def test_a_surge_of_praise_as_big_stays_quiet() -> None:
    """The same twenty mentions at risk 0.1 (a happy viral thread's reposts): a surge
    in volume, not in tone."""
    alarm = soft_alarm(usual() + burst(20, 0.1), NOW)
    one = next(w for w in alarm.windows if w.hours == 1)
    assert one.mentions >= 20 and one.tone < TONE
    assert alarm.fired is None and alarm.reason("Acme") is None


def test_a_surge_of_the_usual_mix_stays_quiet() -> None:
    """Sixty mentions of the brand's ordinary mix in an hour: busy, not worse."""
    rng = random.Random(9)
    mix = [(NOW - timedelta(minutes=i), min(1.0, rng.expovariate(5.0))) for i in range(60)]
    assert soft_alarm(usual() + mix, NOW).fired is None


def test_ordinary_days_do_not_fire() -> None:
    fired = [soft_alarm(usual(seed=s), NOW).fired for s in range(2, 12)]
    assert fired == [None] * 10


def test_a_handful_of_sharp_mentions_never_fires() -> None:
    """Three mentions at risk 0.9 weigh as a dozen usual ones, but three are for the
    incident rules, not a brand-wide surge."""
    before = [(t, r) for t, r in usual(per_hour=0.3) if t < NOW - timedelta(days=1)]
    alarm = soft_alarm(before + burst(3, 0.9), NOW)
    one = next(w for w in alarm.windows if w.hours == 1)
    assert one.weighted >= 8 and one.mentions == 3 and alarm.fired is None


def test_a_brand_with_too_little_history_never_fires() -> None:
    alarm = soft_alarm(usual(days=2) + burst(30, 0.6), NOW)
    assert alarm.windows == () and alarm.fired is None
