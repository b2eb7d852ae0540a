"""auspol in ``bench/cascades.py``: will a cascade reach 20 events? The
forecast's reach probability against the baselines' thresholds and a logistic
regression on early counts, each fitted on training folds and scored out-of-fold."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import optimize

from bench.cascade_data import (
    COUNT_THRESHOLD,
    HOUR,
    PUBLISHED,
    TARGET_EVENTS,
    Cascade,
    Row,
    auc,
    forecast_at,
    out_of_fold,
    precision_recall,
)
from monitor.detection.forecast import (
    ForecastParams,
    reach_probability,
)


def cutoff(c: Cascade) -> float:
    """One hour after the first reshare; one hour after the post if none came."""
    return float(c.times[0]) + HOUR if len(c.times) else HOUR


def reach_scores(cascades: list[Cascade], params: ForecastParams) -> tuple[np.ndarray, ...]:
    """P(reach 20 events) and expected final size, each from events <= the cutoff."""
    fc = [forecast_at(c, cutoff(c), params) for c in cascades]
    return (np.array([reach_probability(f, TARGET_EVENTS - 1) for f in fc]),
            np.array([f.expected for f in fc]))


def features(cascades: list[Cascade], expected: np.ndarray) -> np.ndarray:
    """Logistic-regression inputs, all known at the cutoff: log counts, time to the
    first reshare (the cutoff if none), follower sums, and our forecast."""
    rows = []
    for c, e in zip(cascades, expected, strict=True):
        cut = cutoff(c)
        times, weights = c.until(cut)
        rows.append([len(times), (times[0] if len(times) else cut), weights.sum(),
                     c.root_weight, e])
    return np.log1p(np.array(rows, dtype=float))


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0) -> Callable[[np.ndarray],
                                                                             np.ndarray]:
    """L2 logistic regression on standardised features (numpy + L-BFGS)."""
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.column_stack([np.ones(len(x)), (x - mu) / sd])

    def loss(b: np.ndarray) -> tuple[float, np.ndarray]:
        margin = z @ b
        grad = z.T @ (1.0 / (1.0 + np.exp(-margin)) - y) + l2 * np.r_[0.0, b[1:]]
        return float(np.sum(np.logaddexp(0, margin) - y * margin)
                     + 0.5 * l2 * b[1:] @ b[1:]), grad

    coef = optimize.minimize(loss, np.zeros(z.shape[1]), jac=True, method="L-BFGS-B").x
    return lambda new: 1.0 / (1.0 + np.exp(-np.column_stack(
        [np.ones(len(new)), (new - mu) / sd]) @ coef))


def reach_row(method: str, scores: np.ndarray, flags: np.ndarray, labels: np.ndarray,
              reshared: np.ndarray) -> Row:
    precision, recall = precision_recall(flags, labels)
    return Row("auspol (1 h after 1st reshare)", method, len(labels),
               {"AUC": auc(scores, labels), "AUC, >= 1 reshare": auc(scores[reshared],
                                                                    labels[reshared]),
                "precision": precision, "recall": recall})


def auspol_note(cascades: list[Cascade], labels: np.ndarray, window: np.ndarray,
                published: tuple[np.ndarray, np.ndarray], fitted: tuple[np.ndarray, np.ndarray],
                transfer: ForecastParams) -> str:
    """What the table alone does not say: the issue's baseline number, followers, and
    how well P(reach 20) ranks and is calibrated. ``published``/``fitted``: (P, expected)."""
    two = np.array([c.total >= 2 for c in cascades])
    return (f"auspol baseline (a) measures AUC {auc(window, labels):.3f} here, not the 0.96 "
            f"quoted in the issue; restricted to the {int(two.sum()):,} cascades with >= 2 "
            f"reshares it is {auc(window[two], labels[two]):.3f} (a guess at the issue's "
            "subset). Baseline (b) reproduces the issue's 0.64. Weighting by followers hurts "
            f"the ranking: published constants (weight power 1) {auc(published[1], labels):.3f}"
            f" (expected size) vs {auc(fitted[1], labels):.3f} with TiDeH's fitted power "
            f"{transfer.weight_power:g}. With the published constants P(reach 20) ranks worse "
            "than the expected size, so rank by expected size; nor is it calibrated: mean "
            f"P(reach 20) {published[0].mean():.3f} (published) / {fitted[0].mean():.3f} "
            f"(TiDeH-fitted) vs a real rate of {labels.mean():.3f}.")


def auspol_rows(cascades: list[Cascade], transfer: ForecastParams) -> tuple[list[Row],
                                                                          list[str]]:
    labels = np.array([1 + c.total >= TARGET_EVENTS for c in cascades], dtype=int)
    reshared = np.array([c.total > 0 for c in cascades])
    window = np.array([len(c.until(cutoff(c))[0]) for c in cascades], dtype=float)
    first_hour = np.array([len(c.until(HOUR)[0]) for c in cascades], dtype=float)
    p_pub, e_pub = reach_scores(cascades, PUBLISHED)
    p_fit, e_fit = reach_scores(cascades, transfer)
    x = features(cascades, e_fit)
    lr = out_of_fold(len(labels), lambda tr, te: fit_logistic(x[tr], labels[tr])(x[te]),
                     labels)
    need = TARGET_EVENTS - 1
    k = COUNT_THRESHOLD
    note = auspol_note(cascades, labels, window, (p_pub, e_pub), (p_fit, e_fit), transfer)
    published, fitted = "SEISMIC published constants", "params fitted on TiDeH (no auspol fitting)"
    return [
        reach_row(f"ours: expected size, {published}; flag at >= {need} reshares", e_pub,
                  e_pub >= need, labels, reshared),
        reach_row(f"ours: P(reach 20), {published}; flag at 0.5", p_pub, p_pub >= 0.5, labels,
                  reshared),
        reach_row(f"ours: expected size, {fitted}; flag at >= {need} reshares", e_fit,
                  e_fit >= need, labels, reshared),
        reach_row(f"ours: P(reach 20), {fitted}; flag at 0.5", p_fit, p_fit >= 0.5, labels,
                  reshared),
        reach_row("ours: logistic regression on log counts, time to 1st reshare, followers, "
                  "forecast (10-fold CV, out-of-fold); flag at 0.5", lr, lr >= 0.5, labels,
                  reshared),
        reach_row(f"baseline (a): reshares in the observed hour; flag at >= {k}", window,
                  window >= k, labels, reshared),
        reach_row(f"baseline (b): reshares in the post's first hour; flag at >= {k}",
                  first_hour, first_hour >= k, labels, reshared),
    ], [note]
