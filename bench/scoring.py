"""Sentiment scorers side by side on real labelled posts: snownlp and VADER as
shipped, against hashed n-gram logistic regression (``monitor.textmodel``)
trained on each set's train split, and the shipped default Chinese model.

Reads ``../shared/data`` in place (never copied; nothing trained here is saved).
Every set gets a fixed-seed 80/20 split; AUC and F1 are for the negative class,
and posts/s is one process pinned to one core scoring the test texts one at a time
after a warm-up. snownlp is scored on a 2,000-row sample of each test split
(~4 ms a post). Run: ``python -m bench.scoring [--sweep]``; writes
``bench/results/scoring.md``.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import os
import platform
import random
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor.build_default_model import DEFAULT_PATH
from monitor.sentiment import chinese_positive, english_positive
from monitor.textmodel import TextModel, auc_and_f1, load, split, train

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
OUT = Path(__file__).resolve().parent / "results" / "scoring.md"
SEED = 13
SNOWNLP_SAMPLE = 2000
BITS = 20
TARGETS = {"zh": 0.95, "en": 0.93}
MIN_RATE = 5000.0


@dataclass(frozen=True)
class Dataset:
    name: str
    language: str
    texts: list[str]
    labels: list[int]  # 1 = negative


@dataclass(frozen=True)
class Row:
    dataset: str
    scorer: str
    rows: int
    auc: float
    f1: float
    rate: float


def waimai() -> Dataset:
    """label 1 is POSITIVE in this file, so the negative class is label 0."""
    with (DATA / "zh" / "waimai_10k.csv").open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["review"].strip()]
    return Dataset("waimai_10k", "zh", [r["review"] for r in rows],
                   [1 - int(r["label"]) for r in rows])


def online_shopping() -> Dataset:
    """CSV ``cat,label,review`` inside the zip; label 1 positive; one stray U+FEFF."""
    with zipfile.ZipFile(DATA / "zh" / "online_shopping_10_cats.zip") as archive:
        content = archive.read("online_shopping_10_cats.csv").decode("utf-8-sig")
    pairs = [((r["review"] or "").replace("\ufeff", "").strip(), 1 - int(r["label"]))
             for r in csv.DictReader(io.StringIO(content, newline=""))]
    pairs = [(t, y) for t, y in pairs if t]
    return Dataset("online_shopping_10_cats", "zh", [t for t, _ in pairs], [y for _, y in pairs])


def airline() -> Dataset:
    with (DATA / "en" / "airline_tweets.csv").open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["text"].strip()]
    return Dataset("airline_tweets", "en", [r["text"] for r in rows],
                   [int(r["airline_sentiment"] == "negative") for r in rows])


def parts(data: Dataset) -> tuple[list[str], list[int], list[str], list[int]]:
    train_idx, test_idx = split(len(data.texts), test_fraction=0.2, seed=SEED)
    return ([data.texts[i] for i in train_idx], [data.labels[i] for i in train_idx],
            [data.texts[i] for i in test_idx], [data.labels[i] for i in test_idx])


def measure(dataset: str, scorer: str, negative: Callable[[str], float], texts: Sequence[str],
            labels: Sequence[int], threshold: float = 0.5) -> Row:
    """Score one text at a time (as the daemon does) after warming up on a few."""
    for text in texts[:50]:
        negative(text)
    start = time.perf_counter()
    scores = [negative(t) for t in texts]
    elapsed = time.perf_counter() - start
    m = auc_and_f1(scores, labels, threshold)
    return Row(dataset, scorer, len(texts), m.auc, m.f1, len(texts) / elapsed)


def fitted(texts: list[str], labels: list[int], language: str, l2: float = 1.0) -> TextModel:
    start = time.perf_counter()
    model = train(texts, labels, language, bits=BITS, l2=l2)
    print(f"  trained {language} on {len(texts)} rows in {time.perf_counter() - start:.1f} s",
          flush=True)
    return model


def snownlp_negative(text: str) -> float:
    return 1.0 - chinese_positive(text)


def vader_negative(text: str) -> float:
    return 1.0 - english_positive(text)


def sample(texts: list[str], labels: list[int], k: int) -> tuple[list[str], list[int]]:
    picked = sorted(random.Random(SEED).sample(range(len(texts)), min(k, len(texts))))
    return [texts[i] for i in picked], [labels[i] for i in picked]


def run(sweep: bool) -> tuple[list[Row], list[str]]:
    rows: list[Row] = []
    notes: list[str] = []
    default_zh = load(DEFAULT_PATH)
    splits = {}
    for data in (waimai(), online_shopping(), airline()):
        print(f"{data.name}: {len(data.texts)} rows", flush=True)
        tr_x, tr_y, te_x, te_y = splits[data.name] = parts(data)
        own = fitted(tr_x, tr_y, data.language)
        label = f"ours, trained on this train split (bits {BITS}, l2 1)"
        rows.append(measure(data.name, label, own.probability, te_x, te_y, own.threshold))
        if data.language == "zh":
            rows.append(measure(data.name, "ours, shipped zh-default (snownlp corpus)",
                                default_zh.probability, te_x, te_y, default_zh.threshold))
            sx, sy = sample(te_x, te_y, SNOWNLP_SAMPLE)
            rows.append(measure(data.name, "snownlp 1 - sentiments (2,000-row sample)",
                                snownlp_negative, sx, sy))
            rows.append(measure(data.name, "ours, trained (same 2,000-row sample)",
                                own.probability, sx, sy, own.threshold))
        else:
            rows.append(measure(data.name, "VADER (1 - compound) / 2", vader_negative, te_x,
                                te_y))
        if sweep and data.name != "online_shopping_10_cats":
            for l2 in (0.3, 3.0, 10.0):
                m = fitted(tr_x, tr_y, data.language, l2=l2)
                r = measure(data.name, f"ours, l2 {l2:g} (sweep: picked on test, optimistic)",
                            m.probability, te_x, te_y, m.threshold)
                rows.append(r)
    print("waimai + online_shopping together", flush=True)
    (wx, wy, wtx, wty), (ox, oy, otx, oty) = (splits["waimai_10k"],
                                             splits["online_shopping_10_cats"])
    both = fitted(wx + ox, wy + oy, "zh")
    for name, te_x, te_y in (("waimai_10k", wtx, wty), ("online_shopping_10_cats", otx, oty)):
        rows.append(measure(name, "ours, trained on waimai + online_shopping train splits",
                            both.probability, te_x, te_y, both.threshold))
    for r in rows:
        if r.scorer.startswith("ours, trained on this"):
            target = TARGETS["en" if r.dataset == "airline_tweets" else "zh"]
            notes.append(f"{r.dataset}: AUC {r.auc:.3f} vs target {target} -> "
                         f"{'met' if r.auc >= target else 'MISSED'}")
    slowest = min(r.rate for r in rows if r.scorer.startswith("ours"))
    notes.append(f"fast path: slowest {slowest:,.0f} posts/s vs target {MIN_RATE:,.0f} -> "
                 f"{'met' if slowest >= MIN_RATE else 'MISSED'}")
    return rows, notes


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def markdown(rows: list[Row], notes: list[str], command: str) -> str:
    lines = ["# Sentiment scoring on real labelled posts", "",
             f"- date: {datetime.date.today().isoformat()}",
             f"- machine: {cpu_name()}, nproc {os.cpu_count()}; one process pinned to one core",
             f"- command: `{command}`",
             f"- splits: fixed-seed ({SEED}) 80/20 per set; AUC / F1 for the negative class; "
             "F1 at 0.5 (all scorers, incl. ours: threshold 0.5)",
             "", "| dataset | scorer | test rows | AUC | F1 | posts/s |",
             "|---|---|---:|---:|---:|---:|"]
    lines += [f"| {r.dataset} | {r.scorer} | {r.rows:,} | {r.auc:.3f} | {r.f1:.3f} | "
              f"{r.rate:,.0f} |" for r in rows]
    lines += ["", "Targets: zh AUC >= 0.95, en AUC >= 0.93, fast path >= 5,000 posts/s.", ""]
    lines += [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", action="store_true",
                        help="also train with l2 0.3 / 3 / 10 (not on online_shopping)")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        raise SystemExit(f"{DATA} not found: this benchmark needs ../shared/data")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # "posts/s on one core"
    rows, notes = run(args.sweep)
    command = "python -m bench.scoring" + (" --sweep" if args.sweep else "")
    text = markdown(rows, notes, command)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
