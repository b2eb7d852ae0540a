"""Text normalisation for matching and scoring: NFKC, case-folded, Traditional
Chinese folded to Simplified (posts are stored as written; only matching folds)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from opencc import OpenCC

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[^\W\d_]")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


@lru_cache(maxsize=1)
def _t2s() -> OpenCC:
    return OpenCC("t2s")


@lru_cache(maxsize=1)
def _traditional() -> frozenset[str]:
    """Every character some t2s dictionary entry would change. Text with none of
    them converts to itself, and most Chinese posts are Simplified: testing this
    set first skips OpenCC's pure-Python matcher, about 75 us of a zh post's
    ~190 us scoring time."""
    converter = _t2s()
    converter.convert("")  # loads the dictionaries into dict_cache
    chars: set[str] = set()
    for _max_len, _min_len, mapping in converter.dict_cache.values():
        for key, value in mapping.items():
            target = value.split(" ")[0]
            if len(target) == len(key):
                chars.update(a for a, b in zip(key, target, strict=True) if a != b)
            else:
                chars.update(key)  # conservative: any of its characters triggers
    return frozenset(chars)


def to_simplified(text: str) -> str:
    """Traditional -> Simplified, skipping the converter when nothing would change."""
    if _traditional().isdisjoint(text):
        return text
    return _t2s().convert(text)


def clean(text: str) -> str:
    """Drop lone surrogates and control characters that break encoders downstream."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")


def normalize(text: str) -> str:
    """The form every keyword, exclude and cue is compared against."""
    text = unicodedata.normalize("NFKC", clean(text)).casefold().translate(_QUOTES)
    if _CJK.search(text):
        text = to_simplified(text)
    return text


def detect_language(text: str) -> str:
    """``zh`` when Chinese characters are a fifth or more of the letters, else ``en``.

    Posts here are Chinese, English or a mix; script share is enough to pick the
    sentiment model, and it costs nothing per post."""
    letters = _LETTER.findall(text)
    if not letters:
        return "en"
    cjk = sum(1 for ch in letters if _CJK.match(ch))
    return "zh" if cjk / len(letters) >= 0.2 else "en"
