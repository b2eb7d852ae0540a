"""Sentiment per language as the probability a text is positive (0..1).

snownlp for Chinese (loaded on first use: importing it costs about 2 s and an
English-only deployment never needs it), VADER for English."""

from __future__ import annotations

from functools import lru_cache

MAX_CHARS = 2000  # scoring a 1 MB post costs seconds and says nothing more


@lru_cache(maxsize=1)
def _vader():  # noqa: ANN202
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def english_positive(text: str) -> float:
    compound = vader_scores(text)["compound"]
    return (compound + 1.0) / 2.0


def chinese_positive(text: str) -> float:
    from snownlp import SnowNLP  # heavy import, deferred on purpose (see module doc)

    text = text[:MAX_CHARS].strip()
    return float(SnowNLP(text).sentiments) if text else 0.5


def positive_probability(text: str, language: str) -> float:
    return chinese_positive(text) if language == "zh" else english_positive(text)


def vader_scores(text: str) -> dict[str, float]:
    """VADER's raw polarity scores (neg, neu, pos, compound) of the start of ``text``."""
    return _vader().polarity_scores(text[:MAX_CHARS])


def vader_lexicon() -> dict[str, float]:
    """VADER's word and emoticon valences (-4..4), as its analyser loaded them."""
    return _vader().lexicon
