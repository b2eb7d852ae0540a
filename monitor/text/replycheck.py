"""Check a draft public reply to a complaint before it is posted.

The seed texts agree on what makes a reply worse (hiding behind "company rules",
"final interpretation belongs to the company", blaming the customer, "complain
wherever you like", an apology with no next step) and on what a reply needs (an
apology, a concrete next step, a time the customer can count on). The words live
in ``replycheck.yaml``, compiled by ``replyrules.py``; this module applies them,
plus the playbook's own ``never_say`` phrases. Pure functions.

Matching runs on folded text (``monitor.text.normalize.normalize``: NFKC, case,
Traditional->Simplified), but every offset reported points into the text as the
user wrote it, so the web console can highlight the phrase in place.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import asdict, dataclass
from functools import lru_cache

from alerts.playbooks import Playbook
from monitor.text.matching import LATIN_WORD
from monitor.text.normalize import detect_language
from monitor.text.replyrules import (
    CONSIDER,
    FIX,
    LANGS,
    LEVELS,
    Folded,
    Group,
    Lexicon,
    fold,
    load_lexicon,
)

_CJK = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
_LATIN = r"[^\W_\u3400-\u9fff\uf900-\ufaff]"
# A word of a never_say phrase: a Latin word (apostrophes kept: "that's") or one Han char.
_WORD = re.compile(rf"{_LATIN}+(?:'{_LATIN}+)*|{_CJK}")
_NOTE = re.compile(r"\([^()]*\)")  # "(and nothing else)": after NFKC, （…） is (…) too


@dataclass(frozen=True)
class Finding:
    """One thing wrong with, or missing from, the draft.

    ``kind`` is ``taboo``, ``never_say`` or ``missing``; ``level`` is ``fix`` (the
    draft must change) or ``consider``. ``matched``/``start``/``end`` locate the
    phrase in the original text (``text[start:end] == matched``); they are None
    for what is missing. ``label`` is a short heading, ``message`` the label with
    the reason, ``advice`` what to write instead, all in the reply's language."""

    kind: str
    key: str
    level: str
    message: str
    matched: str | None = None
    start: int | None = None
    end: int | None = None
    label: str = ""
    advice: str = ""


@dataclass(frozen=True)
class ReplyCheck:
    language: str
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        """Nothing must be fixed ("consider" findings do not block posting)."""
        return not any(f.level == FIX for f in self.findings)

    def to_dict(self) -> dict:
        """JSON-ready, for the CLI's ``--json`` and the web console."""
        return {"ok": self.ok, "language": self.language,
                "findings": [asdict(f) for f in self.findings]}


# --- matching --------------------------------------------------------------------------------


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping spans merged into disjoint ones, in order."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _overlaps(disjoint: list[tuple[int, int]], starts: list[int], span: tuple[int, int]) -> bool:
    """Whether ``span`` overlaps any of the sorted disjoint spans (``starts`` their starts)."""
    i = bisect_left(starts, span[1]) - 1
    return i >= 0 and disjoint[i][1] > span[0]


def _leftmost_longest(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """One span per place: where patterns overlap ("公司规定" inside "这是公司规定"),
    keep the one that starts first and, among those, the longest."""
    kept: list[tuple[int, int]] = []
    for start, end in sorted(spans, key=lambda s: (s[0], -s[1])):
        if not kept or start >= kept[-1][1]:
            kept.append((start, end))
    return kept


def _without(spans: list[tuple[int, int]], vetoes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    disjoint = _merge(vetoes)
    starts = [s for s, _ in disjoint]
    return [s for s in spans if not _overlaps(disjoint, starts, s)]


def group_spans(group: Group, text: str) -> list[tuple[int, int]]:
    """Where the group's patterns match the folded text, minus matches an ``except``
    pattern overlaps ("we have changed our policy" is not hiding behind it)."""
    found = [span for term in group.patterns for span in term.spans(text)]
    if found and group.exceptions:
        found = _without(found, [span for term in group.exceptions for span in term.spans(text)])
    return _leftmost_longest(found)


# --- never_say ---------------------------------------------------------------------------------


def _is_only_apology(phrase: str, lexicon: Lexicon) -> bool:
    """"Sorry for the inconvenience." as a never_say entry means an apology with nothing
    after it; apology_without_next_step covers that, and matching the words themselves
    would flag every good reply that starts with them."""
    apology = lexicon.required["apology"].patterns
    if not any(term.found(phrase) for term in apology):
        return False
    rest = phrase
    for term in (*apology, *lexicon.filler):
        rest = term.blank(rest)
    return _WORD.search(rest) is None


@lru_cache(maxsize=1024)
def never_say_pattern(phrase: str) -> re.Pattern[str] | None:
    """A tolerant pattern for a playbook phrase: folded, its (notes) dropped, its
    punctuation and spacing free ("這是公司規定！" matches "这是公司规定。"). None for a
    phrase that is only an apology or too short to be safe (one word). The playbook
    is data someone else edits: every word is escaped."""
    folded = _NOTE.sub(" ", fold(phrase).text)
    if _is_only_apology(folded, load_lexicon()):
        return None
    words = _WORD.findall(folded)
    if len(words) < 2:
        return None
    body = re.escape(words[0])
    for prev, word in zip(words, words[1:], strict=False):
        latin_pair = re.match(_LATIN, prev[-1]) and re.match(_LATIN, word[0])
        body += (r"[\W_]+" if latin_pair else r"[\W_]*") + re.escape(word)
    if re.match(_LATIN, words[0][0]):
        body = rf"(?<!{LATIN_WORD}){body}"
    if re.match(_LATIN, words[-1][-1]):
        body = rf"{body}(?!{LATIN_WORD})"
    return re.compile(body)


def _never_say_hits(book: Playbook, text: str) -> list[tuple[int, int, str]]:
    """(start, end, phrase) in the folded text for the playbook's never_say phrases, in
    both languages (replies mix them), one per place."""
    phrases = dict.fromkeys(str(p) for lang in LANGS for p in book.never_say.get(lang) or ())
    hits = {}
    for phrase in phrases:
        pattern = never_say_pattern(phrase)
        for m in pattern.finditer(text) if pattern else ():
            hits.setdefault((m.start(), m.end()), phrase)
    return [(s, e, hits[(s, e)]) for s, e in _leftmost_longest(list(hits))]


# --- findings ----------------------------------------------------------------------------------


def _message(label: str, why: str, lang: str) -> str:
    return f"{label}{'：' if lang == 'zh' else ': '}{why}"


def _finding(group: Group, kind: str, lang: str, original: str | None = None,
             span: tuple[int, int] | None = None, label: str | None = None) -> Finding:
    """A finding worded in ``lang``; ``span`` is in the original text."""
    label = label or group.label[lang]
    start, end = span if span else (None, None)
    matched = original[start:end] if original is not None and span else None
    return Finding(kind, group.key, group.level, _message(label, group.why[lang], lang),
                   matched, start, end, label, group.advice[lang])


def _taboo_findings(lexicon: Lexicon, folded: Folded, original: str, lang: str) -> list[Finding]:
    return [_finding(group, "taboo", lang, original, folded.original_span(*span))
            for group in lexicon.taboo for span in group_spans(group, folded.text)]


def _never_say_findings(lexicon: Lexicon, book: Playbook, folded: Folded, original: str,
                        lang: str, taken: list[Finding]) -> list[Finding]:
    """Playbook phrases not already reported as a taboo at the same place: one
    finding per place, the lexicon's (with its advice) winning."""
    group = lexicon.special["never_say"]
    disjoint = _merge([(f.start, f.end) for f in taken if f.start is not None])
    starts = [s for s, _ in disjoint]
    findings = []
    for start, end, phrase in _never_say_hits(book, folded.text):
        span = folded.original_span(start, end)
        if not _overlaps(disjoint, starts, span):
            label = f"{group.label[lang]} ({book.name}: “{phrase.strip()}”)"
            findings.append(_finding(group, "never_say", lang, original, span, label))
    return findings


def _missing_findings(lexicon: Lexicon, folded: Folded, original: str,
                      lang: str) -> list[Finding]:
    """Required elements absent. An apology without a next step is its own taboo (seed
    004): reported at the apology rather than as a bare "no next step"."""
    present = {key: group_spans(group, folded.text) for key, group in lexicon.required.items()}
    findings = []
    for key, group in lexicon.required.items():
        if present[key]:
            continue
        if key == "next_step" and present.get("apology"):
            special = lexicon.special["apology_without_next_step"]
            span = folded.original_span(*present["apology"][0])
            findings.append(_finding(special, "taboo", lang, original, span))
        else:
            findings.append(_finding(group, "missing", lang))
    return findings


def _order(finding: Finding) -> tuple[int, int, int]:
    """Fix before consider; located findings in text order, then what is missing."""
    located = finding.start is not None
    return LEVELS.index(finding.level), 0 if located else 1, finding.start or 0


def _language(text: str, lang: str | None) -> str:
    if lang is None:
        return detect_language(text)
    if lang not in LANGS:
        raise ValueError(f"unsupported language {lang!r} (use en or zh)")
    return lang


def check_reply(text: str, playbook: Playbook | None = None,
                lang: str | None = None) -> ReplyCheck:
    """Check a draft public reply: taboo phrases, the playbook's never_say phrases (when
    a playbook is given), and missing apology / next step / time commitment. Messages
    are in ``lang`` (default: the reply's detected language)."""
    if not text or not text.strip():
        raise ValueError("the reply is empty")
    folded = fold(text)
    if not folded.text.strip():  # only control characters
        raise ValueError("the reply is empty")
    language = _language(text, lang)
    lexicon = load_lexicon()
    findings = _taboo_findings(lexicon, folded, text, language)
    if playbook is not None:
        findings += _never_say_findings(lexicon, playbook, folded, text, language, findings)
    findings += _missing_findings(lexicon, folded, text, language)
    return ReplyCheck(language, tuple(sorted(findings, key=_order)))


# --- report ------------------------------------------------------------------------------------

_REPORT = {
    "en": {"title": "Reply check ({lang}): {fix} to fix, {consider} to consider.",
           "fix": "Must fix:", "consider": "Consider:", "found": "Found: ", "at": "characters",
           "advice": "Advice: ", "ok": "Nothing must be fixed: the reply can go out.",
           "not_ok": "Fix the points above before posting."},
    "zh": {"title": "回复检查（{lang}）：必须修改 {fix} 处，建议考虑 {consider} 处。",
           "fix": "必须修改：", "consider": "建议考虑：", "found": "原文：", "at": "字符位置",
           "advice": "建议：", "ok": "没有必须修改的问题，可以发布。",
           "not_ok": "请先修改以上问题再发布。"},
}


def _format_finding(number: int, finding: Finding, words: dict[str, str]) -> list[str]:
    lines = [f"  {number}. {finding.message}"]
    if finding.matched is not None:
        lines.append(f"     {words['found']}“{finding.matched}” "
                     f"({words['at']} {finding.start}–{finding.end})")
    lines.append(f"     {words['advice']}{finding.advice}")
    return lines


def format_check(check: ReplyCheck) -> str:
    """A plain-text report for the terminal: what must be fixed, what to consider, each
    with the phrase as written and what to say instead."""
    words = _REPORT.get(check.language, _REPORT["en"])
    by_level = {level: [f for f in check.findings if f.level == level] for level in LEVELS}
    lines = [words["title"].format(lang=check.language, fix=len(by_level[FIX]),
                                   consider=len(by_level[CONSIDER]))]
    for level in LEVELS:
        if by_level[level]:
            lines += ["", words[level]]
            for number, finding in enumerate(by_level[level], 1):
                lines += _format_finding(number, finding, words)
    lines += ["", words["ok"] if check.ok else words["not_ok"]]
    return "\n".join(lines)
