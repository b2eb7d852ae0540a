"""Text normalisation for matching and scoring: NFKC, case-folded, Traditional
Chinese folded to Simplified (posts are stored as written; only matching folds)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import product

from opencc import OpenCC

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[^\W\d_]")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
_CURLY = re.compile("[\u2018\u2019\u201c\u201d]")
_CJK_LETTER = re.compile(r"(?=[^\W\d_])[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


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
    mappings = [mapping for _max, _min, mapping in converter.dict_cache.values()]
    singles = {key for mapping in mappings for key, value in mapping.items()
               if len(key) == 1 and value.split(" ")[0] != key}
    chars: set[str] = set(singles)
    for mapping in mappings:
        for key, value in mapping.items():
            target = value.split(" ")[0]
            if len(key) == 1 or target == key or not singles.isdisjoint(key):
                continue  # a phrase holding a changing character: that one triggers
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


@lru_cache(maxsize=1)
def _traditional_forms() -> dict[str, frozenset[str]]:
    """Simplified character -> the Traditional characters t2s folds onto it (发: 發 髮)."""
    converter = _t2s()
    converter.convert("")
    forms: dict[str, set[str]] = {}
    for max_len, _min_len, mapping in converter.dict_cache.values():
        if max_len != 1:
            continue
        for key, value in mapping.items():
            target = value.split(" ")[0]
            if len(key) == len(target) == 1 and key != target:
                forms.setdefault(target, set()).add(key)
    return {s: frozenset(t) for s, t in forms.items()}


@lru_cache(maxsize=1)
def _s2t() -> OpenCC:
    return OpenCC("s2t")


def script_variants(query: str, limit: int = 32) -> list[str]:
    """The spellings of ``query`` whose Traditional -> Simplified fold (``to_simplified``,
    the rule brand matching uses) is the query's: 发烫 and 發燙 find each other in a
    search over text stored as written. Every mix of each character's forms while
    there are at most ``limit``; past that (a long query of many such characters),
    the query as typed, its Simplified and its usual Traditional form (OpenCC s2t).
    The folded form comes first; the query as typed is always in."""
    folded = to_simplified(query)
    forms = _traditional_forms()
    choices = [sorted({ch, *forms.get(ch, ())}) for ch in folded]
    count = 1
    for options in choices:
        count *= len(options)
    if count <= limit:
        spelled = ["".join(mix) for mix in product(*choices)]
    else:
        spelled = [_s2t().convert(folded)]
    return list(dict.fromkeys([folded, query, *spelled]))


def clean(text: str) -> str:
    """Drop lone surrogates and control characters that break encoders downstream."""
    if text.isprintable():  # most posts: no control, format or surrogate characters
        return text
    text = text.encode("utf-8", "replace").decode("utf-8")
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")


def normalize(text: str) -> str:
    """The form every keyword, exclude and cue is compared against."""
    text = clean(text)
    if not unicodedata.is_normalized("NFKC", text):  # a quick check; most posts are
        text = unicodedata.normalize("NFKC", text)
    text = text.casefold()
    if _CURLY.search(text):  # translate() costs ~20 us on a long post even with no hit
        text = text.translate(_QUOTES)
    if _CJK.search(text):
        text = to_simplified(text)
    return text


def detect_language(text: str) -> str:
    """``zh`` when Chinese characters are a fifth or more of the letters, else ``en``.

    Posts here are Chinese, English or a mix; script share is enough to pick the
    sentiment model, and it costs nothing per post."""
    if text.isascii():
        return "en"
    cjk = len(_CJK_LETTER.findall(text))
    if not cjk:
        return "en"
    if 5 * cjk >= len(text):  # a fifth of all characters, so of the letters too
        return "zh"
    return "zh" if cjk / len(_LETTER.findall(text)) >= 0.2 else "en"
