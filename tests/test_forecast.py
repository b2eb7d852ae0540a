"""Cascade-size forecasts (monitor.detection.forecast) on cascades simulated from the model's
own self-exciting process (fixed seeds), degenerate inputs, forum snapshots, and one
real-data check against ../shared/data/cascades (skipped when absent)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.detection.forecast import (
    Forecast,
    ForecastParams,
    events_from_counts,
    forecast_final_size,
    kernel_cdf,
    reach_probability,
)

WEEK = 7 * 86400.0
HOUR = 3600.0
DEFAULT = ForecastParams()


def kernel_draws(rng: np.random.Generator, n: int, params: ForecastParams) -> np.ndarray:
    """Inverse of kernel_cdf: delays between an event and its reactions."""
    s0, theta = params.reaction_time, params.theta
    head = theta / (1 + theta)  # kernel mass before s0
    u = rng.random(n)
    tail = s0 * np.maximum(1 - (u - head) * theta / head, 1e-300) ** (-1 / theta)
    return np.where(u <= head, u / head * s0, tail)


def simulate(seed: int, branching: float, root_weight: float, horizon: float = WEEK) -> np.ndarray:
    """Reaction times of one cascade: every event with weight w gets Poisson(p * w)
    reactions after kernel delays (authors all weigh 1, so p is the branching factor)."""
    rng = np.random.default_rng(seed)
    times: list[float] = []
    frontier = [(0.0, root_weight)]
    while frontier:
        born = []
        for t, w in frontier:
            delays = kernel_draws(rng, rng.poisson(branching * w), DEFAULT)
            born += [(t + d, 1.0) for d in delays if t + d <= horizon]
        times += [t for t, _ in born]
        frontier = born
    return np.sort(np.array(times))


def check(f: Forecast) -> None:
    values = (f.expected, f.low, f.high, f.infectiousness, f.spread)
    assert all(math.isfinite(v) for v in values), f
    assert f.observed <= f.low <= f.high and f.observed <= f.expected, f
    assert f.infectiousness >= 0 and f.spread >= 0


@pytest.mark.parametrize(("times", "until", "weights"), [
    ([], HOUR, None),
    ([12.0], HOUR, None),
    ([0.0, 0.0, 0.0], 0.0, None),
    ([0.0, 0.0, 0.0], HOUR, [5.0, 5.0, 5.0]),
    ([10.0, 20.0, 9000.0], HOUR, None),
    ([10.0, 20.0, 30.0], HOUR, [float("nan"), -3.0, 50.0]),
    ([10.0, 20.0], HOUR, [float("nan"), float("inf")]),
    ([10.0, float("nan"), -40.0], HOUR, None),
    ([10.0, 20.0], float("nan"), None),
    ([10.0, 20.0], -5.0, None),
    ([10.0, 20.0], math.inf, None),
    ([1.0] * 500, 2.0, None),  # 500 reactions in 2 s: explosive, still finite
])
def test_degenerate_inputs_give_sane_forecasts(times, until, weights):
    check(forecast_final_size(times, until, weights))
    check(forecast_final_size(times, until, weights, params=ForecastParams(prior_events=0)))


def test_no_events_and_no_prior_means_no_growth():
    f = forecast_final_size([], HOUR, params=ForecastParams(prior_events=0))
    assert (f.observed, f.expected, f.low, f.high) == (0, 0.0, 0.0, 0.0)


def test_mismatched_weights_are_a_caller_bug():
    with pytest.raises(ValueError):
        forecast_final_size([1.0, 2.0], HOUR, [3.0])


def test_future_events_are_ignored_and_order_does_not_matter():
    times = list(simulate(1, 0.5, 40.0))
    seen = [t for t in times if t <= HOUR]
    f = forecast_final_size(times, HOUR)
    assert f.observed == len(seen)
    assert f == forecast_final_size(seen, HOUR)
    assert f == forecast_final_size(seen[::-1], HOUR)
    assert f == forecast_final_size(list(reversed(times)), HOUR)  # deterministic too


def test_nothing_more_to_come_after_the_horizon():
    times = [60.0, 120.0, 600.0]
    f = forecast_final_size(times, HOUR, params=ForecastParams(horizon=HOUR))
    assert f.expected == f.low == f.high == 3
    assert forecast_final_size(times, math.inf).expected == 3


def test_forecast_recovers_the_simulated_process():
    """Cascades drawn from the model with branching 0.5 (root: 20 direct reactions);
    watched for 6 hours they should give back m, the final size and a range that
    holds about 80 % of the truths."""
    params = ForecastParams(horizon=WEEK)
    ms, ratios, inside = [], [], []
    for seed in range(60):
        times = simulate(seed, 0.5, 40.0)
        f = forecast_final_size(times, 6 * HOUR, root_weight=40.0, params=params)
        ms.append(f.infectiousness)
        ratios.append(f.expected / len(times))
        inside.append(f.low <= len(times) <= f.high)
    assert abs(np.median(ms) - 0.5) < 0.08
    assert 0.85 < np.median(ratios) < 1.2
    assert np.median(np.abs(np.array(ratios) - 1)) < 0.3
    assert 0.65 <= np.mean(inside) <= 0.97


def test_forecast_ranks_simulated_cascades_by_final_size():
    params = ForecastParams(horizon=WEEK)
    sizes, expected = [], []
    for seed, m in enumerate([0.2, 0.4, 0.6, 0.8] * 8):
        times = simulate(100 + seed, m, 20.0)
        sizes.append(len(times))
        expected.append(forecast_final_size(times, 2 * HOUR, root_weight=20.0,
                                            params=params).expected)
    rho = np.corrcoef(np.argsort(np.argsort(sizes)), np.argsort(np.argsort(expected)))[0, 1]
    assert rho > 0.75


def test_followers_scale_out_but_late_big_accounts_count_more():
    times = [60.0, 300.0, 1200.0, 3000.0]
    base = forecast_final_size(times, HOUR, [10.0, 10.0, 10.0, 10.0], root_weight=10.0)
    scaled = forecast_final_size(times, HOUR, [100.0] * 4, root_weight=100.0)
    assert scaled.expected == pytest.approx(base.expected)  # only relative reach matters
    early = forecast_final_size(times, HOUR, [1000.0, 10.0, 10.0, 10.0], root_weight=10.0)
    late = forecast_final_size(times, HOUR, [10.0, 10.0, 10.0, 1000.0], root_weight=10.0)
    assert late.expected > early.expected  # a big account's audience is still reacting


def test_weight_power_zero_ignores_followers():
    times = [60.0, 300.0, 1200.0]
    flat = ForecastParams(weight_power=0.0)
    assert (forecast_final_size(times, HOUR, [5.0, 5000.0, 7.0], root_weight=1e6, params=flat)
            == forecast_final_size(times, HOUR, params=flat))


def test_fewer_events_mean_a_wider_range():
    few = forecast_final_size([600.0, 1800.0], HOUR, root_weight=4.0)
    many = forecast_final_size(np.linspace(30, 3000, 100), HOUR, root_weight=200.0)
    assert few.spread > many.spread
    assert few.high / few.low > many.high / many.low


def test_reach_probability_is_a_monotone_score():
    f = forecast_final_size(np.linspace(30, 3000, 40), HOUR)
    probs = [reach_probability(f, n) for n in (10, 40, 41, 80, 200, 1000, 10**6)]
    assert probs[:2] == [1.0, 1.0]
    assert all(a >= b for a, b in zip(probs, probs[1:], strict=False))
    assert probs[-1] < 0.01 < probs[2] < 1.0
    assert reach_probability(Forecast(3, 3.0, 3.0, 3.0, 0.0), 4) == 0.0


def test_kernel_cdf_is_a_distribution():
    s = np.array([-5.0, 0.0, 150.0, 300.0, 3600.0, 1e12, math.inf])
    cdf = kernel_cdf(s)
    assert cdf[0] == cdf[1] == 0.0 and cdf[-1] == pytest.approx(1.0)
    assert np.all(np.diff(cdf) >= 0) and cdf[-2] < 1.0
    draws = kernel_draws(np.random.default_rng(0), 50_000, DEFAULT)
    for q in (100.0, 300.0, 3600.0, 86400.0):
        assert np.mean(draws <= q) == pytest.approx(float(kernel_cdf(q)), abs=0.01)


def test_events_from_counts_spreads_replies_between_snapshots():
    assert events_from_counts([]) == []
    assert events_from_counts([(600.0, 2), (1200.0, 4)]) == [150.0, 450.0, 750.0, 1050.0]
    # unordered, a NaN snapshot, a drop (deleted replies) and a repeat
    snaps = [(1200.0, 3), (600.0, 3), (float("nan"), 9), (1800.0, 1), (2400.0, 5)]
    assert events_from_counts(snaps) == [100.0, 300.0, 500.0, 1950.0, 2250.0]
    assert events_from_counts([(-10.0, 2)]) == [0.0, 0.0]


def test_forum_thread_forecast_from_snapshots():
    """A thread seen every 10 minutes: reply counts in, a forecast out."""
    snaps = [(600.0 * k, n) for k, n in enumerate([0, 4, 9, 13, 16, 18, 20], start=1)]
    f = forecast_final_size(events_from_counts(snaps), snaps[-1][0])
    check(f)
    assert f.observed == 20 and f.expected > 20


@pytest.mark.realdata
def test_real_cascades_keep_the_benchmarked_floor():
    """auspol, will a cascade reach 20 events (bench/results/cascades.md): ranking by
    the expected size measured AUC 0.978 with SEISMIC's constants and 0.990 without
    follower weighting; P(reach 20) 0.945 and 0.990. Floors are 0.01 lower."""
    from bench.cascade_data import DATA, PUBLISHED, auc, auspol
    from bench.cascade_reach import reach_scores

    if not DATA.is_dir():
        pytest.skip(f"{DATA} is absent")
    cascades, _ = auspol()
    labels = np.array([1 + c.total >= 20 for c in cascades], dtype=int)
    probability, expected = reach_scores(cascades, PUBLISHED)
    assert auc(expected, labels) >= 0.968 and auc(probability, labels) >= 0.935
    flat = ForecastParams(horizon=PUBLISHED.horizon, weight_power=0.0)
    probability, expected = reach_scores(cascades, flat)
    assert auc(expected, labels) >= 0.98 and auc(probability, labels) >= 0.98


def test_the_benchmarks_floored_scale_finds_a_known_floor_and_multiplier():
    """bench/cascades.py fits max(f, c * prediction) on training cascades; on sizes made
    exactly that way it must recover f and c, and with no floor in the data pick none."""
    from bench.cascade_data import floored_scale, rel_errors

    rng = np.random.default_rng(3)
    pred = rng.uniform(200, 4000, 200)
    truth = np.maximum(2000.0, 1.5 * pred)
    floor, scale = floored_scale(pred, truth)
    assert scale == pytest.approx(1.5)
    assert floor == pytest.approx(2000.0)
    assert np.median(rel_errors(np.maximum(floor, scale * pred), truth)) == pytest.approx(0.0)
    plain = 2.0 * pred
    floor, scale = floored_scale(pred, plain)
    assert scale == pytest.approx(2.0) and floor <= plain.min()


def test_the_benchmarks_follower_regression_uses_who_was_reached():
    """bench/cascades.py's ridge row with followers: on cascades whose final size is set
    by the first hour's count and by the root's followers, adding follower columns must
    cut the cross-validated error the counts alone leave."""
    from bench.cascade_data import Cascade
    from bench.cascades import early_counts, follower_counts, ridge_regression

    rng = np.random.default_rng(5)
    cascades = []
    for _ in range(100):
        n, root = int(rng.integers(20, 400)), float(rng.lognormal(9, 1.5))
        times = np.sort(rng.uniform(0, 3600, n))
        total = int(n * 8 * (root / 8000) ** 0.5 * rng.lognormal(0, 0.05)) + n
        cascades.append(Cascade(times, np.full(n, 100.0), root, total))
    truth = np.array([c.total for c in cascades], dtype=float)
    counts = early_counts(cascades)
    followers = follower_counts(cascades)
    assert followers[:, 0].tolist() == [c.root_weight for c in cascades]
    assert followers[:, 1].tolist() == [100.0 * c.times.size for c in cascades]
    alone = ridge_regression("counts", counts, truth).values["median rel. error"]
    both = ridge_regression("both", np.column_stack([counts, followers]),
                            truth).values["median rel. error"]
    assert both < alone / 2
