"""Sentiment scorers on real labelled posts, reviews and social media alike: the
shipped defaults as the daemon resolves them, hashed n-gram models
(``monitor.scoring.textmodel``) trained on a set's own train split, on every train
split of its language ("everything", issue 16's target) and on the review and
airline sets only (the old setup), and the snownlp / VADER baselines.

Reads ``../shared/data`` in place (never copied; nothing trained here is saved).
Test rows whose text is in any training data of the models measured are dropped
(``bench.scoring_data.dedup``). The trained models' settings are
``bench.scoring_models.TRAIN_KWARGS``; ``--train zh:l2=3`` overrides one.

Run: ``python -m bench.scoring`` (writes ``bench/results/scoring.md``, ~5 min), or
``python -m bench.scoring --cv 4`` to cross-validate a setting on the train splits.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.scoring_cv import cross_validate, cv_table
from bench.scoring_data import (
    DATA,
    Labelled,
    Split,
    dedup,
    keys,
    load_splits,
    sample,
)
from bench.scoring_models import (
    REVIEW_SETS,
    TRAIN_KWARGS,
    Negative,
    Row,
    Trainer,
    default_backend,
    default_names,
    default_risk,
    default_training_texts,
    describe,
    everything,
    parse_setting,
    risk_with,
    row,
    weighting,
)
from bench.scoring_report import DedupInfo, markdown
from monitor.scoring.backends import resolve_backend
from monitor.scoring.risk import LexiconScorer

OUT = Path(__file__).resolve().parent / "results" / "scoring.md"
SNOWNLP_SAMPLE = 2000
BASELINES = {"zh": "snownlp", "en": "vader"}
LANGUAGES = ("zh", "en")


@dataclass
class Bench:
    """What every set's rows share: the splits, the trained models, the scorers."""

    splits: list[Split]
    trainer: Trainer
    defaults: dict[str, Negative] = field(default_factory=dict)
    risks: dict[str, tuple[str, LexiconScorer]] = field(default_factory=dict)


def model_rows(splits: Sequence[Split], split: Split, kwargs: dict[str, object] | None = None
               ) -> list[tuple[str, str, tuple[str, ...]]]:
    """(kind, label, train split names) of the trained models measured on ``split``;
    two kinds trained on the same splits share one row ("own+reviews")."""
    lang = split.language
    candidates = [
        ("own", "trained on this set's train split", (split.name,)),
        ("everything", f"trained on everything: all {lang} train splits"
         f"{weighting(lang, kwargs or {})}", everything(splits, lang)),
        ("reviews", f"trained on reviews + airline only (old setup: "
         f"{' + '.join(REVIEW_SETS[lang])})", REVIEW_SETS[lang]),
    ]
    merged: dict[tuple[str, ...], tuple[str, str]] = {}
    for kind, label, names in candidates:
        if names in merged:
            old_kind, old_label = merged[names]
            merged[names] = (f"{old_kind}+{kind}", f"{old_label} = {label}")
        else:
            merged[names] = (kind, label)
    return [(kind, label, names) for names, (kind, label) in merged.items()]


def set_rows(bench: Bench, split: Split, test: Labelled, dropped: int) -> list[Row]:
    """Every scorer on one set's deduplicated test rows."""
    lang, name = split.language, split.name
    default = default_names()[lang]
    also = " (also the baseline)" if default == BASELINES[lang] else ""
    rows = [row(name, "default", f"shipped default, no training: `{default}`{also}",
                bench.defaults[lang], test, dropped, ours=default not in BASELINES.values())]
    for kind, label, names in model_rows(bench.splits, split, bench.trainer.kwargs.get(lang)):
        model = bench.trainer.model(lang, names)
        rows.append(row(name, kind, label, model.probability, test, dropped))
    for kind, (label, scorer) in bench.risks.items():
        rows.append(row(name, kind, label, lambda t, s=scorer: s.score(t).risk, test, dropped))
    if not also:
        positive = resolve_backend(BASELINES[lang], lang, Path("."))
        picked = sample(test, SNOWNLP_SAMPLE) if lang == "zh" else test
        size = f" ({len(picked):,}-row sample)" if len(picked) < len(test) else ""
        rows.append(row(name, "baseline", f"baseline: {BASELINES[lang]}{size}",
                        lambda t: 1.0 - positive(t), picked, dropped, ours=False))
    for r in rows:
        print(f"  {name} | {r.scorer} | AUC {r.auc:.3f} | {r.rate:,.0f} posts/s", flush=True)
    return rows


def run(bench: Bench, languages: Sequence[str]) -> tuple[list[Row], list[DedupInfo]]:
    """All rows and the dedup counts, sets in results order."""
    bench.defaults = {lang: default_backend(lang) for lang in LANGUAGES}
    models = {lang: bench.trainer.model(lang, everything(bench.splits, lang))
              for lang in languages}
    bench.risks = {
        "risk-default": ("whole risk score, shipped defaults (as the daemon builds it)",
                         default_risk()),
        "risk-everything": ("whole risk score with the everything models (language "
                            "detected per post)", risk_with(models, bench.defaults)),
    }
    seen = {lang: (keys(t for s in bench.splits if s.language == lang for t in s.train.texts),
                   keys(default_training_texts(lang))) for lang in languages}
    rows: list[Row] = []
    info: list[DedupInfo] = []
    for split in bench.splits:
        in_train, in_default = seen[split.language]
        test, dropped = dedup(split.test, in_train | in_default)
        print(f"{split.name}: {len(test):,} test rows ({dropped:,} dropped)", flush=True)
        info.append(DedupInfo(split.name, len(split.train), len(split.test),
                              dedup(split.test, in_train)[1], dedup(split.test, in_default)[1],
                              len(test)))
        rows += set_rows(bench, split, test, dropped)
    return rows, info


def settings(kwargs: dict[str, dict[str, object]], languages: Sequence[str]) -> dict[str, str]:
    return {lang: describe(lang, kwargs.get(lang, {})) for lang in languages}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.scoring",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", action="append", default=[], metavar="LANG:KEY=VALUE,...",
                        help="override textmodel.train keywords for one language (bits, l2, "
                        "nb, extras as a+b), e.g. zh:l2=3,nb=true; repeatable")
    parser.add_argument("--language", action="append", choices=LANGUAGES,
                        help="only this language's sets (repeatable; default both)")
    parser.add_argument("--cv", type=int, metavar="K",
                        help="only K-fold cross-validate the setting on the train splits")
    parser.add_argument("--out", type=Path,
                        help="where to write the markdown (default bench/results/scoring.md "
                        "for a full run; --cv only prints unless this is given)")
    args = parser.parse_args(argv)
    if args.cv is not None and args.cv < 2:
        parser.error("--cv needs K >= 2 folds")
    try:
        args.kwargs = {lang: dict(kw) for lang, kw in TRAIN_KWARGS.items()}
        for text in args.train:
            lang, kwargs = parse_setting(text)
            args.kwargs[lang].update(kwargs)
    except ValueError as exc:
        parser.error(str(exc))
    args.language = tuple(args.language or LANGUAGES)
    return args


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    if not DATA.is_dir():
        raise SystemExit(f"{DATA} not found: this benchmark needs ../shared/data")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # "posts/s on one core"
    splits = [s for s in load_splits() if s.language in args.language]
    described = settings(args.kwargs, args.language)
    command = shlex.join(["python", "-m", "bench.scoring", *argv])
    if args.cv:
        results = {lang: cross_validate(splits, lang, args.kwargs[lang], args.cv)
                   for lang in args.language}
        text = "\n".join([f"command: `{command}`", ""]
                         + cv_table(results, described, args.cv)) + "\n"
        out = args.out
    else:
        rows, info = run(Bench(splits, Trainer(splits, args.kwargs)), args.language)
        setting_text = "; ".join(f"{lang}: {s}" for lang, s in described.items())
        text = markdown(command, setting_text, SNOWNLP_SAMPLE, info, rows)
        out = args.out or OUT
    print(text)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")

if __name__ == "__main__":
    main()
