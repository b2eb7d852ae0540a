"""The cascade bench's ranking pieces (bench/cascade_rank.py) and its TiDeH
(bench/cascade_tideh.py): pure functions checked against numbers worked out by hand."""

import numpy as np
import pytest
from scipy import integrate

from bench.cascade_rank import calibrated_range, zscore_average
from bench.cascade_tideh import (
    Circadian,
    Observed,
    Predictor,
    fit_p0,
    kernel,
    kernel_cdf,
    shape,
)


def test_zscore_average_uses_the_training_scales_only():
    train = np.array([[0.0, 10.0], [2.0, 30.0]])  # means 1 and 20, sds 1 and 10
    test = np.array([[3.0, 20.0], [1.0, 40.0]])
    assert zscore_average(train, test) == pytest.approx([1.0, 1.0])
    # a constant training column (sd 0) is centred, not divided by zero
    flat = zscore_average(np.array([[5.0], [5.0]]), np.array([[7.0]]))
    assert flat == pytest.approx([2.0])


def test_calibrated_range_covers_the_training_spread_and_never_dips_below_observed():
    rng = np.random.default_rng(0)
    score = rng.normal(size=2000)
    log_size = 2.0 * score + 7.0 + rng.normal(scale=0.3, size=2000)
    new = np.array([0.0, 1.0])
    pred, low, high = calibrated_range(score, log_size, new, np.array([10.0, 10.0]))
    assert pred == pytest.approx(np.exp([7.0, 9.0]), rel=0.05)
    # 10-90 % of N(0, 0.3) is +-0.384 on the log scale
    assert np.log(high / pred) == pytest.approx([0.384, 0.384], abs=0.03)
    assert np.log(pred / low) == pytest.approx([0.384, 0.384], abs=0.03)
    # already seen more than the model expects: forecast and range start there
    pred, low, high = calibrated_range(score, log_size, new, np.array([5000.0, 1.0]))
    assert pred[0] == low[0] == 5000.0 and high[0] >= 5000.0
    assert low[1] < pred[1] < high[1]


def test_tideh_kernel_is_a_distribution():
    total, _ = integrate.quad(lambda s: float(kernel(np.array(s))), 0, np.inf, limit=400)
    assert total == pytest.approx(1.0, rel=1e-3)
    for s in (0.02, 0.5, 30.0):
        part, _ = integrate.quad(lambda u: float(kernel(np.array(u))), 0, s, limit=400)
        assert float(kernel_cdf(np.array(s))) == pytest.approx(part, rel=1e-4)


def test_tideh_circadian_shape_follows_the_day_and_fades():
    day = Circadian(r0=0.5, phi0=0.0, tau=1e12)
    # sin peaks a quarter-day after midnight (phi0 = 0): the rate is lowest at 6:00
    assert float(shape(np.array(6.0), 0.0, day)) == pytest.approx(0.5)
    assert float(shape(np.array(18.0), 0.0, day)) == pytest.approx(1.5)
    assert float(shape(np.array(5.0), 1.0, day)) == pytest.approx(0.5)  # posted at 1:00
    fading = Circadian(r0=0.0, tau=10.0)
    assert float(shape(np.array(10.0), 0.0, fading)) == pytest.approx(np.exp(-1.0))


def _no_reshares_yet(followers: float = 100.0, count: int = 0) -> Observed:
    return Observed(np.array([0.0] + [0.5] * count), np.array([followers] * (count + 1)),
                    0.0, 1.0)


def test_tideh_p0_is_the_count_over_the_exposure():
    flat = Circadian(r0=0.0, tau=1e12)
    o = Observed(np.array([0.0, 0.5, 0.5]), np.array([100.0, 0.0, 0.0]), 0.0, 1.0)
    # only the post exposes anyone: exposure = 100 * Phi(1 h); 2 reshares seen
    assert fit_p0(o, flat) == pytest.approx(2.0 / (100.0 * float(kernel_cdf(np.array(1.0)))),
                                            rel=1e-6)
    assert fit_p0(_no_reshares_yet(), flat) == 0.0


def test_tideh_forecast_without_offspring_is_the_remaining_exposure():
    """Resharers with no followers spawn nothing, so the future is p0 times the
    exposure the post still has to give until the horizon (TiDeH with no branching)."""
    flat = Circadian(r0=0.0, tau=1e12)
    o = Observed(np.array([0.0, 0.2, 0.4, 0.6]), np.array([1000.0, 0.0, 0.0, 0.0]), 0.0, 1.0)
    p0 = fit_p0(o, flat)
    left = 1000.0 * float(kernel_cdf(np.array(48.0)) - kernel_cdf(np.array(1.0)))
    got = Predictor([o], horizon=48.0, dt=0.05).predict(flat)
    assert got[0] == pytest.approx(3 + p0 * left, rel=0.02)
    # followers of the resharers add offspring: a bigger forecast
    spread = Observed(o.times, np.array([1000.0, 300.0, 300.0, 300.0]), 0.0, 1.0)
    assert Predictor([spread], horizon=48.0, dt=0.05).predict(flat)[0] > got[0]


def test_tideh_night_ahead_means_fewer_reshares_to_come():
    """Same first hour, seen at the day's busiest time (17:00-18:00, before the
    quiet night) or its quietest (5:00-6:00, before the day picks up): the same count
    in a quiet hour means a more infectious post, and the day ahead adds to it."""
    day = Circadian(r0=0.6, phi0=0.0, tau=1e12)  # rate lowest at 6:00, highest at 18:00
    times, followers = np.array([0.0, 0.3, 0.6, 0.9]), np.array([500.0, 50.0, 50.0, 50.0])
    evening = Observed(times, followers, 17.0, 1.0)
    dawn = Observed(times, followers, 5.0, 1.0)
    into_night, into_day = Predictor([evening, dawn], horizon=12.0, dt=0.05).predict(day)
    assert into_night < into_day
    flat = Predictor([evening, dawn], horizon=12.0, dt=0.05).predict(Circadian(tau=1e12))
    assert flat[0] == pytest.approx(flat[1])
