"""What an incident is about: a category guess from its posts and crisis cues.

The categories and their words live in ``lexicon/categories.yaml`` (written from
the seed texts; its header says which seed says what). Matching follows the cue
lexicon's conventions and reuses its compilers, so a term means the same thing
in both files: Chinese as substrings of normalised (Simplified) text, English
as lowercase phrases on word boundaries with ``*`` for any ending.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from alerts.playbooks import Playbook, load_playbooks
from monitor.config import Config
from monitor.text.cues import (
    DEFAULT_LEXICON,
    Matcher,
    _en_pattern,
    _zh_pattern,
    load_lexicon,
)
from monitor.text.normalize import normalize

DEFAULT_CATEGORIES = Path(__file__).parent.parent / "lexicon" / "categories.yaml"

# Most serious first: ties go to the category that costs most to get wrong. A
# safety matter handled as a delivery gripe is the worst miss; calling a customer
# malicious is the riskiest label of all (seed 004: never blame the customer), so
# malicious only wins with evidence the others lack.
PRECEDENCE = ("safety_incident", "legal_threat", "media_exposure", "group_complaint",
              "product_defect", "refund_dispute", "delivery_delay", "service_attitude",
              "misunderstanding", "malicious")

# Nothing matched. Seed 000's most common class is the normal complaint (about 67%),
# handled by the normal procedure; seed 002 says dissatisfaction concerns either the
# product's quality or the service process. With no product, delivery or refund term
# found, the complaint is about the service exchange itself, and the normal procedure
# (listen, recap, apologise, resolve: seed 003) is the service playbook. Never
# misunderstanding or malicious by default: those are the 5% and 2% exceptions, and
# presuming them is the blame-the-customer taboo. Confidence 0 says it is a default.
DEFAULT_KEY = "service_attitude"

CUE_WEIGHT = 1.0  # a cue found by the scorer counts as much as one more matched term
MAX_EVIDENCE = 8
_FIELDS = frozenset({"label", "zh", "en", "cues"})


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    zh: tuple[str, ...]
    en: tuple[str, ...]
    cues: tuple[str, ...]
    patterns: tuple[tuple[str, Matcher], ...]  # (term as written, compiled)


@dataclass(frozen=True)
class CategoryGuess:
    """The best category, its score share in [0, 1) (0 for the default), the terms
    that won it (up to ``MAX_EVIDENCE``, as written in the YAML, stems without their
    ``*``) then its cues as ``cue:<key>``, and the second-best category key, if any
    scored."""

    key: str
    label: str
    confidence: float
    evidence: tuple[str, ...]
    runner_up: str | None


class CategoryFileError(ValueError):
    """categories.yaml is malformed; the message names the offending key."""


def _term_list(key: str, spec: dict, lang: str) -> tuple[str, ...]:
    terms = spec.get(lang)
    if not isinstance(terms, list) or not terms:
        raise CategoryFileError(f"category {key!r}: {lang!r} must be a non-empty list")
    bad = [t for t in terms if not str(t).strip() or (lang == "zh" and len(str(t)) < 2)]
    if bad:
        raise CategoryFileError(f"category {key!r}: bad {lang} terms {bad!r} "
                                "(empty, or a single character)")
    return tuple(str(t) for t in terms)


def _cue_list(key: str, spec: dict, known_cues: frozenset[str]) -> tuple[str, ...]:
    cues = spec.get("cues") or []
    if not isinstance(cues, list):
        raise CategoryFileError(f"category {key!r}: 'cues' must be a list")
    unknown = sorted(str(c) for c in cues if str(c) not in known_cues)
    if unknown:
        raise CategoryFileError(f"category {key!r}: unknown cue key(s) {unknown} "
                                f"(not in {DEFAULT_LEXICON.name})")
    return tuple(str(c) for c in cues)


def _category(key: str, spec: object, known_cues: frozenset[str]) -> Category:
    if not isinstance(spec, dict):
        raise CategoryFileError(f"category {key!r} must be a mapping")
    extra = sorted(set(spec) - _FIELDS)
    if extra:
        raise CategoryFileError(f"category {key!r}: unknown field(s) {extra}")
    label = spec.get("label")
    if not isinstance(label, str) or not label.strip():
        raise CategoryFileError(f"category {key!r}: missing 'label'")
    zh, en = _term_list(key, spec, "zh"), _term_list(key, spec, "en")
    patterns = tuple((t, _zh_pattern(t)) for t in zh)
    patterns += tuple((t.rstrip("*"), _en_pattern(t)) for t in en)
    return Category(key, label, zh, en, _cue_list(key, spec, known_cues), patterns)


@lru_cache(maxsize=8)
def load_categories(path: Path = DEFAULT_CATEGORIES) -> tuple[Category, ...]:
    """Read, validate and compile the category file once per path, in
    ``PRECEDENCE`` order. Every category of ``PRECEDENCE`` must be there and no
    other: a typo in a key would otherwise silently drop a category."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("categories"), dict):
        raise CategoryFileError(f"{path}: expected a top-level 'categories' mapping")
    specs = data["categories"]
    unknown = sorted(set(specs) - set(PRECEDENCE))
    if unknown:
        raise CategoryFileError(f"{path}: unknown category key(s) {unknown}")
    missing = [k for k in PRECEDENCE if k not in specs]
    if missing:
        raise CategoryFileError(f"{path}: missing category key(s) {missing}")
    known_cues = frozenset(c.key for c in load_lexicon())
    return tuple(_category(k, specs[k], known_cues) for k in PRECEDENCE)


@lru_cache(maxsize=65_536)
def _text_terms(text: str, path: Path) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each category's terms found in one text (longest matches only), for the
    categories that have any. Cached: an incident's first posts are guessed again
    every time it is re-assessed, and one text always finds the same terms."""
    norm = normalize(text)
    found = []
    for cat in load_categories(path):
        terms = _longest([t for t, pattern in cat.patterns if pattern.search(norm)])
        if terms:
            found.append((cat.key, tuple(terms)))
    return tuple(found)


def _term_scores(cats: Sequence[Category], texts: Sequence[str], path: Path
                 ) -> tuple[dict[str, float], dict[str, list[str]]]:
    """One point per (post, term) found: a matter many posts mention outweighs a
    threat one post makes in passing."""
    scores = {c.key: 0.0 for c in cats}
    evidence: dict[str, list[str]] = {c.key: [] for c in cats}
    for text in texts:
        for key, terms in _text_terms(text, path):
            for term in terms:
                scores[key] += 1
                if term not in evidence[key]:
                    evidence[key].append(term)
    return scores, evidence


def _longest(terms: list[str]) -> list[str]:
    """Matched terms minus those inside a longer match (态度 in 态度恶劣, "delivery"
    in "late delivery"): one phrase is one piece of evidence."""
    folded = [normalize(t) for t in terms]
    return [t for t, f in zip(terms, folded, strict=True)
            if not any(f != g and f in g for g in folded)]


def guess_category(texts: Sequence[str], cue_keys: Iterable[str] = (), *,
                   path: Path = DEFAULT_CATEGORIES) -> CategoryGuess:
    """The incident's most likely category from its posts' texts and the cues.yaml
    keys the scorer found in them (``cue_keys``; keys no category lists, e.g.
    ``boycott``, are ignored, so a new cue cannot break this).

    Score = terms found per post + ``CUE_WEIGHT`` per listed cue; ties go to the
    more serious category (``PRECEDENCE``). Confidence is the winner's share of all
    points with one point of doubt added, so thin evidence stays modest (one term:
    0.5; two uncontested: 0.67)."""
    if isinstance(texts, str):
        texts = [texts]
    cats = load_categories(path)
    scores, evidence = _term_scores(cats, texts, path)
    found_cues = set(cue_keys)
    cue_evidence: dict[str, list[str]] = {c.key: [] for c in cats}
    for cat in cats:
        for cue in cat.cues:
            if cue in found_cues:
                scores[cat.key] += CUE_WEIGHT
                cue_evidence[cat.key].append(f"cue:{cue}")
    ranked = sorted((c for c in cats if scores[c.key] > 0),
                    key=lambda c: (-scores[c.key], PRECEDENCE.index(c.key)))
    if not ranked:
        default = next(c for c in cats if c.key == DEFAULT_KEY)
        return CategoryGuess(default.key, default.label, 0.0, (), None)
    best = ranked[0]
    confidence = scores[best.key] / (sum(scores.values()) + 1.0)
    runner_up = ranked[1].key if len(ranked) > 1 else None
    return CategoryGuess(best.key, best.label, round(confidence, 3),
                         tuple(evidence[best.key][:MAX_EVIDENCE] + cue_evidence[best.key]),
                         runner_up)


def known_keys() -> tuple[frozenset[str], frozenset[str]]:
    """The incident category keys and cue keys detection can produce: a playbook
    naming any other would silently never be chosen, so it is refused."""
    return (frozenset(c.key for c in load_categories()),
            frozenset(c.key for c in load_lexicon()))


def category_labels() -> dict[str, str]:
    """Category key -> its label ("safety_incident" -> "safety incident") for messages."""
    return {c.key: c.label for c in load_categories()}


def playbooks_for(config: Config) -> tuple[Playbook, ...]:
    """Built-in playbooks plus the config's ``playbooks_dir``, checked against the
    category and cue keys detection knows."""
    categories, cues = known_keys()
    extra = Path(config.playbooks_dir) if config.playbooks_dir else None
    return load_playbooks(extra, categories=categories, cues=cues)
