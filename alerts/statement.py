"""Holding statements: the first public words a playbook gives the PR team, filled
from what the incident knows. Pure: text and values in, text out.

A statement must never assert what the incident does not know. Placeholders:
``{brand}`` the brand, in the statement's language when the brand has a name for it
(``brands[].names`` in the config); ``{product}`` the product or service as
customers call it, written after the brand ("your {brand} {product}"); ``{time}``
a date or "recently", after a verb ("posted {time}"); ``{place}`` a store, branch
or city, a fact most incidents lack (a forum post or a tweet names none).

An **optional clause** is text in square brackets holding at least one placeholder,
``"your experience with {brand}[ at {place}]"``: it is kept, without the brackets,
only when the incident gives every placeholder in it a value, and dropped whole
otherwise ("your experience with Acme"). ``{place}`` may only stand in one
(``alerts/playbook_check.py`` says so), because no neutral word for a place exists
that is not a claim. The others, outside a clause, fall back to the playbook's
``placeholder_defaults``, then to the neutral words below. Brackets without a
placeholder are plain text.

Filling is plain substitution, never str.format or Jinja: the statement and the
values may hold braces and brackets of their own, and unknown ``{...}`` are left
as they are. One pass over the statement, so a value that itself says
"{product}" or "[...]" is printed as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

PLACEHOLDERS = ("brand", "product", "time", "place")
CLAUSE_ONLY = ("place",)  # facts with no neutral word: only in an optional clause
# Neutral words for a missing value, after the playbook's own ``placeholder_defaults``.
PLACEHOLDER_DEFAULTS: dict[str, dict[str, str]] = {
    "brand": {"en": "our brand", "zh": "我们的品牌"},
    "product": {"en": "product", "zh": "产品"},
    "time": {"en": "recently", "zh": "近日"},
}

_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
_CLAUSE = re.compile(r"\[([^\[\]]*)\]")  # innermost brackets; a clause if a placeholder is in
_SPACES = re.compile(r" {2,}")
_SPACE_BEFORE_MARK = re.compile(r" +(?=[,.;:!?，。；：！？、])")


def bare_placeholders(text: str) -> list[str]:
    """The placeholders of ``text`` outside any optional clause, in order."""
    return _PLACEHOLDER.findall(_CLAUSE.sub("", text))


def fill_statement(text: str, values: Mapping[str, str | None], lang: str = "en",
                   defaults: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """The statement with its optional clauses kept or dropped and its placeholders
    filled (see the module docstring). Missing values outside a clause become the
    playbook's ``defaults`` or neutral words, so no placeholder reaches the public."""

    def clause(match: re.Match[str]) -> str:
        keys = _PLACEHOLDER.findall(match.group(1))
        if not keys:
            return match.group(0)
        return match.group(1) if all(values.get(k) for k in keys) else ""

    kept = _CLAUSE.sub(clause, text)
    filled = {key: _placeholder(key, values.get(key), lang, defaults) for key in PLACEHOLDERS}
    out = _PLACEHOLDER.sub(lambda m: filled[m.group(1)], kept)
    if kept != text:  # a dropped clause may leave "Acme , and" behind
        out = _SPACE_BEFORE_MARK.sub("", _SPACES.sub(" ", out))
    return out


def _placeholder(key: str, value: str | None, lang: str,
                 defaults: Mapping[str, Mapping[str, str]] | None) -> str:
    if value:
        return value
    for source in ((defaults or {}).get(key) or {}, PLACEHOLDER_DEFAULTS.get(key) or {}):
        if word := source.get(lang) or source.get("en"):
            return word
    return ""


def statement_brand(name: str, names: Mapping[str, str] | None, lang: str) -> str:
    """The brand as a statement in ``lang`` names it: its name in that language when
    one is configured (艾克美 for Acme in Chinese), else its name."""
    return (names or {}).get(lang) or name


def statement_time(opened_at: datetime | None, lang: str) -> str | None:
    """The day the incident opened, written for a public statement."""
    if opened_at is None:
        return None
    if lang == "zh":
        return f"{opened_at.year}年{opened_at.month}月{opened_at.day}日"
    return f"{opened_at.day} {opened_at:%B %Y}"
