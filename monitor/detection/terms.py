"""Salient terms: the words that say what a post is about (退款, 发霉; "mould",
"refund"), and which of them are common in a brand's everyday traffic
(``TermBackground``), so that only rare shared terms group posts into one incident.
Pure: no database, no network (the known-word list of ``lexicon/categories.yaml``
is read once, on first use).

Editing categories.yaml can change the terms of new posts, which only matters
within one grouping window.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

from monitor.detection.category import load_categories
from monitor.detection.simhash import (
    CJK_CHAR,
    CJK_CLASS,
    check_language,
    content_word,
    prepare,
    stem,
)
from monitor.text.cues import Matcher, _en_pattern, _zh_pattern
from monitor.text.normalize import normalize

# Chinese: characters that are almost always function words; a bigram containing one
# is usually a word boundary ("了退"), so it is dropped. Known words are taken out
# before this cut, so 还钱 and 没收到 survive their 还 and 没.
_ZH_STOP_CHARS = frozenset("的了吗呢吧啊呀哦嘛么着过被把给和与及或而但却"
                           "我你他她它们这那是在很都也就又还没要找说让对从才再已太真个些")
# ... and frequent bigrams that carry no matter, plus complaint vocabulary every post
# shares (投诉, 客服, 曝光): they say how people complain, not about what.
_ZH_STOP_BIGRAMS = frozenset("""
今天 昨天 明天 已经 什么 怎么 为什 一个 一下 一次 一直 因为 所以 但是 然后 没有 不是 真的
自己 大家 现在 时候 东西 可以 知道 觉得 感觉 非常 特别 简直 竟然 居然 结果 还是 还有 而且
如果 这样 那样 之后 之前 以后 以前 其实 只是 只能 不能 不会 不要 不过 还要 还在 直接 一样 突然
好像 应该 可能 需要 希望 到底 终于 马上 立刻 问题 情况 事情 出来 起来 下来 回来 一点 有点
投诉 客服 曝光 转发 微博 扩散 维权 媒体 商家 官方 品牌 公司 消费 费者 顾客 用户 网友 朋友
""".split())

# ---------------------------------------------------------------- salient terms

# Categories whose words name a matter (发霉, 退款, "leak"). The others' words say how
# people complain (律师, 曝光, "viral"): two different complaints both threatening the
# media are still two matters, so those words are dropped from the terms.
MATTER_CATEGORIES = ("safety_incident", "product_defect", "refund_dispute",
                     "delivery_delay", "service_attitude")


@dataclass(frozen=True)
class _Vocabulary:
    """Known words from ``lexicon/categories.yaml``, split into matter and form."""

    zh_matter: tuple[str, ...]
    zh_form: tuple[str, ...]
    en_matter: frozenset[str]
    en_matter_stems: tuple[str, ...]
    en_form: frozenset[str]
    en_form_stems: tuple[str, ...]


def _split_en(terms: Iterable[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    """Single-word English terms as exact words and as stems (``leak*``)."""
    words = [normalize(t).strip() for t in terms]
    exact = frozenset(stem(w) for w in words if " " not in w and not w.endswith("*"))
    stems = tuple(sorted({w[:-1] for w in words if " " not in w and w.endswith("*")}))
    return exact, stems


@lru_cache(maxsize=1)
def _vocabulary() -> _Vocabulary:
    matter_zh: list[str] = []
    form_zh: list[str] = []
    matter_en: list[str] = []
    form_en: list[str] = []
    for cat in load_categories():
        matter = cat.key in MATTER_CATEGORIES
        words = [w for w in (normalize(t).strip() for t in cat.zh)
                 if len(w) > 1 and all(CJK_CHAR.match(ch) for ch in w)]
        (matter_zh if matter else form_zh).extend(words)
        (matter_en if matter else form_en).extend(cat.en)
    m_exact, m_stems = _split_en(matter_en)
    f_exact, f_stems = _split_en(form_en)
    return _Vocabulary(tuple(dict.fromkeys(matter_zh)),
                       tuple(w for w in dict.fromkeys(form_zh) if w not in matter_zh),
                       m_exact, m_stems, f_exact - m_exact, f_stems)


def _exclusion_pattern(keyword: str) -> Matcher:
    """Brand keywords as the lexicon matches them: Chinese as substrings, Latin
    words on word boundaries (so "mi" does not eat "mild")."""
    if CJK_CHAR.search(normalize(keyword)):
        return _zh_pattern(keyword)
    return _en_pattern(keyword)


_ZH_STOP_RE = re.compile("|".join(sorted(_ZH_STOP_BIGRAMS)))
_RUN = re.compile(rf"[{CJK_CLASS}]+|[^\W_{CJK_CLASS}]+(?:'[^\W_{CJK_CLASS}]+)*")

_Candidate = tuple[int, str, int]  # (position, term, tier: 0 known matter word, 1 other)


def _zh_known(text: str, vocab: _Vocabulary, mask: list[bool]) -> list[_Candidate]:
    """Known words, overlaps included (态度 and 态度恶劣), so posts worded 态度很差 and
    态度恶劣 still share 态度; their characters are masked from the bigrams."""
    found = []
    for words, emit in ((vocab.zh_matter, True), (vocab.zh_form, False)):
        for word in words:
            at = text.find(word)
            while at >= 0:
                mask[at:at + len(word)] = [True] * len(word)
                if emit:
                    found.append((at, word, 0))
                at = text.find(word, at + 1)
    return found


def _zh_bigrams(text: str, mask: list[bool]) -> list[_Candidate]:
    """Bigrams of what is left once known words, stop words and stop characters are
    cut out: unknown product words (面包, 充电宝 -> 充电 电宝) still count."""
    for m in _ZH_STOP_RE.finditer(text):
        mask[m.start():m.end()] = [True] * (m.end() - m.start())
    found = []
    for i in range(len(text) - 1):
        gram = text[i:i + 2]
        if (not mask[i] and not mask[i + 1] and CJK_CHAR.match(gram[0])
                and CJK_CHAR.match(gram[1]) and not (_ZH_STOP_CHARS & set(gram))):
            found.append((i, gram, 1))
    return found


def _en_known(word: str, exact: frozenset[str], stems: tuple[str, ...]) -> bool:
    return word in exact or word.startswith(stems)


def _en_words(text: str, vocab: _Vocabulary, excluded: frozenset[str]) -> list[_Candidate]:
    found = []
    for m in _RUN.finditer(text):
        if CJK_CHAR.match(m.group()):
            continue
        word = content_word(m.group())
        if (word is None or len(word) < 2 or word.isdigit() or word in excluded
                or _en_known(word, vocab.en_form, vocab.en_form_stems)):
            continue
        known = _en_known(word, vocab.en_matter, vocab.en_matter_stems)
        found.append((m.start(), word, 0 if known else 1))
    return found


def _strip_brands(text: str, exclude: Iterable[str]) -> tuple[str, frozenset[str]]:
    """Text with brand keywords cut out (each a separator, so no bigram spans the
    gap), and single-word keywords for dropping inflected forms ("Acmes")."""
    words = set()
    for keyword in exclude:
        keyword = str(keyword)
        if not keyword.strip():
            continue
        text = _exclusion_pattern(keyword).sub("\n", text)
        norm = normalize(keyword).strip().rstrip("*")
        if norm and " " not in norm:
            words.add(stem(norm))
    return text, frozenset(words)


def salient_terms(text: str, language: str, *, exclude: Iterable[str] = (),
                  limit: int = 8) -> tuple[str, ...]:
    """The words that say what the post is about: known matter words first (发霉,
    退款, "leak", from categories.yaml), then other terms; within each, most
    frequent first, then first appearance. Deterministic, so stored terms compare
    across processes.

    Chinese yields known words plus character bigrams of the rest, not segmented
    words: no segmenter to load, and two posts about 发霉的面包 share 发霉 and 面包
    however they are worded. Brand keywords (``exclude``), stopwords and the
    vocabulary of complaining itself (投诉, 客服, 律师, 曝光, "viral") are dropped:
    every complaint about the brand shares them. Both scripts are read whatever
    ``language`` says (mixed posts like "iPhone 屏幕漏光" are common); it is checked
    for symmetry with ``fingerprint``."""
    check_language(language)
    text, excluded = _strip_brands(prepare(text), exclude)
    vocab = _vocabulary()
    mask = [False] * len(text)
    found = _zh_known(text, vocab, mask) + _zh_bigrams(text, mask)
    found += _en_words(text, vocab, excluded)
    counts: Counter[str] = Counter(term for _, term, _ in found)
    first: dict[str, tuple[int, int]] = {}
    for pos, term, tier in sorted(found):
        first.setdefault(term, (tier, pos))
    ranked = sorted(counts, key=lambda t: (first[t][0], -counts[t], first[t][1], t))
    return tuple(ranked[:max(limit, 0)])


# ---------------------------------------------------------------- term background

# A term is "common" for the brand when at least COMMON_SHARE of its other recent
# mentions carry it, and at least COMMON_MIN_DOCS of them (so a brand with a dozen
# mentions does not call every word it repeated twice common). 3%: a crisis's own words sit near
# 0% of the brand's mentions outside the crisis, while the phrasing of one template of
# everyday chatter or one of a few products takes 5-15% (simulated streams; on real
# brands a flagship product name is in far more). Ordinary complaints about one thing
# (late delivery, ~1-2%) stay rare, so they still group.
# With little history (a brand just added) the floor of COMMON_MIN_DOCS decides, so
# terms still group as before until the brand has repeated itself; a tone-only
# chatter incident that groups then still needs twice the growth (monitor.detection.severity).
COMMON_SHARE = 0.03
COMMON_MIN_DOCS = 3
BACKGROUND_TERMS = 64  # terms per mention counted in the background (more than stored)


@dataclass(frozen=True)
class TermBackground:
    """In how many of the brand's recent everyday mentions each term appears.

    Built from stored posts by the detect stage (``from_documents``); pure counts, so
    a test can build one by hand. Everyday means flagged or not, but not in an
    incident that grew (warning or crisis; their ids are ``excluded``): a matter the
    team was warned about is not how the brand's audience usually talks, and a
    second flare-up of it days later must still group on its words. The mentions of
    other incidents are part of it; when a mention is matched against one of them,
    that incident's own counts and the mention's own terms are taken out
    (``common_terms``), so its words stay rare however big it grows, while words
    spread over the brand's everyday traffic stay common."""

    docs: int
    counts: Mapping[str, int]
    excluded: frozenset[int] = frozenset()  # incidents whose mentions are left out

    def __post_init__(self) -> None:
        object.__setattr__(self, "counts", MappingProxyType(dict(self.counts)))
        object.__setattr__(self, "excluded", frozenset(self.excluded))

    @classmethod
    def from_documents(cls, documents: Iterable[Iterable[str]],
                       excluded: Iterable[int] = ()) -> TermBackground:
        """From each everyday mention's terms (each term counted once per mention)."""
        counts: Counter[str] = Counter()
        docs = 0
        for terms in documents:
            counts.update(set(terms))
            docs += 1
        return cls(docs, counts, frozenset(excluded))


def common_terms(terms: Iterable[str], background: TermBackground | None, *,
                 own: Mapping[str, int] | None = None, own_docs: int = 0,
                 share: float = COMMON_SHARE, min_docs: int = COMMON_MIN_DOCS
                 ) -> frozenset[str]:
    """Which of ``terms`` are common in the background once ``own`` (the document
    counts of the mentions being compared, which the background includes) is taken
    out. ``None`` background: nothing is common (no history to tell)."""
    if background is None:
        return frozenset()
    own = own or {}
    limit = max(min_docs, share * max(background.docs - own_docs, 0))
    return frozenset(t for t in terms
                     if background.counts.get(t, 0) - own.get(t, 0) >= limit)
