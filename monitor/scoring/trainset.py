"""Training on several labelled files at once, each with a weight.

A user's own social posts are few and precious; reviews and airline tweets are
plentiful and speak another register. Trained on all of them as one pile, the
model learns mostly the plentiful text (on the Weibo sets that *hurts*, issue 16),
so ``crisiswatch model train`` takes ``--data PATH[:WEIGHT]`` several times: a row
of a file weighted 0.1 counts as a tenth of a row of a file weighted 1.

Pure functions: parsing a ``--data`` value and turning (file, label) per row into
the per-row weights ``textmodel.train`` takes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class DataSpec:
    """One ``--data`` value: a labelled CSV and how much each of its rows counts."""

    path: Path
    weight: float = 1.0

    def __str__(self) -> str:
        return self.path.name if self.weight == 1.0 else f"{self.path.name}:{self.weight:g}"


def parse_data_spec(text: str) -> DataSpec:
    """``mine.csv`` or ``mine.csv:0.3`` (each row of the file counts 0.3).

    The part after the last ``:`` is a weight only when it reads as a number and the
    whole text is not an existing file, so a path with a colon in it still works.
    ValueError (one line, naming the value) for a weight that is not a positive
    finite number."""
    if not text:
        raise ValueError("empty --data value; expected PATH or PATH:WEIGHT")
    head, colon, tail = text.rpartition(":")
    if not colon or Path(text).exists() or not _numeric(tail):
        return DataSpec(Path(text))
    weight = float(tail)
    if not head:
        raise ValueError(f"--data {text!r}: no file before the weight; expected PATH:WEIGHT")
    if not (math.isfinite(weight) and weight > 0):
        raise ValueError(f"--data {text!r}: weight {tail} must be a number above 0 "
                         "(e.g. 0.3)")
    return DataSpec(Path(head), weight)


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def row_weights(sources: Sequence[int], labels: Sequence[int], file_weights: Sequence[float],
                balance: bool = False) -> np.ndarray:
    """Per-row training weight, mean 1: row i counts ``file_weights[sources[i]]``.

    ``balance`` also makes each file's negatives and others weigh the same in total
    (a file with 10% complaints weighs each complaint 5x, each other row 0.56x): a
    file's share of complaints then teaches the model nothing about its vocabulary,
    only which words mark a complaint in it. Kept mean 1 so that ``l2`` means the
    same with or without weights."""
    src = np.asarray(sources, dtype=np.int64)
    y = np.asarray(labels, dtype=np.int64)
    if len(src) != len(y):
        raise ValueError(f"{len(src)} sources but {len(y)} labels")
    w = np.asarray(file_weights, dtype=np.float64)[src]
    if balance:
        for k in np.unique(src):
            mine = src == k
            for label in (0, 1):
                chosen = mine & (y == label)
                if chosen.any():
                    w[chosen] *= 0.5 * mine.sum() / chosen.sum()
    return w / w.mean() if len(w) else w
