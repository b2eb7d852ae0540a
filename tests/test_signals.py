"""monitor/detection/signals.py: velocity, seasonal baseline, surprise, spread, iceberg,
sigma rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.detection.signals import (
    ICEBERG_MULTIPLIER,
    SeasonalBaseline,
    Spread,
    Velocity,
    iceberg,
    poisson_sf,
    sigma_rule,
    spread,
    velocity,
    volume_surprise,
)

T0 = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday, midnight
H = timedelta(hours=1)


def at(hours: float = 0, minutes: float = 0) -> datetime:
    return T0 + timedelta(hours=hours, minutes=minutes)


# --- velocity ----------------------------------------------------------------------------


def test_velocity_over_a_window() -> None:
    snaps = [(at(9), 1), (at(10), 5), (at(10, 30), 12), (at(11), 20)]
    v = velocity(snaps, at(11), H)
    assert v == Velocity(at(10), at(11), 5, 20, 15, 15, 0, 15.0, 60.0)


def test_velocity_skips_none_counts_and_later_snapshots() -> None:
    snaps = [(at(10), 2), (at(10, 20), None), (at(10, 40), 8), (at(11, 30), 50)]
    v = velocity(snaps, at(11), H)
    assert v is not None
    assert (v.before, v.after, v.gained, v.minutes) == (2, 8, 6, 40.0)
    assert v.per_hour == pytest.approx(9.0)


def test_velocity_deleted_replies_do_not_hide_growth() -> None:
    snaps = [(at(10), 10), (at(10, 20), 20), (at(10, 40), 4), (at(11), 12)]
    v = velocity(snaps, at(11), H)
    assert v is not None
    assert v.delta == 2  # net
    assert v.gained == 18  # 10 -> 20, then 4 -> 12
    assert v.removed == 16
    assert v.per_hour == pytest.approx(18.0)


def test_velocity_start_is_the_count_in_effect_when_the_window_opened() -> None:
    snaps = [(at(9, 30), 3), (at(10, 15), 9), (at(11), 15)]
    v = velocity(snaps, at(11), H)
    assert v is not None
    assert (v.since, v.before, v.minutes, v.gained) == (at(9, 30), 3, 90.0, 12)
    assert v.per_hour == pytest.approx(8.0)


def test_velocity_window_without_earlier_snapshot_starts_at_the_oldest() -> None:
    v = velocity([(at(10, 30), 4), (at(10, 45), 10)], at(11), timedelta(hours=6))
    assert v is not None
    assert (v.before, v.after, v.minutes, v.per_hour) == (4, 10, 15.0, 24.0)


def test_velocity_single_snapshot_is_zero_growth() -> None:
    v = velocity([(at(10), 7)], at(11), H)
    assert v == Velocity(at(10), at(10), 7, 7, 0, 0, 0, 0.0, 0.0)


def test_velocity_without_usable_snapshots_is_none() -> None:
    assert velocity([], at(11), H) is None
    assert velocity([(at(10), None)], at(11), H) is None
    assert velocity([(at(12), 5)], at(11), H) is None


def test_velocity_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        velocity([(datetime(2026, 1, 5, 10), 1)], at(11), H)


# --- poisson tail and surprise -----------------------------------------------------------


@pytest.mark.parametrize(("k", "lam", "expected"), [
    (0, 2.0, 1.0),
    (1, 0.5, 0.39346934028736658),
    (3, 0.5, 0.014387677966970686),
    (10, 10.0, 0.54207028552814779),
    (50, 3.0, 1.2485354871542e-42),
])
def test_poisson_upper_tail(k: int, lam: float, expected: float) -> None:
    assert poisson_sf(k, lam) == pytest.approx(expected, rel=1e-9)


def test_surprise_grows_with_the_count_and_z_matches_p() -> None:
    low, high = volume_surprise(4, 4.0), volume_surprise(15, 4.0)
    assert high.p_value < 1e-4 < low.p_value
    assert high.z > 3.5 > low.z
    assert high.ratio == pytest.approx(3.75)
    assert volume_surprise(0, 4.0).z < 0


def test_surprise_floor_keeps_a_quiet_brand_calm() -> None:
    second_mention = volume_surprise(1, 0.001)
    assert second_mention.expected == 0.5
    assert second_mention.p_value == pytest.approx(0.3935, abs=1e-4)
    assert volume_surprise(2, 0.001).p_value > 0.05
    assert volume_surprise(6, 0.001).z > 3


# --- seasonal baseline -------------------------------------------------------------------


def weekly_history(weeks: int) -> list[int]:
    """1 an hour at night, 10 at 14:00, 20 at Monday 14:00."""
    counts = []
    for h in range(weeks * 168):
        dow, hod = divmod(h % 168, 24)
        counts.append(20 if (dow, hod) == (0, 14) else 10 if hod == 14 else 1)
    return counts


def test_seasonal_expected_values_with_shrinkage() -> None:
    b = SeasonalBaseline.from_hourly(weekly_history(4), T0)
    overall = (161 + 20 + 6 * 10) / 168  # per-hour mean of the history
    hour14 = (4 * 80 + 3 * overall) / (28 + 3)  # hour-of-day 14, shrunk to overall
    assert b.hours == 672
    assert b.expected(at(24 * 7 + 14, 30)) == pytest.approx((80 + 4 * hour14) / 8)  # Monday
    assert b.expected(at(24 + 14)) == pytest.approx((40 + 4 * hour14) / 8)  # Tuesday
    assert b.expected(at(24 + 14)) < hour14 < b.expected(at(14)) < 20
    assert b.expected(at(4)) == pytest.approx(1.0, abs=0.1)
    assert b.expected(at(13), hours=2) == pytest.approx(b.expected(at(13)) + b.expected(at(14)))


def test_more_weeks_trust_the_bucket_more() -> None:
    short = SeasonalBaseline.from_hourly(weekly_history(1), T0)
    long = SeasonalBaseline.from_hourly(weekly_history(12), T0)
    assert short.expected(at(14)) < long.expected(at(14)) < 20


def test_from_events_counts_empty_hours() -> None:
    times = [at(d * 24 + 14, m) for d in range(7) for m in (5, 25, 45)] + [at(200)]
    b = SeasonalBaseline.from_events(times, at(0, 10), at(168, 30))
    assert (b.hours, b.total) == (168, 21)  # the event after the end is left out
    assert b.expected(at(14)) > 1 > b.expected(at(4))


def test_surprise_larger_for_an_anomalous_hour() -> None:
    b = SeasonalBaseline.from_hourly(weekly_history(4), T0)
    night, afternoon = b.surprise(at(4), 10), b.surprise(at(14), 10)
    assert night.z > 5 > afternoon.z
    assert night.p_value < 1e-6 < afternoon.p_value


def test_new_brand_does_not_alarm_on_its_second_mention() -> None:
    b = SeasonalBaseline.from_events([at(20)], T0, at(48))
    # Wednesday 02:00: no own data, so the overall mean, shrunk by two empty nights
    assert b.expected(at(50)) == pytest.approx((3 / 48) / (2 + 3))
    assert b.surprise(at(50), 1).p_value > 0.3
    assert b.surprise(at(50), 2).p_value > 0.05


def test_empty_history_uses_the_floor() -> None:
    b = SeasonalBaseline.from_hourly([], T0)
    assert b.expected(at(3)) == 0.0
    assert b.surprise(at(3), 0).expected == 0.5


def test_buckets_follow_the_brands_time_zone() -> None:
    from datetime import timezone

    east8 = timezone(timedelta(hours=8))
    counts = [10 if h % 24 == 6 else 0 for h in range(28 * 24)]  # 06:00 UTC = 14:00 +8
    b = SeasonalBaseline.from_hourly(counts, T0, tz=east8)
    assert b.expected(datetime(2026, 2, 3, 14, tzinfo=east8)) > 5
    assert b.expected(datetime(2026, 2, 3, 6, tzinfo=east8)) < 1


# --- spread ------------------------------------------------------------------------------


def test_spread_orders_sources_and_measures_gaps() -> None:
    s = spread({"news": at(13), "forum-a": at(10), "forum-b": at(11, 30)})
    assert s == Spread(3, ("forum-a", "forum-b", "news"), at(10),
                       (timedelta(minutes=90), timedelta(minutes=90)), timedelta(minutes=90),
                       timedelta(hours=3))


def test_spread_single_and_empty() -> None:
    assert spread({"forum": at(1)}) == Spread(1, ("forum",), at(1), (), None, timedelta(0))
    assert spread({}).sources == 0


def test_spread_ties_break_by_name() -> None:
    assert spread({"b": at(1), "a": at(1)}).order == ("a", "b")


# --- iceberg -----------------------------------------------------------------------------


def test_iceberg_seed_002_five_percent_rule() -> None:
    assert ICEBERG_MULTIPLIER == 20
    assert iceberg(1) == 20
    assert iceberg(7) == 140
    assert iceberg(0) == 0
    assert iceberg(3, multiplier=2.5) == 8  # 7.5 rounds to even
    with pytest.raises(ValueError):
        iceberg(-1)
    with pytest.raises(ValueError):
        iceberg(5, multiplier=0.5)


# --- sigma rule --------------------------------------------------------------------------


def test_sigma_rule_flags_a_spike_above_mean_plus_k_std() -> None:
    history = [4, 6] * 12  # mean 5, std 1
    flags = sigma_rule(history + [9, 8], k=3.0, trailing=24)
    assert flags[:24] == [False] * 24  # not enough history yet
    assert flags[24] is True  # 9 > 5 + 3
    assert flags[25] is False  # window now holds the 9: mean 5.21, std 1.26


def test_sigma_rule_is_strict_and_uses_only_the_trailing_window() -> None:
    assert sigma_rule([4, 6] * 12 + [8])[-1] is False  # 8 is not > 8
    series = [100] * 10 + [4, 6] * 12 + [9]
    assert sigma_rule(series, trailing=24)[-1] is True  # the old 100s are out of the window


def test_sigma_rule_with_partial_history() -> None:
    series = [4, 6, 4, 6, 30]
    assert sigma_rule(series) == [False] * 5
    assert sigma_rule(series, min_history=4) == [False, False, False, False, True]
    assert sigma_rule([5, 30], min_history=1) == [False, False]  # one bucket has no spread


def test_sigma_rule_hair_trigger_on_flat_history() -> None:
    assert sigma_rule([0] * 24 + [1]) == [False] * 24 + [True]
