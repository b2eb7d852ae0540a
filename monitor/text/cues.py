"""The crisis-cue lexicon (``lexicon/cues.yaml``, written from the seed texts):
words that make a post matter whatever its tone (曝光, 律师, "going viral")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import ahocorasick
import yaml

from monitor.text.matching import LATIN_WORD
from monitor.text.normalize import normalize

DEFAULT_LEXICON = Path(__file__).parent.parent / "lexicon" / "cues.yaml"


@dataclass(frozen=True)
class CueCategory:
    key: str
    label: str
    weight: float
    strong: bool
    patterns: tuple[tuple[str, Matcher], ...]  # (term as written, compiled)


@dataclass(frozen=True)
class CueHit:
    key: str
    label: str
    weight: float
    strong: bool
    terms: tuple[str, ...]


class LatinTerm:
    """A Latin-script term on word boundaries, compiled in two steps.

    The boundary class leaves out the CJK ranges, and ``re`` builds such a class in a
    Python loop over ~28,000 code points: 3 ms a term, about 1.8 s for the ~600 terms
    of the cue and category lexicons at every start of every command. So only the
    bare words are compiled at once; the bounded pattern, which gives every answer,
    is compiled the first time a text holds those words (most terms never appear)."""

    __slots__ = ("pattern", "_words", "_bounded")

    def __init__(self, words: str, bounded: str) -> None:
        self.pattern = bounded
        self._words = re.compile(words)
        self._bounded: re.Pattern[str] | None = None

    def _full(self) -> re.Pattern[str]:
        if self._bounded is None:  # a race compiles it twice, harmlessly
            self._bounded = re.compile(self.pattern)
        return self._bounded

    def search(self, text: str) -> re.Match[str] | None:
        return self._full().search(text) if self._words.search(text) else None

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        return self._full().finditer(text) if self._words.search(text) else iter(())

    def sub(self, repl: str, text: str) -> str:
        return self._full().sub(repl, text) if self._words.search(text) else text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LatinTerm) and other.pattern == self.pattern

    def __hash__(self) -> int:
        return hash(self.pattern)

    def __repr__(self) -> str:
        return f"LatinTerm({self.pattern!r})"


Matcher = re.Pattern[str] | LatinTerm


def _en_pattern(term: str) -> LatinTerm:
    norm = normalize(term).strip()
    stem = norm.endswith("*")
    body = r"\s+".join(re.escape(w) for w in norm.rstrip("*").split())
    tail = f"{LATIN_WORD}*" if stem else ""
    return LatinTerm(body, rf"(?<!{LATIN_WORD}){body}{tail}(?!{LATIN_WORD})")


def _zh_pattern(term: str) -> re.Pattern[str]:
    return re.compile(re.escape(normalize(str(term)).strip()))


@lru_cache(maxsize=8)
def load_lexicon(path: Path = DEFAULT_LEXICON) -> tuple[CueCategory, ...]:
    """Compile the lexicon file once per path."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    categories = []
    for key, spec in data["categories"].items():
        patterns = [(str(t), _zh_pattern(t)) for t in spec.get("zh", [])]
        patterns += [(str(t).rstrip("*"), _en_pattern(str(t))) for t in spec.get("en", [])]
        categories.append(CueCategory(key, spec.get("label", key), float(spec["weight"]),
                                      bool(spec.get("strong", False)), tuple(patterns)))
    return tuple(categories)


def find_cues(categories: tuple[CueCategory, ...], normalized_text: str) -> list[CueHit]:
    """Every category with at least one term in the text, with the terms found.

    One Aho-Corasick scan (``_index``) names the terms whose longest word occurs
    in the post; only their expressions run: the same hits as trying every term
    (a term can match only where its longest word is written), at a fifth of the
    cost of a search per category on a tweet."""
    automaton = _index(categories)
    if automaton.kind != ahocorasick.AHOCORASICK:
        return []
    found: dict[int, set[int]] = {}
    for _, owners in automaton.iter(normalized_text):
        for cat, term in owners:
            found.setdefault(cat, set()).add(term)
    hits = []
    for i in sorted(found):
        cat = categories[i]
        terms = tuple(cat.patterns[k][0] for k in sorted(found[i])
                      if cat.patterns[k][1].search(normalized_text))
        if terms:
            hits.append(CueHit(cat.key, cat.label, cat.weight, cat.strong, terms))
    return hits


_INDEXES: dict[int, tuple[tuple[CueCategory, ...], ahocorasick.Automaton]] = {}


def _index(categories: tuple[CueCategory, ...]) -> ahocorasick.Automaton:
    """The automaton of ``categories`` (built once per lexicon): each term's longest
    word, normalised, mapped to the (category, term) pairs it stands for."""
    cached = _INDEXES.get(id(categories))
    if cached is not None and cached[0] is categories:
        return cached[1]
    owners: dict[str, list[tuple[int, int]]] = {}
    for i, cat in enumerate(categories):
        for k, (term, _) in enumerate(cat.patterns):
            word = max(normalize(term).strip().rstrip("*").split() or [""], key=len)
            if word:  # an empty term has nothing to find
                owners.setdefault(word, []).append((i, k))
    automaton = ahocorasick.Automaton()
    for word, pairs in owners.items():
        automaton.add_word(word, tuple(pairs))
    if owners:
        automaton.make_automaton()
    if len(_INDEXES) >= 16:
        _INDEXES.clear()
    _INDEXES[id(categories)] = (categories, automaton)
    return automaton


# Words that, just before a threat cue, take the threat back: "I won't sue", "no need
# to call the media", "不会起诉", "没找媒体". A contrast ("but") ends their reach.
_EN_NEGATORS = frozenset({"not", "no", "never", "won't", "wont", "don't", "dont", "didn't",
                          "didnt", "without", "isn't", "wasn't", "nobody", "neither", "nor"})
_EN_WINDOW = 5  # words before the cue ("no need to call a lawyer")
_ZH_NEGATED = re.compile(r"(?:不会|不用|无需|没必要|不必|不打算|不想|没有|没|不|别|未)"
                         r"(?:去|找|要|再|用|请|会)?\s*$")


def _negated_at(normalized_text: str, start: int) -> bool:
    before = normalized_text[max(0, start - 40):start]
    if _ZH_NEGATED.search(before):
        return True
    words = re.findall(r"[a-z']+", before)[-_EN_WINDOW:]
    if "but" in words:
        words = words[len(words) - words[::-1].index("but"):]
    return any(w in _EN_NEGATORS for w in words)


def negated(category: CueCategory, normalized_text: str) -> bool:
    """Whether every occurrence of the category's terms is negated ("won't sue",
    "不会起诉"), so the post takes the cue back rather than making it. Pure."""
    starts = [m.start() for _, pat in category.patterns
              for m in pat.finditer(normalized_text)]
    return bool(starts) and all(_negated_at(normalized_text, i) for i in starts)


@lru_cache(maxsize=8)
def strong_keys(path: Path = DEFAULT_LEXICON) -> frozenset[str]:
    """Keys of the strong categories (media, legal, safety, group action, viral)."""
    return frozenset(c.key for c in load_lexicon(path) if c.strong)
