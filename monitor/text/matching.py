"""Which brands a post mentions: keywords (any one), excludes (any one vetoes).

With many brands, one regular expression per brand costs a scan of the post per
brand (64 ms a post at 1,000 brands). ``BrandIndex`` scans the post once with an
Aho-Corasick automaton (pyahocorasick) over every keyword, and runs the brand's
own expressions (word boundaries, the Chinese rule, excludes) only for brands whose
keyword text occurs: the same answers, at a cost that hardly grows with brands."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import ahocorasick

from monitor.text.normalize import normalize

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# A letter or digit that is not Chinese: what a Latin word must not touch. Chinese
# has no spaces, so "用了Acme的" must match "acme" although 了 and 的 are \w too.
LATIN_WORD = r"[^\W\u3400-\u9fff\uf900-\ufaff]"
_LATIN_LETTER = r"[^\W\d_\u3400-\u9fff\uf900-\ufaff]"
# What may follow a Latin brand name: not a digit or a letter that continues the
# word, unless that run of letters ends in a digit: a model name glued on
# ("AcmeX2手机", "AcmePro15") still names the brand; "acmeville" and "acme2000"
# do not.
_BRAND_END = rf"(?!{_LATIN_LETTER}+(?!{_LATIN_LETTER}|\d))(?![\d_])"


def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """Match a normalised phrase: on word boundaries for Latin words (``acme`` must
    not match ``acmeville`` or ``acme2000``, but does in ``用了acme的`` and ``acmex2``), as a
    plain substring for Chinese (no spaces there)."""
    norm = normalize(phrase).strip()
    body = r"\s+".join(re.escape(part) for part in norm.split())
    if _CJK.search(norm):
        return re.compile(body)
    return re.compile(rf"(?<!{LATIN_WORD}){body}{_BRAND_END}")


def _spaced(text: str) -> str:
    """Runs of white space as one space: a keyword's words may be split by any."""
    return " ".join(text.split())


@dataclass(frozen=True)
class BrandRule:
    brand_id: int
    name: str
    keywords: tuple[re.Pattern[str], ...]
    excludes: tuple[re.Pattern[str], ...]
    phrases: tuple[str, ...] = ()  # the keywords' text, for ``BrandIndex``

    @classmethod
    def build(cls, brand_id: int, name: str, keywords: list[str], exclude: list[str]) -> BrandRule:
        return cls(brand_id, name, tuple(map(phrase_pattern, keywords)),
                   tuple(map(phrase_pattern, exclude)),
                   tuple(_spaced(normalize(k)) for k in keywords if normalize(k).strip()))

    def matches(self, normalized_text: str) -> bool:
        if not any(p.search(normalized_text) for p in self.keywords):
            return False
        return not any(p.search(normalized_text) for p in self.excludes)


@dataclass(frozen=True)
class BrandIndex:
    """Every rule's keywords in one automaton: a post is scanned once, and only the
    brands whose keyword text it contains are checked with their expressions (a
    keyword's expression can match only where its text occurs, white space aside)."""

    rules: tuple[BrandRule, ...]
    _automaton: ahocorasick.Automaton = field(repr=False, compare=False)

    @classmethod
    def build(cls, rules: Sequence[BrandRule]) -> BrandIndex:
        automaton = ahocorasick.Automaton()
        owners: dict[str, list[int]] = {}
        for i, rule in enumerate(rules):
            for phrase in rule.phrases:
                owners.setdefault(phrase, []).append(i)
        for phrase, which in owners.items():
            automaton.add_word(phrase, tuple(which))
        if owners:
            automaton.make_automaton()
        return cls(tuple(rules), automaton)

    def __iter__(self):  # noqa: ANN204 - iterates the rules, as a list of rules would
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def match(self, normalized_text: str) -> list[BrandRule]:
        """Rules whose brand the text mentions, in rule order."""
        if self._automaton.kind != ahocorasick.AHOCORASICK:
            return []
        found = {i for _, which in self._automaton.iter(_spaced(normalized_text))
                 for i in which}
        return [self.rules[i] for i in sorted(found) if self.rules[i].matches(normalized_text)]


def match_brands(rules: Sequence[BrandRule] | BrandIndex, normalized_text: str
                 ) -> list[BrandRule]:
    """Rules whose brand the (already normalised) text mentions. Pass a ``BrandIndex``
    when there are many brands or many posts."""
    if isinstance(rules, BrandIndex):
        return rules.match(normalized_text)
    return [rule for rule in rules if rule.matches(normalized_text)]
