"""Cascade-size forecasts (``monitor.detection.forecast``) against simple baselines on real
retweet cascades: TiDeH's 100 big cascades (final size from the first hour) and
auspol's 3,333 mostly small ones (will it reach 20 events?).

Reads ``../shared/data/cascades`` in place (never copied; nothing fitted is saved).
Every fitted number (constants, SEISMIC's alpha/gamma, logistic regressions) is fitted
on training folds only and scored out-of-fold (10-fold, fixed seed), and only events
up to each cascade's observation cutoff are passed to any model. Issue 15's ranking
rows (``bench/cascade_rank.py``) are scored over 8 fold seeds. Run:
``python -m bench.cascades``; writes ``bench/results/cascades.md``.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.cascade_data import (
    COVERAGE_TARGET,
    DATA,
    FOLDS,
    GRID_ALPHA,
    GRID_GAMMA,
    GRID_POWER,
    GRID_SPREAD,
    HOUR,
    PUBLISHED,
    SEED,
    SPEARMAN_TARGET,
    TARGETS,
    Cascade,
    Row,
    auspol,
    best_scale,
    floored_scale,
    forecast_at,
    out_of_fold,
    rel_errors,
    spearman,
    tideh,
)
from bench.cascade_rank import rank_rows
from bench.cascade_reach import auspol_rows
from bench.machine import cpu_name
from monitor.detection.forecast import (
    ForecastParams,
)

OUT = Path(__file__).resolve().parent / "results" / "cascades.md"


# ---- TiDeH: final size from the first hour --------------------------------------------

def size_row(method: str, pred: np.ndarray, truth: np.ndarray,
             low: np.ndarray | None = None, high: np.ndarray | None = None) -> Row:
    values = {"median rel. error": float(np.median(rel_errors(pred, truth))),
              "mean rel. error": float(np.mean(rel_errors(pred, truth))),
              "Spearman": spearman(pred, truth)}
    if low is not None and high is not None:
        values["in range"] = float(np.mean((low <= truth) & (truth <= high)))
    return Row("tideh (1 h)", method, len(truth), values)


def grid_forecasts(cascades: list[Cascade]) -> dict[tuple[float, float, float], np.ndarray]:
    """Expected final size of every cascade for every (weight power, alpha, gamma)."""
    out = {}
    for power, alpha, gamma in itertools.product(GRID_POWER, GRID_ALPHA, GRID_GAMMA):
        params = replace(PUBLISHED, weight_power=power, future_scale=alpha,
                         branching_scale=gamma)
        out[power, alpha, gamma] = np.array([forecast_at(c, HOUR, params).expected
                                             for c in cascades])
    return out


def pick_params(grid: dict[tuple[float, float, float], np.ndarray], cascades: list[Cascade],
                truth: np.ndarray, train: np.ndarray) -> ForecastParams:
    """Grid point with the lowest training median relative error, then the spread
    whose range covers 80 % of the training cascades (as ``coverage`` promises)."""
    key = min(grid, key=lambda k: np.median(rel_errors(grid[k][train], truth[train])))
    params = replace(PUBLISHED, weight_power=key[0], future_scale=key[1], branching_scale=key[2])

    def miss(spread: float) -> float:
        fc = [forecast_at(cascades[i], HOUR, replace(params, spread=spread)) for i in train]
        inside = np.mean([f.low <= truth[i] <= f.high for f, i in zip(fc, train, strict=True)])
        return abs(inside - params.coverage)

    return replace(params, spread=min(GRID_SPREAD, key=miss))


def fitted_seismic(cascades: list[Cascade], truth: np.ndarray,
                   grid: dict[tuple[float, float, float], np.ndarray]) -> tuple[Row, list[str]]:
    pred, low, high = np.zeros(len(truth)), np.zeros(len(truth)), np.zeros(len(truth))
    chosen = []

    def fit_predict(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        params = pick_params(grid, cascades, truth, train)
        chosen.append(params)
        for i in test:
            f = forecast_at(cascades[i], HOUR, params)
            pred[i], low[i], high[i] = f.expected, f.low, f.high
        return pred[test]

    out_of_fold(len(truth), fit_predict)
    picks = sorted({(p.weight_power, round(p.future_scale, 2), round(p.branching_scale, 3),
                     round(p.spread, 2)) for p in chosen})
    note = ("TiDeH fitted SEISMIC: per-fold picks (weight power, alpha, gamma, spread): "
            + "; ".join(str(p) for p in picks))
    row = size_row("ours: SEISMIC, weight power/alpha/gamma/spread fitted (10-fold CV)",
                   pred, truth, low, high)
    return row, [note]


def log_calibrated(expected: np.ndarray, first: np.ndarray, truth: np.ndarray) -> Row:
    """log(final) ~ log(forecast) + log(first-hour count), fitted per training fold,
    plus the shift (and 10/90 % residual range) that training cascades call for."""
    x = np.column_stack([np.ones(len(truth)), np.log(expected), np.log(np.maximum(first, 1))])
    y = np.log(truth)
    low, high = np.zeros(len(truth)), np.zeros(len(truth))

    def fit_predict(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        coef = np.linalg.lstsq(x[train], y[train], rcond=None)[0]
        fit = np.exp(x[train] @ coef)
        scale = best_scale(fit, truth[train])
        resid = y[train] - np.log(scale * fit)
        pred = scale * np.exp(x[test] @ coef)
        low[test], high[test] = pred * np.exp(np.quantile(resid, [0.1, 0.9]))[:, None]
        return pred

    pred = out_of_fold(len(truth), fit_predict)
    return size_row("ours + learned log-linear calibration on forecast and count (10-fold CV)",
                    pred, truth, low, high)


SUB_INTERVALS = (900.0, 1800.0, 2700.0, HOUR)  # early counts for the regression below


def early_counts(cascades: list[Cascade]) -> np.ndarray:
    """Cumulative reshares at 15, 30, 45 and 60 min: how fast the first hour went,
    not only how much (SEISMIC reads the same timing through its kernel)."""
    return np.array([[np.sum(c.times <= t) for t in SUB_INTERVALS] for c in cascades],
                    dtype=float)


def follower_counts(cascades: list[Cascade]) -> np.ndarray:
    """The post author's followers and the summed followers of the first hour's
    resharers: how many people the cascade could reach next (SEISMIC's weights)."""
    return np.array([[c.root_weight, float(np.sum(c.until(HOUR)[1]))] for c in cascades])


def ridge_regression(method: str, counts: np.ndarray, truth: np.ndarray,
                     l2: float = 1.0) -> Row:
    """log(final) ~ log(1 + each column), ridge on standardised features, then the
    training folds' best multiplier; fitted per training fold."""
    x, y = np.log1p(counts), np.log(truth)

    def fit_predict(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        mu, sd = x[train].mean(axis=0), x[train].std(axis=0) + 1e-9
        z = (x - mu) / sd
        centre = y[train].mean()
        a = z[train]
        coef = np.linalg.solve(a.T @ a + l2 * np.eye(a.shape[1]), a.T @ (y[train] - centre))
        scale = best_scale(np.exp(centre + a @ coef), truth[train])
        return scale * np.exp(centre + z[test] @ coef)

    return size_row(method, out_of_fold(len(truth), fit_predict), truth)


def regression_rows(cascades: list[Cascade], truth: np.ndarray) -> list[Row]:
    """Counts at 15/30/45/60 min, then the same with follower counts beside them."""
    counts = early_counts(cascades)
    both = np.column_stack([counts, follower_counts(cascades)])
    return [ridge_regression("ours: log-linear (ridge) regression on counts at 15/30/45/60 "
                             "min (10-fold CV)", counts, truth),
            ridge_regression("ours: the same ridge regression, plus the post author's and "
                             "the first hour's resharers' followers (10-fold CV)", both,
                             truth)]


def floored(method: str, pred_for: Callable[[np.ndarray], np.ndarray],
            truth: np.ndarray) -> Row:
    """``max(f, c * pred)``, with f and c fitted on the training folds. ``pred_for(train)``
    gives every cascade's base prediction, using only the training folds for any
    fitting of its own."""
    def fit_predict(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        base = pred_for(train)
        floor, scale = floored_scale(base[train], truth[train])
        return np.maximum(floor, scale * base[test])

    return size_row(method, out_of_fold(len(truth), fit_predict), truth)


def floored_rows(cascades: list[Cascade], truth: np.ndarray, first: np.ndarray,
                 grid: dict[tuple[float, float, float], np.ndarray]) -> list[Row]:
    """The same learned floor on our fitted forecast and on the first-hour count, so the
    gain from the floor (knowing the population's sizes) is not taken for a gain in
    forecasting."""
    def seismic(train: np.ndarray) -> np.ndarray:
        key = min(grid, key=lambda k: np.median(rel_errors(grid[k][train], truth[train])))
        return grid[key]

    return [floored("ours: fitted SEISMIC (as above) with a learned floor, max(f, c x "
                    "forecast), f and c fitted on train folds", seismic, truth),
            floored("baseline with the same learned floor: max(f, c x first-hour count)",
                    lambda _train: first, truth)]


def tideh_baselines(first: np.ndarray, truth: np.ndarray) -> list[Row]:
    scaled = out_of_fold(len(truth), lambda tr, te: best_scale(first[tr], truth[tr]) * first[te])
    median_ratio = out_of_fold(len(truth),
                               lambda tr, te: np.median(truth[tr] / first[tr]) * first[te])
    const = out_of_fold(len(truth),
                        lambda tr, te: np.full(len(te), best_scale(np.ones(len(tr)), truth[tr])))
    return [size_row("baseline: c x first-hour count, c fitted on train folds (min. median "
                     "error)", scaled, truth),
            size_row("baseline: c x first-hour count, c = median ratio of train folds",
                     median_ratio, truth),
            size_row("sanity: one constant size for all, fitted on train folds (uses no "
                     "data)", const, truth)]


def selection_note(rows: list[Row], truth: np.ndarray) -> str:
    def value(part: str, key: str) -> float:
        return next(r.values[key] for r in rows if part in r.method)

    fitted = value("fitted (10-fold", "Spearman")
    count = value("min. median", "Spearman")
    constant = value("one constant", "median rel. error")
    return ("What meets the target is the floor, not the forecaster: TiDeH kept only tweets "
            f"with > 2,000 retweets (its README), so true sizes sit in a narrow band (median "
            f"{np.median(truth):,.0f}; {np.mean(truth < 3000):.0%} below 3,000). One number "
            f"near {best_scale(np.ones(len(truth)), truth):,.0f} for every cascade (the "
            "'constant' row: the size minimising the training folds' median relative error, "
            f"using no data of the cascade) already scores {constant:.3f} "
            "while ranking nothing (Spearman ~0); the learned calibration and the regression "
            f"on counts at 15-60 min ({value('15/30/45/60', 'median rel. error'):.3f}) gain "
            "mostly from the same shrinkage toward the band, and timing within the first hour "
            "adds little. Who is reached helps more than when: the post author's followers "
            "and the first hour's resharers' followers beside the counts give "
            f"{value('resharers', 'median rel. error'):.3f} (Spearman "
            f"{value('resharers', 'Spearman'):.3f}), the best of ours without the floor and "
            "still above 0.20. max(f, c x prediction) keeps the band for "
            "cascades whose first hour is small and scales the rest: it cuts the median "
            f"error to {value('ours: fitted SEISMIC (as above) with', 'median rel. error'):.3f}"
            " on our forecast, but the same floor on the plain first-hour count gives "
            f"{value('same learned floor', 'median rel. error'):.3f}, so at 1 h our forecaster "
            "adds nothing over the count on this metric; the floor encodes 'this cascade is "
            "one of the big ones', which a live monitor does not know. Forecasting skill shows "
            f"in Spearman: fitted SEISMIC {fitted:.3f} vs first-hour count {count:.3f}. With "
            "100 cascades, gaps of a few hundredths are noise (changing the fold seed alone "
            "moves these medians by 0.01-0.02).")


def tideh_rows(cascades: list[Cascade]) -> tuple[list[Row], list[str], ForecastParams]:
    truth = np.array([c.total for c in cascades], dtype=float)
    first = np.array([len(c.until(HOUR)[0]) for c in cascades], dtype=float)
    published = [forecast_at(c, HOUR, PUBLISHED) for c in cascades]
    expected = np.array([f.expected for f in published])
    rows = [size_row("ours: SEISMIC, published constants (nothing fitted)", expected, truth,
                     np.array([f.low for f in published]), np.array([f.high for f in published]))]
    start = time.perf_counter()
    grid = grid_forecasts(cascades)
    print(f"  tideh grid: {len(grid)} parameter sets in {time.perf_counter() - start:.0f} s",
          flush=True)
    row, notes = fitted_seismic(cascades, truth, grid)
    rows += [row, log_calibrated(expected, first, truth), *regression_rows(cascades, truth)]
    rows += floored_rows(cascades, truth, first, grid) + tideh_baselines(first, truth)
    notes.append(selection_note(rows, truth))
    transfer = pick_params(grid, cascades, truth, np.arange(len(truth)))
    notes.append("params fitted on all 100 TiDeH cascades (used for auspol): weight power "
                 f"{transfer.weight_power:g}, alpha {transfer.future_scale:.3g}, gamma "
                 f"{transfer.branching_scale:.3g}, spread {transfer.spread:.3g}")
    return rows, notes, transfer


# ---- report ---------------------------------------------------------------------------

def table(rows: list[Row]) -> list[str]:
    columns = list(dict.fromkeys(k for r in rows for k in r.values))
    lines = ["| dataset | method | n | " + " | ".join(columns) + " |",
             "|---|---|---:|" + "---:|" * len(columns)]
    for r in rows:
        cells = [f"{r.values[c]:.3f}" if c in r.values else "" for c in columns]
        lines.append(f"| {r.dataset} | {r.method} | {r.n:,} | " + " | ".join(cells) + " |")
    return lines


def verdicts(size_rows: list[Row], reach_rows: list[Row], ranked: list[Row]) -> list[str]:
    ours = [r for r in size_rows if r.method.startswith("ours")]
    best = min(ours, key=lambda r: r.values["median rel. error"])
    err = best.values["median rel. error"]
    verdict = "met" if err <= TARGETS["tideh"] else "MISSED"
    same = [r.values["median rel. error"] for r in size_rows if "same learned floor" in r.method]
    if "floor" in best.method and same:
        verdict += (" only through the learned floor (population knowledge, see below); the "
                    f"first-hour count with the same floor scores {same[0]:.3f}")
    lines = [f"TiDeH median relative error <= {TARGETS['tideh']}: best of ours {err:.3f} "
             f"({best.method}) -> {verdict}"]
    lines += [f"TiDeH, same run: {r.method}: {r.values['median rel. error']:.3f}"
              for r in size_rows if not r.method.startswith("ours")]
    lines += _issue15_verdicts(size_rows) + _seeded_verdicts(ranked)
    base = next(r.values["AUC"] for r in reach_rows if r.method.startswith("baseline (a)"))
    for r in (r for r in reach_rows if r.method.startswith("ours")):
        a = r.values["AUC"]
        lines.append(f"auspol AUC >= {TARGETS['auspol']}: {a:.3f} ({r.method.split(';')[0]}) "
                     f"-> {'met' if a >= TARGETS['auspol'] else 'MISSED'}; "
                     f"{a - base:+.3f} vs baseline (a)")
    return lines


def _issue15_verdicts(size_rows: list[Row]) -> list[str]:
    """Issue 15's cascade targets: 10-90% coverage at 1 h and Spearman at 1 h, each
    against the best of ours and beside the first-hour count's Spearman."""
    low, high = COVERAGE_TARGET
    ranged = [r for r in size_rows if "in range" in r.values and r.method.startswith("ours")]
    lines = []
    for r in ranged:
        c = r.values["in range"]
        lines.append(f"TiDeH 10-90% coverage at 1 h in [{low:.2f}, {high:.2f}]: {c:.3f} "
                     f"({r.method}) -> {'met' if low <= c <= high else 'MISSED'}")
    ours = [r for r in size_rows if r.method.startswith("ours")]
    best = max(ours, key=lambda r: r.values["Spearman"])
    rho = best.values["Spearman"]
    count = max((r.values["Spearman"] for r in size_rows if "first-hour count" in r.method),
                default=float("nan"))
    lines.append(f"TiDeH Spearman at 1 h >= {SPEARMAN_TARGET:.2f}: best of ours {rho:.3f} "
                 f"({best.method}) -> {'met' if rho >= SPEARMAN_TARGET else 'MISSED'}; "
                 f"the first-hour count ranks at {count:.3f}")
    return lines


def _seeded_verdicts(ranked: list[Row]) -> list[str]:
    """The same targets on the ranking rows, judged on the mean over fold seeds (one
    seed's Spearman moves by +-0.03 with 100 cascades)."""
    mean, cover = "Spearman, mean of 8 fold seeds", "in range, mean of 8 fold seeds"
    ours = [r for r in ranked if r.method.startswith("ours")]
    best = max(ours, key=lambda r: r.values[mean])
    rho = best.values[mean]
    nested = next(r.values[mean] for r in ours if "nested CV" in r.method)
    lines = [f"TiDeH Spearman at 1 h >= {SPEARMAN_TARGET:.2f}, mean of 8 fold seeds: best of "
             f"ours {rho:.3f} ({best.method}) -> {'met' if rho >= SPEARMAN_TARGET else 'MISSED'}"
             f"; picking the model by nested CV (no look at the test folds even for the "
             f"choice) gives {nested:.3f}"]
    low, high = COVERAGE_TARGET
    for r in (r for r in ours if cover in r.values):
        c = r.values[cover]
        lines.append(f"TiDeH 10-90% coverage at 1 h, mean of 8 fold seeds: {c:.3f} "
                     f"({r.method}) -> {'met' if low <= c <= high else 'MISSED'}")
    return lines


DEFINITIONS = [
    "TiDeH: 100 cascades of 2,032-17,183 retweets over 7 days; each model sees the "
    "retweets with time <= 3,600 s (and the post's follower count) and predicts the "
    "final number of retweets (the post not counted). Relative error = |pred - true| / "
    "true. 'in range' = share of true sizes inside the model's [low, high] (10th-90th "
    "percentile, i.e. 80 % intended).",
    "auspol: 3,333 cascades; observed until 1 h after the first reshare (1 h after the "
    "post if none came before the 7-day clip); label = reaches 20 events counting the "
    "root post (>= 19 reshares). Only events <= the cutoff reach any model or feature. "
    "'AUC, >= 1 reshare' drops the 1,686 never-reshared cascades (all negatives, easy).",
    f"Folds: {FOLDS}-fold with seed {SEED} (stratified by label on auspol); every fitted "
    "number comes from the training folds only. SEISMIC grid: weight power "
    f"{GRID_POWER}, alpha and gamma {len(GRID_ALPHA)} log-spaced values each in "
    "[0.05, 5] / [0.02, 2], picked by training median relative error; spread picked "
    "for 80 % training coverage. Published constants: theta 0.242, s0 300 s, "
    "alpha = gamma = 1, weight power 1, horizon 7 days (the data's window).",
]


def markdown(rows: list[Row], ranked: list[Row], notes: list[str], command: str,
             seconds: float) -> str:
    lines = ["# Cascade size forecasts on real retweet cascades", "",
             f"- date: {datetime.date.today().isoformat()}",
             f"- machine: {cpu_name()}, nproc {os.cpu_count()}; ran in {seconds:.0f} s",
             f"- command: `{command}`", ""]
    lines += [f"- {d}" for d in DEFINITIONS] + [""] + table(rows) + [""]
    lines += ["Issue 15's ranking target, TiDeH at 1 h, each row over 8 fold seeds:", ""]
    lines += table(ranked) + [""]
    lines += [f"Targets: TiDeH 10-90% coverage at 1 h {COVERAGE_TARGET[0]:.2f}-"
              f"{COVERAGE_TARGET[1]:.2f} and Spearman >= {SPEARMAN_TARGET:.2f} (issue 15); "
              f"the older median relative error <= {TARGETS['tideh']} (retired, kept for "
              f"comparison); auspol AUC >= {TARGETS['auspol']}.", ""]
    lines += [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def run() -> tuple[list[Row], list[Row], list[str]]:
    big = tideh()
    print(f"tideh: {len(big)} cascades", flush=True)
    size_rows, notes, transfer = tideh_rows(big)
    ranked, rank_notes = rank_rows(big)
    notes += rank_notes
    small, dropped = auspol()
    print(f"auspol: {len(small)} cascades, {dropped} events after 7 days dropped", flush=True)
    reach_rows, auspol_notes = auspol_rows(small, transfer)
    notes = verdicts(size_rows, reach_rows, ranked) + notes + auspol_notes
    notes.append(f"auspol: {dropped} events later than 7 days dropped as time outliers.")
    return size_rows + reach_rows, ranked, notes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    if not DATA.is_dir():
        raise SystemExit(f"{DATA} not found: this benchmark needs ../shared/data/cascades")
    start = time.perf_counter()
    rows, ranked, notes = run()
    text = markdown(rows, ranked, notes, "python -m bench.cascades",
                    time.perf_counter() - start)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
