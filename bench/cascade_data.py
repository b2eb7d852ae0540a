"""The retweet cascades of ``bench/cascades.py`` (TiDeH's and auspol's, read in
place from ``../shared/data/cascades``) and the small measuring and fitting tools
its rows share: AUC, precision and recall, relative errors, folds and
out-of-fold fits, scales and rank correlation."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from monitor.detection.forecast import (
    Forecast,
    ForecastParams,
    forecast_final_size,
)

SEED = 13
FOLDS = 10
HOUR = 3600.0
WEEK = 7 * 86400.0  # TiDeH cascades were collected for 7 days; auspol is clipped there
TARGET_EVENTS = 20  # auspol: "reaches 20 events" counts the root post + 19 reshares
COUNT_THRESHOLD = 10  # baselines' stated threshold: >= 10 reshares in the window
TARGETS = {"tideh": 0.20, "auspol": 0.97}
# issue 15: the 10-90% range holds the true size 70-90% of the time at 1 h, and the
# forecast ranks TiDeH's cascades with Spearman >= 0.70 (the median-error target above
# is retired there: TiDeH kept only cascades over 2,000 retweets, so shrinking wins it)
COVERAGE_TARGET = (0.70, 0.90)
SPEARMAN_TARGET = 0.70
# SEISMIC's published constants; the horizon is the data's collection window, not tuned
PUBLISHED = ForecastParams(horizon=WEEK)
GRID_POWER = (0.0, 0.5, 1.0)
GRID_ALPHA = tuple(float(x) for x in np.geomspace(0.05, 5.0, 20))
GRID_GAMMA = tuple(float(x) for x in np.geomspace(0.02, 2.0, 20))
GRID_SPREAD = tuple(float(x) for x in np.linspace(0.05, 1.5, 30))
DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "cascades"


@dataclass(frozen=True)
class Cascade:
    times: np.ndarray  # reshares only, seconds since the post, sorted
    weights: np.ndarray  # followers of each reshare's author
    root_weight: float  # followers of the post's author
    total: int  # final number of reshares (the post not included)
    start_day: float = 0.0

    def until(self, cutoff: float) -> tuple[np.ndarray, np.ndarray]:
        """What a live monitor would have seen at ``cutoff``: the only input models get."""
        seen = self.times <= cutoff
        return self.times[seen], self.weights[seen]


@dataclass(frozen=True)
class Row:
    dataset: str
    method: str
    n: int
    values: dict[str, float]


def tideh() -> list[Cascade]:
    """``training/RT<k>.txt``: header ``<retweets> <start day>``; the first event line
    is the original post (time 0, its author's followers), then one line per retweet,
    so the header total equals the number of retweet lines (checked on all 100)."""
    cascades = []
    for path in sorted((DATA / "tideh" / "data" / "training").glob("RT*.txt"),
                       key=lambda p: int(p.stem[2:])):
        lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
        rows = np.array([[float(x) for x in line[:2]] for line in lines[1:]])
        total = int(lines[0][0])
        if total != len(rows) - 1 or rows[0, 0] != 0:
            raise ValueError(f"{path.name}: unexpected layout")
        cascades.append(Cascade(rows[1:, 0], rows[1:, 1], float(rows[0, 1]), total,
                                float(lines[0][1])))
    return cascades


def auspol() -> tuple[list[Cascade], int]:
    """``cascade_id,event_index,time,magnitude,user``; event_index 0 is the root.
    Events later than a week (49 of 10,504; times up to 7 years) are dropped as
    outliers; this changes no cascade's 20-event label."""
    events: dict[int, list[tuple[int, float, float]]] = defaultdict(list)
    with (DATA / "auspol" / "auspol_cascades_long.csv").open(newline="") as fh:
        for r in csv.DictReader(fh):
            events[int(r["cascade_id"])].append(
                (int(r["event_index"]), float(r["time"]), float(r["magnitude"])))
    cascades, dropped = [], 0
    for key in sorted(events):
        rows = sorted(events[key])
        if rows[0][0] != 0 or rows[0][1] != 0:
            raise ValueError(f"auspol cascade {key}: no root at time 0")
        kept = [r for r in rows[1:] if r[1] <= WEEK]
        dropped += len(rows) - 1 - len(kept)
        cascades.append(Cascade(np.array([r[1] for r in kept]), np.array([r[2] for r in kept]),
                                rows[0][2], len(kept)))
    return cascades, dropped


def auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Mann-Whitney AUC with ties counted half."""
    s, y = np.asarray(scores, dtype=float), np.asarray(labels, dtype=int)
    ranks = stats.rankdata(s)
    pos = int(y.sum())
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * (len(y) - pos)))


def precision_recall(flags: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    hit = int((flags & (labels == 1)).sum())
    return hit / max(int(flags.sum()), 1), hit / max(int(labels.sum()), 1)


def rel_errors(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return np.abs(pred - truth) / truth


def folds(n: int, labels: np.ndarray | None = None, seed: int = SEED) -> np.ndarray:
    """Fold number per item, fixed seed; stratified when labels are given."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(n, dtype=int)
    groups = [np.arange(n)] if labels is None else [np.flatnonzero(labels == v)
                                                   for v in np.unique(labels)]
    for idx in groups:
        idx = rng.permutation(idx)
        fold[idx] = np.arange(len(idx)) % FOLDS
    return fold


def out_of_fold(n: int, fit_predict: Callable[[np.ndarray, np.ndarray], np.ndarray],
                labels: np.ndarray | None = None, seed: int = SEED) -> np.ndarray:
    """``fit_predict(train_idx, test_idx)`` per fold, stitched back together."""
    fold, out = folds(n, labels, seed), np.zeros(n)
    for f in range(FOLDS):
        train, test = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
        out[test] = fit_predict(train, test)
    return out


def best_scale(pred: np.ndarray, truth: np.ndarray) -> float:
    """Multiplier minimising the median relative error (exact: it is a 1-D search
    over the ratios, where the optimum lies)."""
    candidates = truth / np.maximum(pred, 1e-12)
    errors = [np.median(rel_errors(c * pred, truth)) for c in candidates]
    return float(candidates[int(np.argmin(errors))])


def floored_scale(pred: np.ndarray, truth: np.ndarray,
                  floors: int = 31) -> tuple[float, float]:
    """Floor ``f`` and multiplier ``c`` of ``max(f, c * pred)`` minimising the median
    relative error on these (training) cascades: floors from the 0-60th percentiles
    of the true sizes, multipliers over every ratio truth / pred (where the optimum
    for a fixed floor lies, as in ``best_scale``). ``f`` = the lowest true size
    means no floor at all."""
    scales = truth / np.maximum(pred, 1e-12)
    best = (np.inf, 0.0, 1.0)
    for floor in np.quantile(truth, np.linspace(0.0, 0.6, floors)):
        fits = np.maximum(floor, scales[:, None] * pred[None, :])
        errors = np.median(np.abs(fits - truth) / truth, axis=1)
        i = int(np.argmin(errors))
        if errors[i] < best[0]:
            best = (float(errors[i]), float(floor), float(scales[i]))
    return best[1], best[2]


def spearman(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(stats.spearmanr(pred, truth)[0]) if np.ptp(pred) > 0 else float("nan")


def forecast_at(c: Cascade, cutoff: float, params: ForecastParams) -> Forecast:
    times, weights = c.until(cutoff)
    return forecast_final_size(times, cutoff, weights, root_weight=c.root_weight, params=params)
