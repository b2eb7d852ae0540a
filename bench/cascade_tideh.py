"""TiDeH (Kobayashi & Lambiotte, ICWSM 2016) for ``bench/cascades.py``: a Hawkes
process whose infection rate follows the day (people retweet less at night) and
fades as the post ages, with SEISMIC's power-law memory kernel.

    lambda(t) = p(t) * sum_i d_i * phi(t - t_i)          (t in hours since the post)
    p(t)      = p0 * (1 - r0 * sin(2 pi ((t0 + t) / 24 + phi0))) * exp(-t / tau)

``t0`` is the post's clock time in hours (TiDeH's data give its start in days),
``d_i`` an event's followers (the post's author included, at t = 0). Per cascade,
only ``p0`` is fitted, by maximum likelihood on the observed hour (closed form: the
count over the shape-weighted exposure); ``r0``, ``phi0`` and ``tau`` are shared by
all cascades and picked on training folds. The final size is the observed count plus
the integral of the expected intensity up to the horizon, which solves TiDeH's
self-consistent equation (each future event has the mean follower count of the
observed resharers, capped so that the branching factor stays below 1 at p's peak).

Written here from the paper's equations (vectorised over cascades); nothing is
copied from the TiDeH package. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

S0 = 5.0 / 60.0  # hours of constant kernel before the power-law tail (SEISMIC)
THETA = 0.242  # power-law exponent of the kernel tail (SEISMIC)
DAY = 24.0


@dataclass(frozen=True)
class Circadian:
    """Shared shape of the infection rate: amplitude, phase (days), fading (hours)."""

    r0: float = 0.0
    phi0: float = 0.0
    tau: float = 48.0


def kernel(s: np.ndarray) -> np.ndarray:
    """SEISMIC's memory kernel phi(s), normalised to integrate to 1 over s >= 0."""
    s = np.asarray(s, dtype=float)
    c0 = 1.0 / (S0 * (1.0 + 1.0 / THETA))
    tail = c0 * (np.maximum(s, S0) / S0) ** -(1.0 + THETA)
    return np.where(s < 0, 0.0, np.where(s <= S0, c0, tail))


def kernel_cdf(s: np.ndarray) -> np.ndarray:
    """Integral of ``kernel`` from 0 to s."""
    s = np.maximum(np.asarray(s, dtype=float), 0.0)
    c0 = 1.0 / (S0 * (1.0 + 1.0 / THETA))
    tail = c0 * S0 * (1.0 + (1.0 - (np.maximum(s, S0) / S0) ** -THETA) / THETA)
    return np.where(s <= S0, c0 * s, tail)


def shape(t: np.ndarray, start: float, c: Circadian) -> np.ndarray:
    """p(t) / p0 at hours ``t`` after a post made at clock hour ``start``."""
    t = np.asarray(t, dtype=float)
    return (1.0 - c.r0 * np.sin(2.0 * np.pi * ((start + t) / DAY + c.phi0))) * np.exp(-t / c.tau)


@dataclass(frozen=True)
class Observed:
    """What a cascade showed by ``obs`` hours: event times (hours, the post at 0 first)
    and followers, and the post's clock hour."""

    times: np.ndarray
    followers: np.ndarray
    start: float
    obs: float

    @property
    def count(self) -> int:
        return len(self.times) - 1  # reshares, not the post


def observe(times_s: np.ndarray, followers: np.ndarray, root_followers: float,
            start_day: float, obs_s: float) -> Observed:
    """Events up to ``obs_s`` seconds (later ones are never passed on)."""
    seen = times_s <= obs_s
    return Observed(np.concatenate(([0.0], times_s[seen] / 3600.0)),
                    np.concatenate(([root_followers], followers[seen])).astype(float),
                    (start_day * DAY) % DAY, obs_s / 3600.0)


def window_exposure(o: Observed, bins: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Exposure gained in each of ``bins`` slices of the observed window (the kernel
    integrated exactly) and the slices' midpoints: what ``fit_p0`` weighs by p's
    shape, which is held constant within a slice."""
    edges = np.linspace(0.0, o.obs, bins + 1)
    gained = (kernel_cdf(edges[1:, None] - o.times[None, :])
              - kernel_cdf(edges[:-1, None] - o.times[None, :])) @ o.followers
    return 0.5 * (edges[:-1] + edges[1:]), gained


def fit_p0(o: Observed, c: Circadian,
           window: tuple[np.ndarray, np.ndarray] | None = None) -> float:
    """Maximum-likelihood p0: reshares seen / integral of shape x exposure over the
    observed window (``window``: ``window_exposure(o)``, if already computed)."""
    mids, gained = window_exposure(o) if window is None else window
    exposure = float(shape(mids, o.start, c) @ gained)
    return o.count / exposure if exposure > 0 else 0.0


class Predictor:
    """Expected final sizes of many cascades observed for the same time, for any
    ``Circadian``: the exposure from observed events on the prediction grid does not
    depend on the rate, so it is computed once."""

    def __init__(self, cascades: list[Observed], horizon: float, dt: float = 0.1):
        obs = cascades[0].obs
        if any(o.obs != obs for o in cascades):
            raise ValueError("all cascades must be observed for the same time")
        self.cascades, self.dt = cascades, dt
        self.grid = np.arange(obs, horizon, dt)
        self.direct = np.array([self._exposure(o) for o in cascades])
        self.windows = [window_exposure(o) for o in cascades]
        lags = self.grid - self.grid[0]
        self.lagged = kernel(lags)  # phi(k dt), k = 0, 1, ...
        self.mean_followers = np.array([o.followers[1:].mean() if o.count else 0.0
                                        for o in cascades])

    def _exposure(self, o: Observed, step: float = 10.0 / 3600.0) -> np.ndarray:
        """sum_i d_i phi(t - t_i) on the grid, events pooled in ``step``-hour bins
        (10 s: far below the kernel's 5-minute flat start) to keep it fast."""
        edges = np.arange(0.0, o.obs + step, step)
        at = np.minimum(np.searchsorted(edges, o.times, side="right") - 1, len(edges) - 1)
        pooled = np.bincount(at, weights=o.followers, minlength=len(edges))
        used = np.flatnonzero(pooled)
        centres = np.minimum(edges[used] + step / 2, o.obs)
        return kernel(self.grid[:, None] - centres[None, :]) @ pooled[used]

    def predict(self, c: Circadian) -> np.ndarray:
        """Observed count + expected reshares until the horizon, per cascade."""
        p0 = np.array([fit_p0(o, c, w) for o, w in zip(self.cascades, self.windows, strict=True)])
        rate = p0[:, None] * np.array([shape(self.grid, o.start, c) for o in self.cascades])
        peak = p0 * (1.0 + abs(c.r0))
        d = np.where(peak > 0, np.minimum(self.mean_followers, 1.0 / np.maximum(peak, 1e-300)),
                     0.0)
        return np.array([o.count for o in self.cascades]) + self._future(rate, d)

    def _future(self, rate: np.ndarray, d: np.ndarray) -> np.ndarray:
        """Solve lambda_k = p_k (f_k + d * dt * sum_{j<=k} phi((k - j) dt) lambda_j)
        forward in time (trapezoid weights at both ends, as in the paper)."""
        n, steps = rate.shape
        lam = np.zeros((n, steps))
        alpha = d[:, None] * rate * self.dt
        ker = self.lagged
        for k in range(steps):
            past = 0.0
            if k:
                past = lam[:, 1:k] @ ker[k - 1:0:-1] + 0.5 * ker[k] * lam[:, 0]
            lam[:, k] = (rate[:, k] * self.direct[:, k] + alpha[:, k] * past) \
                / (1.0 - 0.5 * alpha[:, k] * ker[0])
        return self.dt * lam.sum(axis=1)
