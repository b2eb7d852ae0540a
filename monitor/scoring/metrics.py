"""How well a scorer ranks and how well its numbers are calibrated, and the Platt
fit that calibrates one: shared by model training, ``crisiswatch model eval`` and
the scoring benchmark, for any scorer's P(negative), not only the text model's."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True)
class Metrics:
    """Ranking quality (AUC), negative-class precision / recall / F1 at a threshold,
    and calibration: Brier score and expected calibration error (ECE, 10 bins), which
    say whether a score of 0.8 really means "negative 8 times in 10"."""

    n: int
    auc: float
    precision: float
    recall: float
    f1: float
    brier: float = float("nan")
    ece: float = float("nan")


def auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Rank-based ROC AUC (Mann-Whitney U), tied scores share their average rank;
    NaN when only one class is present."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels) == 1
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    sorted_s = s[order]
    starts = np.flatnonzero(np.r_[True, sorted_s[1:] != sorted_s[:-1]])
    ends = np.r_[starts[1:], len(s)]
    ranks = np.empty(len(s))
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)  # 1-based averages
    return float((ranks[y].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def calibration_error(scores: Sequence[float], labels: Sequence[int], bins: int = 10) -> float:
    """Expected calibration error: the row-weighted gap between the mean score and the
    share of negatives in each of ``bins`` equal-width score bins."""
    s = np.clip(np.asarray(scores, dtype=np.float64), 0.0, 1.0)
    y = np.asarray(labels, dtype=np.float64)
    if not len(s):
        return float("nan")
    which = np.minimum((s * bins).astype(int), bins - 1)
    gap = 0.0
    for b in np.unique(which):
        in_bin = which == b
        gap += in_bin.sum() * abs(s[in_bin].mean() - y[in_bin].mean())
    return float(gap / len(s))


def auc_and_f1(scores: Sequence[float], labels: Sequence[int], threshold: float) -> Metrics:
    """Metrics of any scorer's P(negative): score >= threshold predicts negative."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels) == 1
    predicted = s >= threshold
    tp = int((predicted & y).sum())
    precision = tp / int(predicted.sum()) if predicted.any() else 0.0
    recall = tp / int(y.sum()) if y.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    brier = float(np.mean((np.clip(s, 0.0, 1.0) - y) ** 2)) if len(s) else float("nan")
    return Metrics(n=len(s), auc=auc(s, y.astype(int)), precision=precision, recall=recall,
                   f1=f1, brier=brier, ece=calibration_error(s, y.astype(int)))


def split(n: int, test_fraction: float = 0.2, seed: int = 13) -> tuple[list[int], list[int]]:
    """A fixed-seed random split of ``range(n)`` into (train, test) index lists."""
    order = np.random.default_rng(seed).permutation(n)
    cut = int(round(n * test_fraction))
    return sorted(order[cut:].tolist()), sorted(order[:cut].tolist())


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def fit_platt(scores: Sequence[float], labels: Sequence[int]) -> tuple[float, float]:
    """Platt scaling: (a, b) so that sigmoid(a * logit(score) + b) matches the labels
    (two parameters, so a few hundred labelled rows are enough). Used to turn the
    risk, a fixed noisy-OR of tone and cues, into a calibrated probability on the
    user's own labelled posts."""
    x = _logit(np.asarray(scores, dtype=np.float64))
    y = np.asarray(labels, dtype=np.float64)
    if len(set(y.tolist())) < 2:
        raise ValueError("calibration needs both negative (1) and other (0) rows")

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = theta[0] * x + theta[1]
        r = 0.5 * (1.0 + np.tanh(0.5 * z)) - y
        return float(np.mean(np.logaddexp(0.0, z) - y * z)), np.array([np.mean(r * x),
                                                                          np.mean(r)])

    from scipy import optimize  # fitting only: its import costs every CLI call 0.4 s

    a, b = optimize.minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B").x
    return float(a), float(b)


def calibrated(score: float, calibration: tuple[float, float]) -> float:
    """The probability a calibration from ``fit_platt`` gives a score."""
    a, b = calibration
    return sigmoid(a * float(_logit(np.array([score]))[0]) + b)


def prior_shift(probability: float, trained_share: float, stream_share: float) -> float:
    """``probability`` re-read under another share of complaints (Bayes' rule on the
    odds). A model's probabilities follow the share of negatives it was trained or
    calibrated on (38% for the shipped English model); on a stream where one post in
    ten is a complaint the same post is less likely one:
    odds' = odds * (stream / (1 - stream)) / (trained / (1 - trained))."""
    for name, share in (("trained_share", trained_share), ("stream_share", stream_share)):
        if not 0.0 < share < 1.0:
            raise ValueError(f"{name} must be between 0 and 1 (exclusive), not {share}")
    p = min(max(float(probability), 1e-6), 1.0 - 1e-6)
    shift = math.log(stream_share / (1.0 - stream_share)) - math.log(
        trained_share / (1.0 - trained_share))
    return sigmoid(math.log(p / (1.0 - p)) + shift)
