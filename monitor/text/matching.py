"""Which brands a post mentions: keywords (any one), excludes (any one vetoes)."""

from __future__ import annotations

import re
from dataclasses import dataclass

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


@dataclass(frozen=True)
class BrandRule:
    brand_id: int
    name: str
    keywords: tuple[re.Pattern[str], ...]
    excludes: tuple[re.Pattern[str], ...]

    @classmethod
    def build(cls, brand_id: int, name: str, keywords: list[str], exclude: list[str]) -> BrandRule:
        return cls(brand_id, name, tuple(map(phrase_pattern, keywords)),
                   tuple(map(phrase_pattern, exclude)))

    def matches(self, normalized_text: str) -> bool:
        if not any(p.search(normalized_text) for p in self.keywords):
            return False
        return not any(p.search(normalized_text) for p in self.excludes)


def match_brands(rules: list[BrandRule], normalized_text: str) -> list[BrandRule]:
    """Rules whose brand the (already normalised) text mentions."""
    return [rule for rule in rules if rule.matches(normalized_text)]
