"""VADER's word list as cheap features (the ``vlex`` extra of an English model).

The ``vader`` extra runs VADER's whole ``polarity_scores`` per post: about half of
an English post's scoring time, mostly in its idiom, booster and "but" rules.
What the model gains from it is mainly the lexicon: ~7,500 words and emoticons
rated by people, most of which no training set has seen. Here each post's
tokens (already negation-marked by the model's tokenizer, ``NOT_good``) are
looked up in that lexicon, and a few names describe what was found: each hit's
rounded valence (flipped and damped after a negator, as VADER does), how many
negative and positive hits, and the binned VADER-style normalised sum. A dict
lookup per token instead of VADER's rules: several times cheaper.

Pure: a token list and text in, feature names out (the caller hashes them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

NEGATED_SCALE = -0.74  # VADER's N_SCALAR: "not good" is a little less bad than "bad"
NORMALIZE_ALPHA = 15.0  # VADER's normalisation of a summed valence into -1..1


@lru_cache(maxsize=1)
def lexicons() -> tuple[dict[str, float], dict[str, float]]:
    """(words, symbols): VADER's lexicon split into word entries and entries with no
    letter in them (emoticons such as ``:(`` and ``</3``, matched as written)."""
    from monitor.scoring.sentiment import vader_lexicon

    words: dict[str, float] = {}
    symbols: dict[str, float] = {}
    for key, value in vader_lexicon().items():
        (words if any(ch.isalpha() for ch in key) else symbols)[key] = float(value)
    return words, symbols


def lexicon_names(tokens: Sequence[str], text: str) -> list[str]:
    """Feature names for the lexicon hits of ``tokens`` (``NOT_`` marks a negated
    word) and of the whitespace-separated pieces of ``text`` that are emoticons."""
    words, symbols = lexicons()
    valences = []
    for token in tokens:
        negated = token.startswith("NOT_")
        value = words.get(token[4:] if negated else token)
        if value is not None:
            valences.append(value * NEGATED_SCALE if negated else value)
    valences += [symbols[piece] for piece in text.split() if piece in symbols]
    return names_of(valences)


def names_of(valences: Sequence[float]) -> list[str]:
    """Feature names for lexicon hits of these valences (word hits in token order,
    then emoticons): each hit's rounded valence, then the binned normalised sum
    and how many hits were negative and positive."""
    names = [f"lv{round(v)}" for v in valences]
    total = sum(valences)
    compound = total / math.sqrt(total * total + NORMALIZE_ALPHA)
    negative = sum(1 for v in valences if v < 0)
    names += [f"lc{int((compound + 1.0) * 10)}", f"ln{min(negative, 3)}",
              f"lp{min(len(valences) - negative, 3)}"]
    return names
