"""K-fold cross-validation of one model setting on the TRAIN splits only, for
choosing settings without ever looking at a test split.

The model is the "trained on everything" one: per language, fold k of every set
is held out and a model fitted on the rest of all that language's train splits.
A row's fold is the crc32 of its dedup key (``text_key``), so copies of one text
always fall in the same fold and no held-out text was in the fold's training data.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Sequence

from bench.scoring_data import Split, text_key
from bench.scoring_models import fit_sets
from monitor.scoring.metrics import auc


def fold_of(text: str, folds: int) -> int:
    return zlib.crc32(text_key(text).encode()) % folds


def cross_validate(splits: Sequence[Split], language: str, kwargs: dict[str, object],
                   folds: int) -> dict[str, list[float]]:
    """Held-out AUC per fold for each set of ``language`` (category views included)."""
    sets = [s for s in splits if s.language == language]
    fold_ids = {s.name: [fold_of(t, folds) for t in s.train.texts] for s in sets}
    aucs: dict[str, list[float]] = {s.name: [] for s in sets}
    for fold in range(folds):
        parts = [(s.name, s.train.pick(i for i, f in enumerate(fold_ids[s.name]) if f != fold))
                 for s in sets if s.trains_everything]
        start = time.perf_counter()
        model = fit_sets(parts, language, kwargs)
        print(f"  fold {fold + 1}/{folds}: trained {language} on "
              f"{sum(len(p) for _, p in parts):,} rows in "
              f"{time.perf_counter() - start:.0f} s", flush=True)
        for s in sets:
            held = s.train.pick(i for i, f in enumerate(fold_ids[s.name]) if f == fold)
            aucs[s.name].append(auc(model.probabilities(held.texts), held.labels))
    return aucs


def cv_table(results: dict[str, dict[str, list[float]]], settings: dict[str, str],
             folds: int) -> list[str]:
    """Markdown lines: mean and per-fold AUC per set, with the setting used."""
    lines = [f"{folds}-fold cross-validation on the train splits (the everything model)", "",
             "| dataset | setting | mean AUC | per fold |", "|---|---|---:|---|"]
    for language, per_set in results.items():
        for name, values in per_set.items():
            folds_text = " ".join(f"{v:.3f}" for v in values)
            lines.append(f"| {name} | {settings[language]} | {sum(values) / len(values):.4f} | "
                         f"{folds_text} |")
    return lines
