"""An English post's buckets from what each word contributes, computed once per word.

``textmodel``'s English features (word 1-2-grams with negation marks, character
3-5-grams inside words, and the ``vlex`` lexicon hits) were built token by token:
a negation-marked token string, a cached hash call, a character-gram array and a
lexicon lookup per token, then a dozen small arrays joined. Words repeat across
posts, so here everything a word gives (its hash plain and negated, its character
grams, its lexicon valence, whether it negates) is one cached record, and a post
is one pass over its tokens. The buckets are the same as ``textmodel``'s
``_en_grams64`` plus ``_lexicon_grams`` (tests/test_scoring_hashing.py checks it on
real posts); the model only reads the distinct buckets, so order does not matter.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np

from monitor.scoring import hashing as hx
from monitor.scoring.lexicon_features import NEGATED_SCALE, lexicons, names_of

_EN_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[!?]+")
_W2 = hx.seed("w2")
_CACHE_LIMIT = 100_000  # words; ~0.5 kB each, as the per-word caches before held


@dataclass(frozen=True, slots=True)
class Word:
    plain: int  # crc32 of the token, w1 seed
    negated: int  # crc32 of "NOT_" + token, w1 seed
    grams: np.ndarray  # uint64 hashes of its padded character n-grams
    valence: float | None  # VADER lexicon valence, if the word is in it
    negator: bool  # opens a negation scope


@dataclass
class EnglishWords:
    """The per-word records of one feature configuration (seeds, negators, gram
    sizes come from ``textmodel``, which owns the feature definition)."""

    w1_seed: int
    ch_seed: int
    vl_seed: int
    negators: frozenset[str]
    char_grams: tuple[int, int]
    scope: int

    def __post_init__(self) -> None:
        self._words: dict[str, Word] = {}
        self._names: dict[str, int] = {}

    def word(self, token: str) -> Word:
        found = self._words.get(token)
        if found is None:
            if len(self._words) >= _CACHE_LIMIT:
                self._words.clear()
            found = self._words[token] = self._record(token)
        return found

    def _record(self, token: str) -> Word:
        low, high = self.char_grams
        padded = f"<{token}>".encode()
        grams = [zlib.crc32(padded[i:i + n], self.ch_seed) for n in range(low, high + 1)
                 for i in range(len(padded) - n + 1)]
        return Word(plain=zlib.crc32(token.encode(), self.w1_seed),
                    negated=zlib.crc32(f"NOT_{token}".encode(), self.w1_seed),
                    grams=np.array(grams, dtype=np.uint64),
                    valence=lexicons()[0].get(token),
                    negator=token in self.negators or token.endswith("n't"))

    def name_hash(self, name: str) -> int:
        found = self._names.get(name)
        if found is None:
            found = self._names[name] = zlib.crc32(name.encode(), self.vl_seed)
        return found

    def buckets(self, text: str, mask: int, lexicon: bool) -> np.ndarray:
        """Bucket numbers (int64, may repeat) of normalised ``text``: word 1-2-grams
        (``NOT_`` within ``scope`` words of a negator, reset by ``!``/``?``), the
        character grams of each word and, with ``lexicon``, the ``vlex`` names."""
        hashes: list[int] = []
        grams: list[np.ndarray] = []
        valences: list[float] = []
        scope = 0
        for tok in _EN_TOKEN.findall(text):
            if tok[0] in "!?":
                scope = 0
                hashes.append(self.word(tok[:3]).plain)
                continue
            w = self.word(tok)
            hashes.append(w.negated if scope else w.plain)
            grams.append(w.grams)
            if w.valence is not None:
                valences.append(w.valence * NEGATED_SCALE if scope else w.valence)
            scope = self.scope if w.negator else max(scope - 1, 0)
        words = np.array(hashes, dtype=np.uint64)
        parts = [words, hx.pair_hashes(words, _W2), *grams]
        if lexicon:
            symbols = lexicons()[1]
            valences += [symbols[piece] for piece in text.split() if piece in symbols]
            names = names_of(valences)
            parts.append(np.array([self.name_hash(n) for n in names], dtype=np.uint64))
        return (np.concatenate(parts) & np.uint64(mask)).astype(np.int64)
