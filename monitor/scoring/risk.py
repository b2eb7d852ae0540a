"""Scoring a brand mention: sentiment, crisis cues, and a first risk score with reasons.

The risk combines how negative the post sounds with the cues it carries, so a
calm "视频已经在网上疯传" still counts:

    risk = 1 - (1 - NEG_WEIGHT * negativity) * (1 - INTENSITY_WEIGHT * intensity * negativity)
             * prod(1 - cue.weight)

a noisy-OR: each part is read as an independent chance that the post is a
complaint that matters. Negativity is the sentiment model's probability (the
trained models are logistic regressions, whose outputs are probabilities;
bench/scoring.py measures how well calibrated they are on held-out data).
Intensity (shouting, piled-up "!!!"/"？？？") only amplifies a negative post: "LOVE
IT!!!" is not a complaint. The interface (``Scorer.score(text) -> Score``) stays
small so backends can be swapped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from monitor.scoring.sentiment import positive_probability
from monitor.text.cues import CueCategory, CueHit, find_cues, load_lexicon, negated
from monitor.text.normalize import detect_language, normalize

NEG_WEIGHT = 0.7
INTENSITY_WEIGHT = 0.3
_BANGS = re.compile(r"[!！?？]{2,}")
_EXCLAIM = re.compile(r"[!！]")
_CAPS_WORD = re.compile(r"\b[A-Z]{3,}\b")
_LOWER_WORD = re.compile(r"\b[a-z]{3,}\b")
_ACRONYMS = frozenset({"USA", "CEO", "FAQ", "ASAP", "LOL", "OMG", "WTF", "APP", "TV", "PR"})
POSITIVE_TONE = 0.8  # at or above: the post reads clearly positive (a thank-you)
# Cues that are threats by the author; a negation takes them back ("I won't sue").
# Defects, refunds and safety stay cues when negated: "would not refund me" is one.
# A safety cue counts whatever the tone: "great phone, it caught fire" reads positive.
ALWAYS = frozenset({"safety"})
THREATS = frozenset({"media_exposure", "legal_threat", "regulator_complaint",
                     "group_action", "boycott"})
SCORING_CHARS = 20_000  # a 1 MB post is scored on its start; the stored post stays whole


@dataclass(frozen=True)
class Score:
    language: str
    sentiment: float  # probability positive
    risk: float
    cues: tuple[str, ...]
    strong: bool
    reasons: tuple[str, ...]
    probability: float | None = None  # calibrated P(complaint), if the model has one


class Scorer(Protocol):
    def score(self, text: str) -> Score: ...


@dataclass(frozen=True)
class Intensity:
    level: float  # 0..1
    reasons: tuple[str, ...]


def intensity(text: str) -> Intensity:
    """How loudly a post says it: runs of "!!"/"？？", many exclamation marks, words in
    CAPITALS among lower-case ones (an all-capitals text is a headline or a habit).
    Read from the text as written, before case folding."""
    runs = len(_BANGS.findall(text))
    bangs = len(_EXCLAIM.findall(text))
    caps = [w for w in _CAPS_WORD.findall(text) if w not in _ACRONYMS]
    caps = caps if _LOWER_WORD.search(text) else []  # all-caps text: a headline or a habit
    reasons = []
    if runs or bangs >= 3:
        reasons.append(f"{bangs} exclamation marks" if bangs >= 3 else "repeated !/?")
    if len(caps) >= 2:
        reasons.append(f"shouting: {' '.join(caps[:3])}")
    level = min(1.0, 0.25 * runs + 0.1 * max(bangs - 1, 0) + 0.2 * max(len(caps) - 1, 0))
    return Intensity(round(level, 3), tuple(reasons))


def counted_cues(hits: list[CueHit], positive: float, normalized_text: str,
                 lexicon: tuple[CueCategory, ...]) -> tuple[list[CueHit], list[str]]:
    """The cues that count toward risk, and why the others do not.

    A cue is a word until the post makes it a matter: in a clearly positive post
    ("our lawyer recommended Acme, great service", reporters at a launch, 客服 in a
    thank-you) it is not one, except a safety cue ("great phone, it caught fire");
    and a threat the author takes back ("I won't sue", "不会起诉") is not a threat.
    Everything else counts, as written."""
    if not hits:  # most posts: no lookup table to build
        return [], []
    by_key = {c.key: c for c in lexicon}
    kept, dropped = [], []
    for h in hits:
        if positive >= POSITIVE_TONE and h.key not in ALWAYS:
            dropped.append(f"not counted: {h.label} (the post reads positive, sentiment "
                           f"{positive:.2f})")
        elif h.key in THREATS and h.key in by_key and negated(by_key[h.key], normalized_text):
            dropped.append(f"not counted: {h.label} (negated: {', '.join(h.terms[:2])})")
        else:
            kept.append(h)
    return kept, dropped


def combine_risk(negativity: float, cue_weights: list[float], loudness: float = 0.0) -> float:
    """The noisy-OR in the module doc; inputs are clamped to 0..1."""
    negativity = min(max(negativity, 0.0), 1.0)
    keep = 1.0 - NEG_WEIGHT * negativity
    keep *= 1.0 - INTENSITY_WEIGHT * min(max(loudness, 0.0), 1.0) * negativity
    for w in cue_weights:
        keep *= 1.0 - w
    return round(1.0 - keep, 4)


@dataclass
class LexiconScorer:
    """Sentiment model per language plus the crisis-cue lexicon."""

    lexicon: tuple[CueCategory, ...] = ()
    sentiment: Callable[[str, str], float] = positive_probability
    # (risk, language) -> calibrated probability, or None where no calibration exists
    calibration: Callable[[float, str], float | None] = lambda _risk, _language: None

    def __post_init__(self) -> None:
        if not self.lexicon:
            self.lexicon = load_lexicon()

    def score(self, text: str) -> Score:
        norm = normalize(text[:SCORING_CHARS])
        language = detect_language(norm)
        positive = self.sentiment(norm, language) if norm.strip() else 0.5
        hits, dropped = counted_cues(find_cues(self.lexicon, norm), positive, norm,
                                     self.lexicon)
        loud = intensity(text[:SCORING_CHARS])
        reasons = []
        if positive < 0.35:
            reasons.append(f"negative tone (sentiment {positive:.2f})")
            reasons += [f"intensity: {r}" for r in loud.reasons]
        reasons += [f"{h.label}: {', '.join(h.terms[:4])}" for h in hits] + dropped
        risk = combine_risk(1.0 - positive, [h.weight for h in hits], loud.level)
        probability = self.calibration(risk, language)
        return Score(
            language=language,
            sentiment=round(positive, 4),
            risk=risk,
            probability=None if probability is None else round(probability, 4),
            cues=tuple(h.key for h in hits),
            strong=any(h.strong for h in hits),
            reasons=tuple(reasons),
        )
