"""Scoring a brand mention: sentiment, crisis cues, and a first risk score with reasons.

The risk combines how negative the post sounds with the cues it carries, so a
calm "视频已经在网上疯传" still counts:

    risk = 1 - (1 - NEG_WEIGHT * negativity) * prod(1 - cue.weight)

Later issues replace the parts; the interface (``Scorer.score(text) -> Score``)
stays small so they can.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from monitor.lexicon import CueCategory, find_cues, load_lexicon
from monitor.normalize import detect_language, normalize
from monitor.sentiment import positive_probability

NEG_WEIGHT = 0.7
SCORING_CHARS = 20_000  # a 1 MB post is scored on its start; the stored post stays whole


@dataclass(frozen=True)
class Score:
    language: str
    sentiment: float  # probability positive
    risk: float
    cues: tuple[str, ...]
    strong: bool
    reasons: tuple[str, ...]


class Scorer(Protocol):
    def score(self, text: str) -> Score: ...


def combine_risk(negativity: float, cue_weights: list[float]) -> float:
    keep = 1.0 - NEG_WEIGHT * min(max(negativity, 0.0), 1.0)
    for w in cue_weights:
        keep *= 1.0 - w
    return round(1.0 - keep, 4)


@dataclass
class LexiconScorer:
    """Sentiment model per language plus the crisis-cue lexicon."""

    lexicon: tuple[CueCategory, ...] = ()
    sentiment: Callable[[str, str], float] = positive_probability

    def __post_init__(self) -> None:
        if not self.lexicon:
            self.lexicon = load_lexicon()

    def score(self, text: str) -> Score:
        norm = normalize(text[:SCORING_CHARS])
        language = detect_language(norm)
        positive = self.sentiment(norm, language) if norm.strip() else 0.5
        hits = find_cues(self.lexicon, norm)
        reasons = []
        if positive < 0.35:
            reasons.append(f"negative tone (sentiment {positive:.2f})")
        reasons += [f"{h.label}: {', '.join(h.terms[:4])}" for h in hits]
        return Score(
            language=language,
            sentiment=round(positive, 4),
            risk=combine_risk(1.0 - positive, [h.weight for h in hits]),
            cues=tuple(h.key for h in hits),
            strong=any(h.strong for h in hits),
            reasons=tuple(reasons),
        )
