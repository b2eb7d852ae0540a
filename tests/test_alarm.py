"""monitor/detection/alarm.py: the brand alarm over 1 h, 6 h and 24 h windows."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from scipy import stats

from monitor.detection.alarm import MAX_SIZE, brand_alarm, fit_size, nb_sf

NOW = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)


def steady(per_hour: float, days: int = 27, seed: int = 1) -> list[datetime]:
    """Poisson arrivals at ``per_hour`` for ``days`` days before the last day."""
    rng = random.Random(seed)
    start, end = NOW - timedelta(days=days + 1), NOW - timedelta(days=1)
    out, t = [], start
    while True:
        t += timedelta(hours=rng.expovariate(per_hour))
        if t >= end:
            return out
        out.append(t)


def test_nb_tail_is_poisson_when_not_dispersed_and_heavier_when_it_is() -> None:
    assert abs(nb_sf(5, 1.0, MAX_SIZE) - stats.poisson.sf(4, 1.0)) < 1e-12
    assert nb_sf(5, 1.0, 2.0) > nb_sf(5, 1.0, MAX_SIZE)  # bursty history: 5 is less rare
    assert nb_sf(0, 3.0, 1.0) == 1.0


def test_size_is_fitted_from_the_excess_variance() -> None:
    assert fit_size([2, 2, 2, 2], [2, 2, 2, 2]) == MAX_SIZE  # no spread beyond Poisson
    bursty = fit_size([0, 0, 0, 8, 0, 0, 0, 8], [2] * 8)
    assert 0.5 <= bursty < 5


def test_a_slow_burn_alarms_on_the_day_window_not_the_hour() -> None:
    """Three negative mentions an hour for ten hours against a usual 0.5: no single
    hour is remarkable (p about 0.01), the day is (30 against about 12)."""
    burn = [NOW - timedelta(minutes=20 * i + 5) for i in range(30)]
    alarm = brand_alarm(steady(0.5) + burn, NOW)
    assert alarm.fired is not None and alarm.fired.hours in (6, 24)
    assert alarm.fired.observed == 30 if alarm.fired.hours == 24 else alarm.fired.observed >= 10
    assert "negative mentions of Acme in the last" in alarm.reason("Acme")
    one_hour = next(w for w in alarm.windows if w.hours == 1)
    assert one_hour.p_value > 0.001 / 3


def test_an_ordinary_day_does_not_alarm() -> None:
    usual = steady(0.5, days=28, seed=2)
    today = [t for t in usual if t >= NOW - timedelta(days=1)]
    alarms = [brand_alarm(steady(0.5, seed=s) + today, NOW).fired for s in range(3, 13)]
    assert alarms == [None] * 10


def test_a_new_brand_or_a_handful_never_alarms() -> None:
    assert brand_alarm([NOW - timedelta(minutes=m) for m in range(10)], NOW).fired is None
    quiet = steady(0.01, seed=4)
    three = [NOW - timedelta(minutes=5 * i) for i in range(3)]
    assert brand_alarm(quiet + three, NOW).fired is None  # MIN_OBSERVED
