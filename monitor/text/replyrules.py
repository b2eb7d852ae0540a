"""The reply lexicon (``lexicon/replycheck.yaml``) compiled into regular
expressions, and the folding both sides match on.

Matching runs on folded text (``monitor.text.normalize.normalize``: NFKC, case,
Traditional->Simplified), but ``fold`` keeps a map back to the text as the user
wrote it, so every offset reported points into the original. The pattern syntax
(``{n}``, ``(a|b)``, ``*`` stems, flexible spaces) is documented at the top of
``replycheck.yaml``. Pure functions: the YAML is read once.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from monitor.text.matching import LATIN_WORD
from monitor.text.normalize import normalize

LEXICON = Path(__file__).parent.parent / "lexicon" / "replycheck.yaml"
LANGS = ("en", "zh")
FIX, CONSIDER = "fix", "consider"
LEVELS = (FIX, CONSIDER)

_NUMBER = {
    "en": r"(?:\d+(?:[.,]\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
          r"|twenty[\s-]?four|forty[\s-]?eight|seventy[\s-]?two)",
    "zh": r"[0-9一二两三四五六七八九十百半]+",
}
_SPACE = {"en": r"\s+", "zh": r"\s*"}
# One piece of the pattern syntax: {n}, an (a|b) group, a * stem, spaces, a literal run.
_PIECE = re.compile(r"\{n\}|\([^()]*\)|\*|\s+|[^\s{}()*]+")


class ReplyLexiconError(ValueError):
    """``replycheck.yaml`` is invalid; the message names the key."""


# --- folding with a map back to the original text -------------------------------------------


@dataclass(frozen=True)
class Folded:
    """Folded text plus, per folded character, the span of the original it came from."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original span behind the folded span ``[start, end)`` (not empty)."""
        return self.starts[start], self.ends[end - 1]


_fold_piece = lru_cache(maxsize=1 << 16)(normalize)


def _pieces(text: str) -> list[tuple[int, int]]:
    """Spans of a base character with its combining marks: NFKC composes within such a
    cluster (e + U+0301 -> é), so the cluster is the smallest unit that folds alone."""
    spans: list[tuple[int, int]] = []
    for i, ch in enumerate(text):
        if spans and unicodedata.category(ch).startswith("M"):
            spans[-1] = (spans[-1][0], i + 1)
        else:
            spans.append((i, i + 1))
    return spans


def fold(text: str) -> Folded:
    """``normalize`` applied cluster by cluster, so that each folded character knows its
    origin even where folding changes the length (NFKC ``㈱``, casefold ``ß``, dropped
    control characters). Patterns are folded the same way, so both sides agree even
    where OpenCC would convert a whole phrase differently from its characters."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for start, end in _pieces(text):
        piece = _fold_piece(text[start:end])
        out.append(piece)
        starts.extend([start] * len(piece))
        ends.extend([end] * len(piece))
    return Folded("".join(out), tuple(starts), tuple(ends))


# --- the lexicon's pattern syntax --------------------------------------------------------------


def _literal(text: str, lang: str) -> str:
    """Escaped text, its whitespace matching any whitespace (en) or none (zh)."""
    return "".join(_SPACE[lang] if part.isspace() else re.escape(part)
                   for part in re.split(r"(\s+)", text) if part)


def _piece_regex(piece: str, lang: str, term: str) -> str:
    if piece == "{n}":
        return _NUMBER[lang]
    if piece.startswith("("):
        return "(?:" + "|".join(_literal(alt, lang) for alt in piece[1:-1].split("|")) + ")"
    if piece == "*":
        if lang != "en":
            raise ReplyLexiconError(f"{term!r}: * stems are for English words only")
        return f"{LATIN_WORD}*"
    if piece.isspace():
        return _SPACE[lang]
    return re.escape(piece)


def _absorb_spaces(pieces: list[str]) -> list[str]:
    """Move the space after an optional group into its alternatives: "(our|the|) policy"
    must match "policy" with one space before it, not two."""
    out: list[str] = []
    for piece in pieces:
        last = out[-1] if out else ""
        if piece.isspace() and last.startswith("(") and "" in last[1:-1].split("|"):
            alts = last[1:-1].split("|")
            out[-1] = "(" + "|".join(alt + " " if alt else "" for alt in alts) + ")"
        else:
            out.append(piece)
    return out


_GLUED = re.compile(rf"{LATIN_WORD}|-")


@dataclass(frozen=True)
class Term:
    """A compiled lexicon pattern. For English the word must start on a boundary (not
    "dm" in "admin", "refund" in "non-refundable"); that test runs here, not as a
    look-behind in the regex, so the regex starts with its literal and ``re`` can
    scan for it fast (a look-behind first makes a megabyte reply 20 times slower)."""

    pattern: re.Pattern[str]
    word_start: bool

    def spans(self, text: str) -> list[tuple[int, int]]:
        found = []
        pos = 0
        while (m := self.pattern.search(text, pos)) is not None:
            start, end = m.span()
            if self.word_start and start and _GLUED.match(text[start - 1]):
                pos = start + 1
                continue
            found.append((start, end))
            pos = max(end, start + 1)
        return found

    def found(self, text: str) -> bool:
        return bool(self.spans(text)) if self.word_start else bool(self.pattern.search(text))

    def blank(self, text: str) -> str:
        """``text`` with every match replaced by a space."""
        for start, end in reversed(self.spans(text)):
            text = f"{text[:start]} {text[end:]}"
        return text


def compile_term(term: str, lang: str) -> Term:
    """Compile one lexicon pattern (syntax in ``replycheck.yaml``). Every literal is
    escaped: the syntax has no way to inject a regular expression."""
    folded = fold(str(term)).text.strip()
    pieces = [m.group() for m in _PIECE.finditer(folded)]
    if not folded or "".join(pieces) != folded:
        raise ReplyLexiconError(f"{term!r}: unbalanced ( ) or {{ }}")
    body = "".join(_piece_regex(p, lang, term) for p in _absorb_spaces(pieces))
    if lang == "en":  # whole words; the start is checked by Term.spans
        body = rf"{body}(?!{LATIN_WORD})"
    pattern = re.compile(body)
    if pattern.search(""):
        raise ReplyLexiconError(f"{term!r}: matches the empty string")
    return Term(pattern, word_start=lang == "en")


# --- loading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """A taboo, a required element, or a special finding (no patterns)."""

    key: str
    level: str
    label: dict[str, str]
    why: dict[str, str]
    advice: dict[str, str]
    patterns: tuple[Term, ...] = ()
    exceptions: tuple[Term, ...] = ()


@dataclass(frozen=True)
class Lexicon:
    taboo: tuple[Group, ...]
    required: dict[str, Group]
    special: dict[str, Group]
    filler: tuple[Term, ...]


def _bilingual(spec: dict, where: str, field: str) -> dict[str, str]:
    value = spec.get(field)
    if not isinstance(value, dict) or not all(isinstance(value.get(x), str) and value[x].strip()
                                              for x in LANGS):
        raise ReplyLexiconError(f"{where}.{field} needs both en and zh")
    return {lang: " ".join(value[lang].split()) for lang in LANGS}


def _compile_all(spec: object, where: str) -> tuple[Term, ...]:
    if spec is None:
        return ()
    if not isinstance(spec, dict) or set(spec) - set(LANGS):
        raise ReplyLexiconError(f"{where} must map en/zh to lists of patterns")
    return tuple(compile_term(str(term), lang) for lang in LANGS for term in spec.get(lang) or ())


def _group(key: str, spec: object, where: str, *, needs_patterns: bool) -> Group:
    if not isinstance(spec, dict):
        raise ReplyLexiconError(f"{where}: expected a mapping")
    level = spec.get("level", FIX)
    if level not in LEVELS:
        raise ReplyLexiconError(f"{where}.level must be fix or consider, not {level!r}")
    patterns = _compile_all(spec.get("patterns"), f"{where}.patterns")
    if needs_patterns and not patterns:
        raise ReplyLexiconError(f"{where}.patterns is empty")
    return Group(key, level, _bilingual(spec, where, "label"), _bilingual(spec, where, "why"),
                 _bilingual(spec, where, "advice"), patterns,
                 _compile_all(spec.get("except"), f"{where}.except"))


def _section(data: dict, name: str, *, needs_patterns: bool) -> dict[str, Group]:
    section = data.get(name)
    if not isinstance(section, dict) or not section:
        raise ReplyLexiconError(f"{name}: expected a mapping of groups")
    return {key: _group(key, spec, f"{name}.{key}", needs_patterns=needs_patterns)
            for key, spec in section.items()}


@lru_cache(maxsize=4)
def load_lexicon(path: Path = LEXICON) -> Lexicon:
    """Read and compile ``replycheck.yaml`` once per path; errors name the key."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ReplyLexiconError(f"{Path(path).name}: expected a mapping")
    required = _section(data, "required", needs_patterns=True)
    special = _section(data, "special", needs_patterns=False)
    for key, section in (("apology", required), ("next_step", required),
                         ("apology_without_next_step", special), ("never_say", special)):
        if key not in section:
            raise ReplyLexiconError(f"{Path(path).name}: {key} is missing")
    return Lexicon(tuple(_section(data, "taboo", needs_patterns=True).values()), required,
                   special, _compile_all(data.get("apology_filler"), "apology_filler"))
