"""Forecast how big a growing cascade (a thread's replies, a post's reshares) will get.

A crisis is a cascade that keeps growing, so the PR team wants to know early how far
a complaint will travel, not only how loud it is now. This is a self-exciting point
process in the spirit of SEISMIC (Zhao et al., KDD 2015):

- every event (the post itself and each reshare/reply) keeps "exciting" new events
  for a long time, with a power-law memory kernel ``phi`` (constant for the first
  ``reaction_time`` seconds, then decaying like ``s ** -(1 + theta)``): people react
  mostly at once, but a long tail trickles in for days;
- an event's author reaches ``weight`` people (followers; 1 for forum replies), so
  the exposure a cascade has generated so far is ``sum_i w_i * Phi(t - t_i)``;
- infectiousness ``p`` = events so far / exposure so far (with a weak Gamma prior,
  so a post with 0 or 1 reactions gets a finite, cautious estimate);
- expected final size = observed + ``p`` * exposure still to come from the events
  already seen, times ``1 / (1 - m)`` for the descendants of future events, where
  ``m = p * (typical author weight)`` is the branching factor (capped below 1: an
  estimate above 1 means "still exploding", and a finite forecast is more useful).

The range is the central ``coverage`` of a log-normal (on 1 + future events) whose
spread combines the Poisson/branching noise of the future, the uncertainty of ``p``
(fewer events, wider range) and a model-error term ``spread``. Everything here is
pure: no I/O, no clock.

To rank cascades ("which will reach N?"), sort by ``Forecast.expected``;
``reach_probability`` turns a forecast into P(final >= N) for alert thresholds.
bench/results/cascades.md measures both on real retweet cascades: with the defaults
(SEISMIC's constants) ``expected`` ranks better than the probability and both
overestimate, and ignoring follower counts (``weight_power=0``) ranked better on both
real sets. At one hour, on TiDeH's big cascades, the forecast is barely better than
scaling the first hour's count (median relative error ~0.32 vs ~0.35 when fitted);
a floor learned from that set's sizes, max(f, c * forecast), brings it to ~0.13, but
the count with the same floor does as well (~0.12): the floor knows the set holds only
big cascades, which a live monitor does not, so nothing here ships it.

Times are seconds since the original post; the post itself is **not** one of the
``times`` (it is implicitly at 0 with ``root_weight``) and is **not** counted in
``observed``/``expected``: sizes count reactions only. Add 1 for "events including
the post".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

_NORMAL = NormalDist()  # the standard normal (scipy.special costs every command 0.5 s)
_MIN_WEIGHT = 1.0  # an author with 0 followers still shows the post on public timelines


@dataclass(frozen=True)
class ForecastParams:
    """Model constants. Defaults are SEISMIC's published Twitter values (theta 0.242,
    s0 5 min, alpha = gamma = 1, followers used as is) plus a weak prior, not values
    fitted on our evaluation data. bench/cascades.py fits weight_power, future_scale,
    branching_scale and spread by cross-validation on real cascades: there,
    weight_power 0 won (follower counts added noise, not signal)."""

    theta: float = 0.242  # power-law exponent of the memory-kernel tail
    reaction_time: float = 300.0  # s0: seconds of constant kernel before the tail
    horizon: float = math.inf  # count events up to this many seconds after the post
    default_weight: float = 1.0  # every author's weight when ``weights`` is None
    weight_power: float = 1.0  # use weight ** power: 1 = SEISMIC, 0 = ignore followers
    prior_events: float = 1.0  # strength of the Gamma prior on p, in pseudo-events
    prior_branching: float = 0.5  # prior mean branching factor (reactions per reaction)
    future_scale: float = 1.0  # SEISMIC's alpha: scales the expected future events
    branching_scale: float = 1.0  # SEISMIC's gamma: scales m in 1 / (1 - m)
    max_branching: float = 0.95  # cap on the (scaled) branching factor
    spread: float = 0.5  # log-scale model-error sd added to the range
    coverage: float = 0.8  # [low, high] is this central fraction (0.8: 10th-90th pct)


@dataclass(frozen=True)
class Forecast:
    """A cascade's forecast. Sizes count reactions (reshares/replies), not the post."""

    observed: int  # events seen so far (times <= observed_until)
    expected: float  # expected final size, including ``observed``
    low: float  # lower end of the ``coverage`` range (>= observed)
    high: float  # upper end
    infectiousness: float  # estimated branching factor p * n* (> 1: still exploding)
    spread: float = 0.0  # log-sd of (1 + future events); reach_probability uses it


def kernel_cdf(s: np.ndarray | float, params: ForecastParams = ForecastParams()) -> np.ndarray:
    """Fraction of an event's eventual reactions that come within ``s`` seconds.

    The memory kernel is normalised to 1 so that ``p * weight`` is the expected
    number of direct reactions to one event; its CDF is closed-form, so no
    numerical integration is needed.
    """
    s0, theta = params.reaction_time, params.theta
    s = np.maximum(np.asarray(s, dtype=float), 0.0)
    c = 1.0 / (s0 * (1.0 + 1.0 / theta))
    tail = c * s0 + c * s0 / theta * (1.0 - (np.maximum(s, s0) / s0) ** -theta)
    return np.where(s <= s0, c * s, tail)


def _clean_weights(weights: Sequence[float] | None, n: int, params: ForecastParams) -> np.ndarray:
    """NaN, infinite or negative weights (unknown follower counts) become the median
    of the valid ones, so one bad record neither silences nor dominates a cascade."""
    if weights is None:
        return np.full(n, float(params.default_weight))
    w = np.asarray(weights, dtype=float).reshape(-1)
    if len(w) != n:
        raise ValueError(f"{len(w)} weights for {n} times")
    valid = np.isfinite(w) & (w >= 0)
    fill = float(np.median(w[valid])) if valid.any() else float(params.default_weight)
    return np.where(valid, w, fill)


def _scaled(w: np.ndarray | float, params: ForecastParams) -> np.ndarray:
    return np.maximum(np.asarray(w, dtype=float), _MIN_WEIGHT) ** params.weight_power


@dataclass(frozen=True)
class _Cascade:
    times: np.ndarray  # post (0) + observed events, seconds
    weights: np.ndarray  # scaled weights, same order
    observed: int
    typical: float  # n*: typical weight of a reacting author


def _prepare(times: Sequence[float], observed_until: float, weights: Sequence[float] | None,
             root_weight: float | None, params: ForecastParams) -> _Cascade:
    """Drop what cannot be used: non-finite times and events after ``observed_until``
    (not seen yet); events before the post (clock skew) are moved to 0."""
    t = np.asarray(times, dtype=float).reshape(-1)
    w = _clean_weights(weights, len(t), params)
    keep = np.isfinite(t) & (t <= observed_until)
    t, w = np.maximum(t[keep], 0.0), w[keep]
    if root_weight is None or not math.isfinite(root_weight) or root_weight < 0:
        root_weight = float(np.median(w)) if len(w) else params.default_weight
    ws = _scaled(w, params)
    # median, not mean: follower counts are heavy-tailed and one celebrity reshare
    # would otherwise make every future reshare look like a celebrity's
    typical = float(np.median(ws)) if len(ws) else float(_scaled(root_weight, params))
    root = float(_scaled(root_weight, params))
    return _Cascade(np.concatenate(([0.0], t)), np.concatenate(([root], ws)), len(t), typical)


def _future_mean(p: float, direct_exposure: float, spawn: float,
                 params: ForecastParams) -> tuple[float, float]:
    """Expected future events and the (scaled, capped) branching factor used.

    ``spawn``: exposure a typical future event adds before the horizon."""
    m = min(params.branching_scale * p * spawn, params.max_branching)
    return params.future_scale * p * direct_exposure / (1.0 - m), m


def _spread(p: float, count: float, direct_exposure: float, spawn: float,
            params: ForecastParams) -> float:
    """Log-sd of (1 + future events): branching noise + uncertainty of p + model error.

    Direct reactions are Poisson and each starts a branching cluster, so the future
    has variance mean / (1 - m)**2; p's relative sd is about 1 / sqrt(count), pushed
    through the (capped) forecast by evaluating it at p * exp(+-sd) rather than by a
    derivative that blows up near m = 1. The "1 +" keeps small forecasts (a quiet
    thread: 0.3 more replies) from getting absurd log-normal tails.
    """
    mean, m = _future_mean(p, direct_exposure, spawn, params)
    if mean <= 0:
        return 0.0
    k = 1.0 / math.sqrt(max(count, 1e-9))
    hi, _ = _future_mean(p * math.exp(k), direct_exposure, spawn, params)
    lo, _ = _future_mean(p * math.exp(-k), direct_exposure, spawn, params)
    estimate = 0.5 * math.log(hi / lo)
    variance = mean / (1.0 - m) ** 2 + mean**2 * math.expm1(estimate**2 + params.spread**2)
    return math.sqrt(math.log1p(variance / (mean + 1.0) ** 2))


def forecast_final_size(times: Sequence[float], observed_until: float,
                        weights: Sequence[float] | None = None, *,
                        root_weight: float | None = None,
                        params: ForecastParams = ForecastParams()) -> Forecast:
    """Forecast the final number of reactions to a post from those seen so far.

    ``times``: seconds since the post of each reshare/reply, any order (the post is
    not one of them). ``weights``: followers/degree of each reaction's author, or None
    (forum replies: all ``params.default_weight``); NaN/negative ones take the median
    of the others. ``root_weight``: the post author's followers (None: the median
    event weight). Events after ``observed_until`` are ignored, so replaying history
    cannot leak the future. Deterministic; never raises on empty or degenerate input
    (only on ``len(weights) != len(times)``).
    """
    until = float(observed_until)
    until = 0.0 if math.isnan(until) or until < 0 else until  # +inf: everything is seen
    c = _prepare(times, until, weights, root_weight, params)
    seen = kernel_cdf(until - c.times, params)
    end = kernel_cdf(params.horizon - c.times, params) if math.isfinite(params.horizon) else 1.0
    direct = float(np.sum(c.weights * np.maximum(end - seen, 0.0)))
    count = c.observed + params.prior_events
    p = _infectiousness(count, float(np.sum(c.weights * seen)), c.typical, params)
    spawn = c.typical * _within_horizon(params.horizon - until, params)
    mean, _ = _future_mean(p, direct, spawn, params)
    sd = _spread(p, count, direct, spawn, params)
    low, high = _range(c.observed, mean, sd, params.coverage)
    return Forecast(c.observed, c.observed + mean, low, high, p * c.typical, sd)


def _within_horizon(left: float, params: ForecastParams) -> float:
    """Share of a future event's own reactions that still land before the horizon.

    1 / (1 - m) counts descendants forever; with a horizon ``left`` seconds away, a
    future event arrives on average around midway, so only about Phi(left / 2) of
    its offspring count. (On cascades simulated from this model with m = 0.8 and a
    7-day horizon, this turned a 25-35 % overestimate into a few per cent.)
    """
    return float(kernel_cdf(left / 2.0, params)) if math.isfinite(left) else 1.0


def _infectiousness(count: float, exposure: float, typical: float,
                    params: ForecastParams) -> float:
    """Reactions per unit of exposure: posterior mean under a Gamma prior worth
    ``prior_events`` pseudo-events at branching factor ``prior_branching``, so that
    one early reshare does not read as "everyone who saw it reshared"."""
    prior = 0.0
    if params.prior_branching > 0:
        prior = params.prior_events * typical / params.prior_branching
    return count / (exposure + prior) if exposure + prior > 0 else 0.0


def _log_median(mean: float, sd: float) -> float:
    """log-median of X = 1 + future events, X log-normal with mean 1 + ``mean``."""
    return math.log1p(mean) - sd * sd / 2.0


def _range(observed: int, mean: float, sd: float, coverage: float) -> tuple[float, float]:
    """Central ``coverage`` interval of observed + future (never below ``observed``)."""
    if mean <= 0:
        return float(observed), float(observed)
    z = _NORMAL.inv_cdf(0.5 + coverage / 2.0)
    mid = _log_median(mean, sd)
    return (observed + max(math.exp(mid - z * sd) - 1.0, 0.0),
            observed + max(math.exp(mid + z * sd) - 1.0, 0.0))


def reach_probability(forecast: Forecast, target: float) -> float:
    """P(final size >= ``target`` reactions): the score for "will this reach N".

    Same log-normal as the range, so it weighs both how much growth is expected and
    how sure that is: a small thread with a wide range can outrank a steadier one
    closer to the target. 1 once the target is reached, 0 when no growth is
    expected. Meant for alert thresholds; to rank cascades prefer ``expected``,
    which ranked real cascades better with the default constants (AUC 0.978 vs
    0.945 on auspol, reach 20; bench/results/cascades.md). Not calibrated on real
    data: with the defaults it runs high.
    """
    gap = target - forecast.observed
    if gap <= 0:
        return 1.0
    mean = forecast.expected - forecast.observed
    if mean <= 0:
        return 0.0
    mid = _log_median(mean, forecast.spread)
    threshold = math.log(gap + 0.5)  # 1 + future >= gap + 1, continuity-corrected
    if forecast.spread <= 0:
        return float(threshold <= mid)
    return 1.0 - _NORMAL.cdf((threshold - mid) / forecast.spread)


def events_from_counts(snapshots: Sequence[tuple[float, float]]) -> list[float]:
    """Turn forum snapshots ``(seconds_since_post, cumulative_count)`` into event times.

    Forums show "42 replies", not when each came, so the replies that appeared
    between two snapshots are spread evenly over that gap (midpoints of equal
    slices); those in the first snapshot are spread from the post (0) onwards.
    Snapshots may come in any order; non-finite ones are skipped; a count that drops
    (deleted replies) is read as unchanged, because the reactions did happen.
    """
    clean = sorted((max(float(t), 0.0), float(n)) for t, n in snapshots
                   if math.isfinite(t) and math.isfinite(n))
    events: list[float] = []
    prev_t, prev_n = 0.0, 0
    for t, n in clean:
        count = max(int(round(n)), prev_n)
        new = count - prev_n
        step = (t - prev_t) / new if new else 0.0
        events.extend(prev_t + (j + 0.5) * step for j in range(new))
        prev_t, prev_n = t, count
    return events
