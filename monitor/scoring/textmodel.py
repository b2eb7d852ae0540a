"""A fast, trainable complaint model: hashed n-gram features + L2 logistic regression.

snownlp spends ~4 ms a post in its word segmenter and VADER is a fixed lexicon;
both rank real complaints poorly (AUC ~0.85 / ~0.75). Hashed character n-grams
(Chinese) or word n-grams (English) need no segmenter and no vocabulary file, so
scoring is a few dictionary-free lookups (well over 5,000 posts/s on one core) and
anyone can retrain on their own labelled posts with numpy + scipy only.

Hashes are ``zlib.crc32`` (never Python's salted ``hash()``), so a saved model
means the same thing in every process and on every machine.
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from monitor.scoring import hashing as hx
from monitor.scoring import social
from monitor.scoring.en_words import EnglishWords
from monitor.scoring.files import read_labelled_csv as read_labelled_csv  # re-exported
from monitor.scoring.files import write_atomically

if TYPE_CHECKING:  # scipy.sparse is for training only: 0.2 s of import every command
    from scipy import sparse
from monitor.scoring.lexicon_features import lexicon_names
from monitor.scoring.logistic import fit as _fit
from monitor.scoring.logistic import nb_ratios as nb_ratios  # re-exported
from monitor.scoring.metrics import Metrics, auc_and_f1, sigmoid
from monitor.text.normalize import normalize

MAX_CHARS = 2000  # a 1 MB post says nothing more than its start, and would cost seconds
FORMAT_VERSION = 1
LANGUAGES = ("zh", "en")
# How grams become bucket numbers: "crc32" (one zlib.crc32 per gram; models saved
# before hashing.py) or "mix64" (monitor.scoring.hashing, numpy; new models).
HASHINGS = ("crc32", "mix64")
HASHING = "mix64"
# What a text's grams are read from: "plain" (the whole text; models saved before
# social.py) or "social" (its own words, quoted chain and markup tokens apart).
FEATURES = ("plain", "social")
DEFAULT_FEATURES = {"zh": "social", "en": "plain"}  # en: social.py says why

# Per-kind crc32 seeds: crc32(gram, crc32(prefix)) == crc32(prefix + gram), so each
# kind of gram hashes as if prefixed, without building the prefixed string.
_SEED = {kind: zlib.crc32(f"{kind}:".encode())
         for kind in ("c1", "c2", "c3", "w1", "w2", "ch", "vd", "vl", "tk")}
# Chinese: anything but word characters and sentence punctuation (emoji, symbols,
# whitespace) becomes one space; emoji-only text therefore has no features.
_ZH_DROP = re.compile(r"[^\w!?,.;:~。、…]+")
_EN_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[!?]+")
_NEGATORS = frozenset({"not", "no", "never", "cannot", "nothing", "nobody", "none", "nor",
                       "cant", "dont", "didnt", "doesnt", "isnt", "wasnt", "wont", "wouldnt",
                       "couldnt", "shouldnt", "havent", "hasnt", "hadnt", "arent", "werent"})
NEGATION_SCOPE = 3
EN_CHAR_GRAMS = (3, 5)  # char n-grams inside words: catch misspellings and inflections

# Per language: L2 strength, whether VADER's lexicon judgement joins the n-grams and
# whether features are Naive-Bayes scaled
# (chosen by 4-fold cross-validation on training splits only; bench/scoring.py).
DEFAULT_L2 = {"zh": 3.0, "en": 10.0}
DEFAULT_BITS = {"zh": 22, "en": 20}  # zh: 1-3-grams of 75k posts overfill 2**20 buckets
DEFAULT_EXTRAS: dict[str, tuple[str, ...]] = {"zh": (), "en": ("vlex",)}
DEFAULT_NB = {"zh": False, "en": True}  # NB scaling: +0.004 AUC on en, -0.004 on zh (CV)
EXTRAS = frozenset({"vader", "vlex"})  # vlex: VADER's lexicon only (lexicon_features.py)



# ---------------------------------------------------------------- features


def _zh_grams(text: str, mask: int) -> list[int]:
    text = _ZH_DROP.sub(" ", text)
    out = []
    for n, seed in ((1, _SEED["c1"]), (2, _SEED["c2"]), (3, _SEED["c3"])):
        for i in range(len(text) - n + 1):
            gram = text[i:i + n]
            if not gram.isspace():
                out.append(zlib.crc32(gram.encode(), seed) & mask)
    return out


_ZH_SIZES = (1, 2, 3)
_ZH_SEED = hx.seed("zh")
_CHAIN_SEED = hx.seed("zq")  # grams of a quoted repost chain


def _zh_grams64(text: str, mask: int) -> np.ndarray:
    """``_zh_grams`` hashed by ``monitor.scoring.hashing``: all of a post's grams in
    a few numpy calls instead of a crc32 call per gram."""
    points = hx.code_points(_ZH_DROP.sub(" ", text))
    return (hx.char_gram_hashes(points, _ZH_SIZES, _ZH_SEED) & np.uint64(mask)).astype(np.int64)


@lru_cache(maxsize=8)
def _en_tokens(text: str) -> tuple[str, ...]:
    """Word and ``!``/``?`` tokens; the few words after a negator get ``NOT_``, so
    "not good" and "good" are different features (stopped by ``!``/``?``).
    Cached for the few latest texts: the n-grams and the ``vlex`` extra both read them."""
    tokens = []
    scope = 0
    for tok in _EN_TOKEN.findall(text):
        if tok[0] in "!?":
            scope = 0
            tokens.append(tok[:3])  # "!!!!!!" and "!!!" say the same
            continue
        tokens.append("NOT_" + tok if scope else tok)
        scope = NEGATION_SCOPE if tok in _NEGATORS or tok.endswith("n't") else max(scope - 1, 0)
    return tuple(tokens)


def _en_grams(text: str, mask: int) -> list[int]:
    tokens = _en_tokens(text)
    w1, w2 = _SEED["w1"], _SEED["w2"]
    out = [zlib.crc32(t.encode(), w1) & mask for t in tokens]
    out += [zlib.crc32(f"{a} {b}".encode(), w2) & mask
            for a, b in zip(tokens, tokens[1:], strict=False)]
    for word in _en_words(text):
        out += [h & mask for h in _char_grams(word)]
    return out


def _en_words(text: str) -> list[str]:
    """Distinct words in first-seen order (the same output everywhere)."""
    return [w for w in dict.fromkeys(_EN_TOKEN.findall(text)) if w[0] not in "!?"]


_EN = EnglishWords(_SEED["w1"], _SEED["ch"], _SEED["vl"], _NEGATORS, EN_CHAR_GRAMS,
                   NEGATION_SCOPE)  # the mix64 English features, a cached record per word


@lru_cache(maxsize=100_000)
def _char_grams(word: str) -> tuple[int, ...]:
    """Unmasked hashes of a word's padded character n-grams. Words repeat across
    posts, so caching them roughly halves English feature time."""
    low, high = EN_CHAR_GRAMS
    padded, ch = f"<{word}>".encode(), _SEED["ch"]
    return tuple(zlib.crc32(padded[i:i + n], ch) for n in range(low, high + 1)
                 for i in range(len(padded) - n + 1))


def features(text: str, language: str, bits: int, hashing: str = HASHING) -> np.ndarray:
    """Hashed feature indices (int32, may repeat) of ``text`` for a model of ``2**bits``.

    Normalised first (NFKC, case-folded, Traditional -> Simplified) so every
    spelling of a post lands on the same features. Chinese: character 1-3-grams;
    English: word 1-2-grams with negation marks, plus character 3-5-grams inside
    words (padded with ``<``/``>``; bytes of UTF-8, which is fine for hashing).
    ``hashing`` is how grams become buckets (``HASHINGS``; a model keeps its own)."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; expected one of {LANGUAGES}")
    if hashing not in HASHINGS:
        raise ValueError(f"unknown hashing {hashing!r}; expected one of {HASHINGS}")
    return _grams(normalize(text[:MAX_CHARS]), language, bits, hashing).astype(np.int32)


def _grams(norm: str, language: str, bits: int, hashing: str) -> np.ndarray:
    """Bucket numbers (int64, may repeat) of already-normalised text."""
    norm = norm[:MAX_CHARS]
    mask = (1 << bits) - 1
    if hashing == "mix64":
        return _zh_grams64(norm, mask) if language == "zh" else _EN.buckets(norm, mask, False)
    grams = _zh_grams(norm, mask) if language == "zh" else _en_grams(norm, mask)
    return np.array(grams, dtype=np.int64)


def _vader_grams(text: str, mask: int) -> list[int]:
    """VADER's verdict as a few binned features: its lexicon knows words no training
    set has seen, and the model learns how far to trust it (a shippable resource)."""
    from monitor.scoring.sentiment import vader_scores

    scores = vader_scores(text)
    names = (f"vc{int((scores['compound'] + 1.0) * 10)}", f"vn{int(scores['neg'] * 10)}",
             f"vp{int(scores['pos'] * 10)}")
    return [zlib.crc32(name.encode(), _SEED["vd"]) & mask for name in names]


def _unique(text: str, language: str, bits: int, extras: tuple[str, ...] = (),
            hashing: str = HASHING, normalized: bool = False, kind: str = "plain"
            ) -> np.ndarray:
    """Distinct bucket numbers of a text: its n-grams plus any ``extras``
    (``kind`` "social": of its own words, chain and tokens, ``_social``)."""
    norm = text if normalized else normalize(text[:MAX_CHARS])
    if kind == "social":
        return _social(norm[:MAX_CHARS], language, bits, extras, hashing)
    if language == "en" and hashing == "mix64":  # n-grams and vlex in one pass
        grams = _EN.buckets(norm[:MAX_CHARS], (1 << bits) - 1, "vlex" in extras)
        if "vader" in extras:
            grams = np.concatenate([grams, np.array(_vader_grams(text, (1 << bits) - 1),
                                                    dtype=np.int64)])
        return hx.distinct(grams)
    grams = _grams(norm, language, bits, hashing)
    if "vader" in extras:
        grams = np.concatenate([grams, np.array(_vader_grams(text, (1 << bits) - 1),
                                                dtype=np.int64)])
    if "vlex" in extras:
        grams = np.concatenate([grams, _lexicon_grams(norm[:MAX_CHARS], (1 << bits) - 1)])
    return hx.distinct(grams)


def _social(norm: str, language: str, bits: int, extras: tuple[str, ...], hashing: str
            ) -> np.ndarray:
    """``social.parts`` hashed: the own words as plain text, the quoted chain's
    character grams under their own seed, each token as one whole-word feature."""
    if language != "zh":
        return _unique(norm, language, bits, extras, hashing, normalized=True)
    found = social.parts(norm)
    own = _unique(found.own, language, bits, extras, hashing, normalized=True)
    if not (found.chain or found.tokens):
        return own  # most posts: no markup
    mask = (1 << bits) - 1
    grams = [own]
    if found.chain:
        points = hx.code_points(_ZH_DROP.sub(" ", found.chain))
        grams.append((hx.char_gram_hashes(points, _ZH_SIZES, _CHAIN_SEED)
                      & np.uint64(mask)).astype(np.int64))
    if found.tokens:
        grams.append(np.array([zlib.crc32(t.encode(), _SEED["tk"]) & mask
                               for t in found.tokens], dtype=np.int64))
    return hx.distinct(np.concatenate(grams))


def _lexicon_grams(norm: str, mask: int) -> np.ndarray:
    """The ``vlex`` extra: VADER's lexicon looked up per token (lexicon_features.py)."""
    seed = _SEED["vl"]
    names = lexicon_names(_en_tokens(norm), norm)
    return np.array([zlib.crc32(n.encode(), seed) & mask for n in names], dtype=np.int64)


# ---------------------------------------------------------------- model


@dataclass(frozen=True)
class TextModel:
    """Logistic regression over binary hashed features; P(negative / complaint)."""

    language: str
    bits: int
    weights: np.ndarray  # float32, 2**bits
    bias: float
    threshold: float = 0.5
    metrics: dict = field(default_factory=dict)
    trained_on: str = ""
    extras: tuple[str, ...] = ()  # extra feature families ("vader")
    risk_calibration: tuple[float, float] | None = None  # Platt (a, b) on logit(risk)
    hashing: str = "crc32"  # how its grams were hashed (HASHINGS); new models: HASHING
    features: str = "plain"  # what its grams are read from (FEATURES); new: DEFAULT_FEATURES

    def probability(self, text: str, normalized: bool = False) -> float:
        """P(negative) of one text; text without features gets the bias alone.
        ``normalized=True`` says ``text`` is already ``normalize``d (the risk score
        normalises once for cues and model alike), saving the second pass."""
        idx = _unique(text, self.language, self.bits, self.extras, self.hashing, normalized,
                      self.features)
        return sigmoid(self.bias + float(self.weights[idx].sum(dtype=np.float64)))

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([self.probability(t) for t in texts], dtype=np.float64)


def _matrix(texts: Sequence[str], language: str, bits: int, extras: tuple[str, ...] = (),
            hashing: str = HASHING, kind: str = "plain") -> sparse.csr_matrix:
    """Binary CSR matrix (rows = texts, columns = hashed features)."""
    from scipy import sparse

    rows = [_unique(t, language, bits, extras, hashing, kind=kind) for t in texts]
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in rows], out=indptr[1:])
    indices = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int32)
    data = np.ones(len(indices), dtype=np.float64)
    return sparse.csr_matrix((data, indices, indptr), shape=(len(rows), 1 << bits))


def train(texts: Sequence[str], labels: Sequence[int], language: str, *,
          bits: int | None = None,
          l2: float | None = None, threshold: float | None = None,
          extras: tuple[str, ...] | None = None, nb: bool | None = None,
          weights: Sequence[float] | None = None, features: str | None = None) -> TextModel:
    """Fit a model; labels 1 = negative / complaint, 0 = anything else. Deterministic.

    ``weights`` (one per text, > 0; e.g. ``trainset.row_weights``) make a row count
    that much in the fit and in the NB ratios: in-domain posts above reviews.
    ``features`` is what grams are read from (``FEATURES``; "plain" as before social.py;
    default per language, ``DEFAULT_FEATURES``).

    ``bits``, ``l2``, ``extras`` and ``nb`` (scale features by ``nb_ratios``) default
    per language: ``DEFAULT_BITS``, ``DEFAULT_L2``, ``DEFAULT_EXTRAS``, ``DEFAULT_NB``.
    ``threshold=None`` keeps 0.5 rather than tuning it on the training data: the
    model nearly separates what it was fitted on, so an F1-best threshold found
    there is noise. Pass a threshold chosen on held-out data instead."""
    from scipy import sparse

    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; expected one of {LANGUAGES}")
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    y = np.asarray(labels, dtype=np.float64)
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 or 1")
    if len(set(y.tolist())) < 2:
        raise ValueError("training needs both negative (1) and other (0) examples")
    bits = DEFAULT_BITS[language] if bits is None else bits
    if not 1 <= bits <= 30:
        raise ValueError(f"bits must be 1..30, not {bits}")
    l2 = DEFAULT_L2[language] if l2 is None else float(l2)
    extras = DEFAULT_EXTRAS[language] if extras is None else tuple(extras)
    if unknown := set(extras) - EXTRAS:
        raise ValueError(f"unknown feature extras {sorted(unknown)}; known: {sorted(EXTRAS)}")
    nb = DEFAULT_NB[language] if nb is None else nb
    features = DEFAULT_FEATURES[language] if features is None else features
    if features not in FEATURES:
        raise ValueError(f"unknown features {features!r}; expected one of {FEATURES}")
    sw = _sample_weights(weights, len(texts))
    x = _matrix(texts, language, bits, extras, HASHING, features)
    scale = nb_ratios(x, y, sample_weight=sw) if nb else np.ones(x.shape[1])
    w, bias = _fit(sparse.csr_matrix(x @ sparse.diags(scale)), y, l2, sw)
    w = (w * scale).astype(np.float32)
    return TextModel(language=language, bits=bits, weights=w, bias=bias,
                     threshold=0.5 if threshold is None else float(threshold),
                     metrics={"train_rows": len(texts), "l2": l2, "nb": nb},
                     extras=extras, hashing=HASHING, features=features)


def _sample_weights(weights: Sequence[float] | None, n: int) -> np.ndarray | None:
    if weights is None:
        return None
    sw = np.asarray(weights, dtype=np.float64)
    if sw.shape != (n,):
        raise ValueError(f"{n} texts but {sw.size} weights")
    if not (np.isfinite(sw).all() and (sw > 0).all()):
        raise ValueError("weights must be finite numbers above 0")
    return sw / sw.mean()  # only their ratios count, in the fit and in the NB ratios


def evaluate(model: TextModel, texts: Sequence[str], labels: Sequence[int]) -> Metrics:
    return auc_and_f1(model.probabilities(texts), labels, model.threshold)


# ---------------------------------------------------------------- files


def save(model: TextModel, path: Path) -> None:
    """One compressed ``.npz``: float32 weights plus a JSON metadata string
    (no pickles, so loading a model file cannot run code), written beside ``path``
    and renamed over it: a full disk or a crash never leaves a truncated model."""
    meta = {"format": FORMAT_VERSION, "language": model.language, "bits": model.bits,
            "bias": model.bias, "threshold": model.threshold, "metrics": model.metrics,
            "trained_on": model.trained_on, "extras": list(model.extras),
            "risk_calibration": None if model.risk_calibration is None
            else list(model.risk_calibration), "hashing": model.hashing,
            "features": model.features}
    write_atomically(Path(path), lambda fh: np.savez_compressed(
        fh, weights=np.asarray(model.weights, dtype=np.float32),
        meta=np.array(json.dumps(meta, ensure_ascii=False))))


def load(path: Path) -> TextModel:
    """The model saved at ``path``; ValueError saying what is wrong otherwise."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"model file {path} is a directory")
    if not path.is_file():
        raise ValueError(f"model file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as npz:
            weights = np.asarray(npz["weights"], dtype=np.float32)
            meta = json.loads(str(npz["meta"]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path} is not a crisiswatch model file ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ValueError(f"{path} has model format {found!r}; this version reads "
                         f"{FORMAT_VERSION} (retrain with `crisiswatch model train`)")
    try:
        language, bits = meta["language"], int(meta["bits"])
        model = TextModel(language=language, bits=bits, weights=weights,
                          bias=float(meta["bias"]), threshold=float(meta["threshold"]),
                          metrics=dict(meta.get("metrics") or {}),
                          trained_on=str(meta.get("trained_on", "")),
                          extras=tuple(meta.get("extras") or ()),
                          risk_calibration=_pair(meta.get("risk_calibration")),
                          hashing=str(meta.get("hashing", "crc32")),
                          features=str(meta.get("features", "plain")))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path} has incomplete model metadata ({exc})") from None
    if language not in LANGUAGES:
        raise ValueError(f"{path} is for unknown language {language!r}")
    if model.hashing not in HASHINGS:
        raise ValueError(f"{path} hashes its features with {model.hashing!r}, which this "
                         "version does not know")
    if model.features not in FEATURES:
        raise ValueError(f"{path} reads {model.features!r} features, which this version "
                         "does not know")
    if unknown := set(model.extras) - EXTRAS:
        raise ValueError(f"{path} needs feature extras {sorted(unknown)} this version lacks")
    if weights.ndim != 1 or len(weights) != 1 << bits:
        raise ValueError(f"{path} is corrupt: {weights.shape} weights for bits={bits}")
    return model


def _pair(value: object) -> tuple[float, float] | None:
    if value is None:
        return None
    a, b = value  # type: ignore[misc]
    return float(a), float(b)
