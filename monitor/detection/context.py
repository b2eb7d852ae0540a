"""Whether a post's strong cue (media, legal, safety, group action, viral) is a threat
against the brand, or the same words about something else. Pure.

A strong cue lowers the bar for growth and makes a growing incident a crisis, so
it must be the author's threat against the brand: negative in tone, and said in
the author's own voice or in the sentence that names the brand. The same words
turn up in posts that threaten nobody: a news repost about another company that
names the brand in passing (央视曝光某奶粉 // 艾克美新品发布), "our lawyer
recommended Acme", reporters at a launch. On real benign posts such cues made 14
of 18 false warnings (issue 15).

The test is deliberately simple and explained in the reasons: the cue's sentence
speaks in the first or second person (我/我们/你们, I/my/we/you: a complaint is
told, news is reported) and the post reads as negative; or the sentence names the
brand in the third person (a report) and the post reads CLEARLY negative
(``REPORTED_TONE``): on real posts, wire-style items naming the brand ("the Apple
pop-up store appears to be trending", "Scepticism expressed about iPad newspapers")
score just under neutral (0.37-0.45) and were most English false warnings
(issue 15), while a report of harm to the brand's customers reads far lower. Client
signatures (来自…客户端, "(via iPhone)", "sent from my iPad") name a brand without
saying anything about it, so they are left out first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitor.text.cues import CueCategory, Matcher, load_lexicon
from monitor.text.matching import phrase_pattern
from monitor.text.normalize import normalize

NEGATIVE_TONE = 0.5  # sentiment is P(positive): below this the post reads as negative
REPORTED_TONE = 0.3  # a third-person report's cue counts only below this: clearly negative
# Sentences; "//" (a Weibo repost chain) and a colon (what introduces a repost or a
# quote: "转发：", "Saw this on forum-a:") separate too.
_SENTENCE = re.compile(r"//|[。！？!?；;:：\n]+|(?<=[a-z0-9\)])\.(?:\s+|$)")
# Client and device signatures name a brand without saying anything about it.
_SIGNATURE = re.compile(r"[(（]?(?:来自|分享自)[^()（）\s]{1,16}?(?:客户端|app|应用)?[)）]?(?=\s|$)"
                        r"|\(via [^()]{1,20}\)|sent from my \S+")
_PERSONAL = re.compile(
    r"我|咱|你们|您|(?<![a-z'])(?:i|i'm|i've|i'll|me|my|mine|we|we're|we've|us|our|you|your)"
    r"(?![a-z'])")


@dataclass(frozen=True)
class CueContext:
    counts: bool  # the strong cue is a threat against the brand
    why: str  # in words, for the alert's reasons


def sentences(normalized_text: str) -> list[str]:
    """Sentences of normalised text; ``//`` (a Weibo repost chain) separates too."""
    return [s for s in _SENTENCE.split(normalized_text) if s.strip()]


def _strong_terms(categories: Sequence[CueCategory], keys: Iterable[str]
                  ) -> list[tuple[str, Matcher]]:
    wanted = set(keys)
    return [(c.label, pat) for c in categories if c.strong and c.key in wanted
            for _, pat in c.patterns]


def strong_cue_context(text: str, brand_keywords: Sequence[str], cue_keys: Iterable[str],
                       sentiment: float, *,
                       categories: Sequence[CueCategory] | None = None) -> CueContext:
    """Whether the post's strong cue counts, and why (or why not)."""
    terms = _strong_terms(load_lexicon() if categories is None else categories, cue_keys)
    if not terms:
        return CueContext(False, "no strong cue")
    if sentiment >= NEGATIVE_TONE:
        return CueContext(False, f"strong cue in a post that is not negative "
                                 f"(sentiment {sentiment:.2f})")
    brand = [phrase_pattern(k) for k in brand_keywords if k.strip()]
    named = None  # the first cue of a third-person sentence naming the brand
    for sentence in sentences(_SIGNATURE.sub(" ", normalize(text))):
        hit = next((label for label, pat in terms if pat.search(sentence)), None)
        if hit is None:
            continue
        if _PERSONAL.search(sentence):
            return CueContext(True, f"{hit} in the author's own words")
        if any(p.search(sentence) for p in brand):
            named = named or hit
    if named is not None:
        return reported_context(named, sentiment)
    return CueContext(False, "strong cue about something else (not next to the brand, "
                             "not in the author's own words)")


def reported_context(hit: str, sentiment: float, bar: float = REPORTED_TONE) -> CueContext:
    """A strong cue in a third-person sentence naming the brand: a report. It counts
    as a threat only when the post reads clearly negative (sentiment below ``bar``);
    a wire-style headline of near-neutral tone reports, it does not threaten."""
    if sentiment < bar:
        return CueContext(True, f"{hit} in the sentence naming the brand (a report, "
                                f"clearly negative: sentiment {sentiment:.2f} < {bar:g})")
    return CueContext(False, f"{hit} in a report naming the brand whose tone is not clearly "
                             f"negative (sentiment {sentiment:.2f} >= {bar:g})")
