"""Issue 15's ranking target in ``bench/cascades.py``: which of TiDeH's cascades end
biggest, judged at 1 h (Spearman >= 0.70), with a 10-90% range whose coverage is
measured. TiDeH's own model (``bench/cascade_tideh.py``), regressions and a plain
average of standardised log features, each scored over several fold seeds because
with 100 cascades one seed's luck moves Spearman by +-0.03.

Every fitted number (means, sds, coefficients, TiDeH's circadian constants, range
quantiles, which candidate to use) comes from the training folds only.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from scipy import stats

from bench.cascade_data import (
    HOUR,
    PUBLISHED,
    WEEK,
    Cascade,
    Row,
    forecast_at,
    out_of_fold,
    spearman,
)
from bench.cascade_tideh import Circadian, Predictor, observe

FOLD_SEEDS = (13, 1, 2, 3, 4, 5, 6, 7)
RECENT = 1200.0  # "rate now": reshares in the last 20 minutes of the observed hour
TIDEH_GRID = [Circadian(r0, phi0, tau) for r0, phi0, tau in itertools.product(
    (0.0, 0.25, 0.5), np.arange(6) / 6, (24.0, 96.0, 1e4)) if r0 > 0 or phi0 == 0]
SEISMIC_UNWEIGHTED = replace(PUBLISHED, weight_power=0.0)  # nothing fitted
PAPER = Circadian(0.424, 0.125, 48.0)  # TiDeH's package defaults (r0, phi0, tau 2 days)

FitPredict = Callable[[np.ndarray, np.ndarray], np.ndarray]


def features(cascades: list[Cascade]) -> dict[str, np.ndarray]:
    """log(1 + x) of what the first hour shows: how much (count), how fast now (last
    20 min), and how far it could travel (summed followers, summed log followers)."""
    seen = [c.until(HOUR) for c in cascades]
    raw = {"count": [len(t) for t, _ in seen],
           "recent": [np.sum(t > HOUR - RECENT) for t, _ in seen],
           "followers": [w.sum() for _, w in seen],
           "log followers": [np.log1p(w).sum() for _, w in seen],
           "author": [c.root_weight for c in cascades],
           "recent followers": [w[t > HOUR - RECENT].sum() for t, w in seen],
           "SEISMIC p": [forecast_at(c, HOUR, SEISMIC_UNWEIGHTED).infectiousness
                         for c in cascades]}
    for minutes in (15, 30, 45):
        raw[f"count {minutes}"] = [np.sum(t <= 60.0 * minutes) for t, _ in seen]
    out = {k: np.log1p(np.asarray(v, dtype=float)) for k, v in raw.items()}
    hour = np.array([c.start_day % 1.0 for c in cascades]) * 2.0 * np.pi
    return out | {"hour sin": np.sin(hour), "hour cos": np.cos(hour)}


def zscore_average(train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Mean of the columns of ``test`` standardised by ``train``'s means and sds: one
    score with equal weights, so nothing but the scales is fitted (with ~90
    training cascades, fitted weights chase noise; see the ridge rows)."""
    sd = train.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return ((test - train.mean(axis=0)) / sd).mean(axis=1)


def calibrated_range(score_train: np.ndarray, log_size_train: np.ndarray,
                     score_test: np.ndarray, observed_test: np.ndarray,
                     coverage: float = 0.8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score -> log final size by a straight line fitted on training cascades; the
    range is the training residuals' central ``coverage`` quantiles around it. No
    forecast or bound is ever below what has been observed (``observed_test``)."""
    slope, intercept = np.polyfit(score_train, log_size_train, 1)
    resid = log_size_train - (slope * score_train + intercept)
    lo_q, hi_q = np.quantile(resid, [(1 - coverage) / 2, (1 + coverage) / 2])
    centre = slope * score_test + intercept
    floor = np.asarray(observed_test, dtype=float)
    return (np.maximum(np.exp(centre), floor), np.maximum(np.exp(centre + lo_q), floor),
            np.maximum(np.exp(centre + hi_q), floor))


def ridge(x: np.ndarray, y: np.ndarray, l2: float = 1.0) -> FitPredict:
    """log final size ~ standardised features, ridge, fitted on the training fold."""
    def fit_predict(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        mu, sd = x[train].mean(axis=0), x[train].std(axis=0) + 1e-9
        a, centre = (x[train] - mu) / sd, y[train].mean()
        coef = np.linalg.solve(a.T @ a + l2 * np.eye(a.shape[1]), a.T @ (y[train] - centre))
        return centre + (x[test] - mu) / sd @ coef
    return fit_predict


def averaged(x: np.ndarray, y: np.ndarray) -> FitPredict:
    """``zscore_average`` mapped to log size on the training fold (monotone, so the
    ranking is the score's; only the scale across folds moves)."""
    def fit_predict(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        slope, intercept = np.polyfit(zscore_average(x[train], x[train]), y[train], 1)
        return slope * zscore_average(x[train], x[test]) + intercept
    return fit_predict


def ensemble(*members: FitPredict) -> FitPredict:
    """Mean of members' log-size predictions (each fitted on the same training fold)."""
    return lambda train, test: np.mean([m(train, test) for m in members], axis=0)


def tideh_model(cascades: list[Cascade], y: np.ndarray) -> tuple[FitPredict, np.ndarray]:
    """TiDeH forecasts for every grid point; per fold the circadian constants with the
    lowest training mean |log error| (after the training median shift) are used."""
    observed = [observe(c.times, c.weights, c.root_weight, c.start_day, HOUR)
                for c in cascades]
    predictor = Predictor(observed, WEEK / 3600.0, dt=0.2)
    logs = [np.log(np.maximum(predictor.predict(g), 1.0)) for g in TIDEH_GRID]

    def error(k: int, train: np.ndarray) -> float:
        d = y[train] - logs[k][train]
        return float(np.mean(np.abs(d - np.median(d))))

    def fit_predict(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        k = min(range(len(logs)), key=lambda i: error(i, train))
        return logs[k][test] + np.median(y[train] - logs[k][train])

    return fit_predict, np.log(np.maximum(predictor.predict(PAPER), 1.0))


def picked_by_inner_cv(candidates: list[FitPredict], y: np.ndarray, seed: int) -> FitPredict:
    """Nested CV: inside each training fold, a 10-fold CV ranks the candidates by
    Spearman and the best is refitted on the whole training fold, so the choice of
    model (not only its numbers) is made without the test fold."""
    chosen: dict[bytes, FitPredict] = {}  # the coverage pass asks again for each fold

    def fit_predict(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        def inner(m: FitPredict) -> float:
            oof = out_of_fold(len(train), lambda tr, te: m(train[tr], train[te]), seed=seed)
            return spearman(oof, y[train])
        key = train.tobytes()
        if key not in chosen:
            chosen[key] = max(candidates, key=inner)
        return chosen[key](train, test)
    return fit_predict


def coverage(fp: FitPredict, truth: np.ndarray, observed: np.ndarray, seed: int) -> float:
    """Share of true sizes inside ``calibrated_range`` built on each training fold."""
    y, lows, highs = np.log(truth), np.zeros(len(truth)), np.zeros(len(truth))

    def ranged(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        _, lows[test], highs[test] = calibrated_range(fp(train, train), y[train],
                                                      fp(train, test), observed[test])
        return lows[test]

    out_of_fold(len(y), ranged, seed=seed)
    return float(np.mean((lows <= truth) & (truth <= highs)))


def over_seeds(fit_predict_for: Callable[[int], FitPredict], truth: np.ndarray,
               observed: np.ndarray | None = None) -> dict[str, float]:
    """Spearman (and, with ``observed``, 10-90% coverage of a range calibrated on each
    training fold) for fold seed 13 and the mean over ``FOLD_SEEDS``."""
    rhos, cover = [], []
    for seed in FOLD_SEEDS:
        fp = fit_predict_for(seed)
        rhos.append(spearman(out_of_fold(len(truth), fp, seed=seed), truth))
        if observed is not None:
            cover.append(coverage(fp, truth, observed, seed))
    values = {"Spearman": rhos[0], "Spearman, mean of 8 fold seeds": float(np.mean(rhos)),
              "Spearman, min over seeds": float(np.min(rhos))}
    if cover:
        values |= {"in range": cover[0], "in range, mean of 8 fold seeds": float(np.mean(cover))}
    return values


def findings(rows: list[Row]) -> str:
    """What the ranking rows say, with their own numbers (mean of 8 fold seeds)."""
    def v(part: str) -> float:
        return next(r.values["Spearman, mean of 8 fold seeds"] for r in rows if part in r.method)

    return ("Ranking at 1 h (means of 8 fold seeds): TiDeH fitted on one hour ranks no better "
            f"than the count ({v('circadian constants'):.3f} vs {v('first-hour count'):.3f}; its "
            "authors advise 12 h of observation) and as a ridge feature it lowers the ridge "
            f"({v('log forecast'):.3f} vs "
            f"{v('ridge: count, last-20'):.3f}); the posting hour, SEISMIC's infectiousness "
            f"and the recent resharers' followers lower it too ({v('posting hour'):.3f}, "
            f"{v('infectiousness'):.3f}, {v('last 20 min'):.3f}). What helps is the rate now "
            "(last 20 min) and the resharers' summed followers beside the count, and fitting "
            f"fewer numbers: equal weights on the three standardised features rank at "
            f"{v('score itself'):.3f} ({v('z-average: mean'):.3f} once mapped to a size per "
            f"fold) against {v('ridge: count, last-20'):.3f} for the ridge on the same three. "
            "That set was itself chosen after looking at these 100 cascades; choosing among "
            "6 candidates inside each training fold (nested CV) gives "
            f"{v('nested CV'):.3f}, the honest estimate of the procedure.")


def rank_rows(cascades: list[Cascade]) -> tuple[list[Row], list[str]]:
    truth = np.array([c.total for c in cascades], dtype=float)
    y, f = np.log(truth), features(cascades)
    observed = np.array([len(c.until(HOUR)[0]) for c in cascades], dtype=float)

    def cols(*names: str) -> np.ndarray:
        return np.column_stack([f[n] for n in names])

    three = cols("count", "recent", "followers")
    four = cols("count", "recent", "followers", "log followers")
    previous = cols("count 15", "count 30", "count 45", "count", "author", "followers")
    tideh, paper = tideh_model(cascades, y)
    with_tideh = np.column_stack([three, np.zeros(len(y))])

    def ridge_tideh(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        with_tideh[:, -1] = np.nan
        with_tideh[train, -1] = tideh(train, train)
        with_tideh[test, -1] = tideh(train, test)
        return ridge(with_tideh, y)(train, test)

    candidates = [ridge(three, y), ridge(four, y), ridge(previous, y), averaged(three, y),
                  averaged(four, y), averaged(cols("recent", "followers"), y)]
    specs: list[tuple[str, Callable[[int], FitPredict], bool]] = [
        ("TiDeH (own code), paper's constants r0 0.424, phi0 0.125, tau 2 d; p0 per cascade "
         "on the first hour (no fitting)", lambda _s: lambda tr, te: paper[te], False),
        ("TiDeH, circadian constants (r0, phi0, tau) picked on train folds from "
         f"{len(TIDEH_GRID)} grid points", lambda _s: tideh, True),
        ("ridge as before: counts at 15/30/45/60 min, author's and resharers' followers",
         lambda _s: ridge(previous, y), True),
        ("ridge: count, last-20-min count, resharers' followers", lambda _s: ridge(three, y),
         True),
        ("ridge: the same three plus TiDeH's log forecast", lambda _s: ridge_tideh, False),
        ("ridge: the same three plus the posting hour (sin, cos of the time of day)",
         lambda _s: ridge(np.column_stack([three, cols("hour sin", "hour cos")]), y), False),
        ("ridge: the same three plus SEISMIC's infectiousness (published constants, "
         "followers ignored)", lambda _s: ridge(np.column_stack([three, cols("SEISMIC p")]),
                                               y), False),
        ("ridge: the same three plus the last 20 min's resharers' followers",
         lambda _s: ridge(np.column_stack([three, cols("recent followers")]), y), False),
        ("ridge: the same three plus summed log followers", lambda _s: ridge(four, y), True),
        ("z-average: mean of the three standardised log features (count, last-20-min "
         "count, resharers' followers); only means/sds fitted", lambda _s: averaged(three, y),
         True),
        ("the same z-average's score itself (ranks only, no size: nothing mapped per fold)",
         lambda _s: lambda tr, te: zscore_average(three[tr], three[te]), False),
        ("ensemble: mean log forecast of the z-average, the four-feature ridge and TiDeH",
         lambda _s: ensemble(averaged(three, y), ridge(four, y), tideh), True),
        (f"nested CV: one of {len(candidates)} candidates (3 ridges, 3 z-averages) picked "
         "per training fold by inner 10-fold CV",
         lambda s: picked_by_inner_cv(candidates, y, s), True),
    ]
    rows = [Row("tideh (1 h), ranking", "ours: " + name,
                len(y), over_seeds(make, truth, observed if ranged else None))
            for name, make, ranged in specs]
    count = {"Spearman": spearman(observed, truth)}
    rows.append(Row("tideh (1 h), ranking", "baseline: first-hour count (nothing fitted)",
                    len(y), count | {"Spearman, mean of 8 fold seeds": count["Spearman"]}))
    notes = [findings(rows),
             f"Ranking rows: fold seeds {FOLD_SEEDS}; 'Spearman' and 'in range' are seed "
             "13's (as the rows above), the 'mean of 8 fold seeds' columns average all "
             "eight. Ranges there: the model's log forecast, mapped by a straight line "
             "fitted on the training fold, plus the training residuals' 10th/90th "
             "percentiles; never below the count already observed. First-hour count alone: "
             f"Spearman {stats.spearmanr(observed, truth)[0]:.3f}."]
    return rows, notes
