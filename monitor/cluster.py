"""Which incident a new flagged mention belongs to. Pure functions: no database,
no network (the known-word list of ``lexicon/categories.yaml`` is read once).

Mentions of the same brand about the same matter are grouped into one incident,
because the PR team answers a matter once, not once per post (seed 004: one
spokesperson, one line). Three signals, strongest first:

1. the same thread (replies under one forum topic are one conversation);
2. near-duplicate text: reposts, copy-pastes with a few characters changed,
   "RT"/"转发" prefixes, detected with a 64-bit SimHash (``fingerprint``);
3. shared salient terms (退款, 发霉; "mould", "refund") within a time window,
   for different people describing the same matter in their own words. Only
   terms that are rare among the brand's *other* recent mentions count
   (``TermBackground``): "有人买过" or a product name every fan mentions is how
   the brand's audience talks, not a matter, and grouping on it turns ordinary
   chatter into a growing incident.

Everything here must give the same answer in every process: fingerprints are
stored in the database, so hashing is ``hashlib.blake2b`` (never Python's salted
``hash()``) and every ordering is explicit. Changing the shingling, ``_EN_STOP``,
``MIN_FEATURES`` or ``_HASH_PERSON`` changes stored fingerprints (a test pins two);
editing categories.yaml can change the terms of new posts, which only matters
within one window.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from types import MappingProxyType

import numpy as np

from monitor.lexicon import _en_pattern, _zh_pattern
from monitor.normalize import normalize

LANGUAGES = ("zh", "en")
MAX_CHARS = 2000  # a long post's start says what it is about; keeps a fingerprint ~ms
EMPTY_FINGERPRINT = 0  # text with too few features; never a near-duplicate of anything
MIN_FEATURES = 7  # fewer shingles than this and a SimHash is mostly noise
# Default SimHash distance for "the same text". Short posts are the hard case: one
# changed character moves 5 of ~60 shingles of a 30-character post, which already
# flips ~8 of 64 bits. Measured on ../shared/data (evaluation only):
# - one character replaced in 20+ character Chinese reviews: median 8 bits, 94%
#   within 12; a "转发微博 大家帮忙扩散" prefix: ~90% within 12;
# - one word replaced in 60+ character English tweets: ~83% within 12 (14 would
#   catch 91% but let through several times more false merges);
# - different complaints about one airline (930k tweet pairs) or different delivery
#   reviews (1.9M pairs): about 1 pair in 100,000 within 12 bits, half of them
#   real near-copies. Random 64-bit pairs average 32.
# A missed repost still joins through shared terms, while a false merge hides a
# second matter, so the threshold stops where the noise begins.
NEAR_DUPLICATE_BITS = 12
MAX_FINGERPRINTS = 64  # per incident: later reposts look like the recent ones
INCIDENT_TERMS = 24  # an incident's most frequent terms compared (see _incident_terms)

_MASK64 = (1 << 64) - 1
_SIGN64 = 1 << 63
_HASH_PERSON = b"crisiswatch-sh1"  # changing this changes every stored fingerprint

_CJK_CLASS = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# One unit per CJK character, one per run of other letters/digits; the rest is dropped.
_UNIT = re.compile(rf"[{_CJK_CLASS}]|[^\W_{_CJK_CLASS}]+(?:'[^\W_{_CJK_CLASS}]+)*")
_CJK_CHAR = re.compile(rf"[{_CJK_CLASS}]")
_NOISE = re.compile(r"https?://\S+|www\.\S+|@[\w.\-]+")  # links and @handles differ per repost
_REPOST_PREFIX = re.compile(r"^\s*(?:转发微博|转发|转载|rt|repost(?:ing)?|via)\b\s*[:：]?\s*")

# English: function words plus words every complaint uses (they name no matter).
_EN_STOP = frozenset("""
a about above after again against all also am an and any are aren't as at be because been
before being below between both but by can can't cannot could couldn't did didn't do does
doesn't doing don't down during each even ever every few for from further get gets getting
got had hadn't has hasn't have haven't having he her here hers herself him himself his how i
i'm i've i'd i'll if in into is isn't it it's its itself just let's like me more most much
my myself no nor not now of off on once one only or other ought our ours ourselves out over
own really same she should shouldn't so some still such than that that's the their theirs
them themselves then there there's these they they're this those through to too under until
up us very was wasn't we we're we've were weren't what when where which while who whom why
will with won't would wouldn't yet you you're you've your yours yourself yourselves
rt via amp http https www com lol omg pls please thanks thank hi hello guys anyone someone
today yesterday tomorrow day days week weeks time times again back new make made going
go went gone know think want wanted need needed said say says tell told ask asked
company brand customer customers service support complaint complain complained review
post posted thread update edit bought buy buying already keep started start next inside
since ago literally actually totally absolutely seriously right way thing things lot many
another around almost though without found two three four five six seven eight
nine ten
""".split())
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


# ---------------------------------------------------------------- fingerprints


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")


def _prepare(text: str) -> str:
    """Normalised text without what changes between copies of one post."""
    text = _NOISE.sub(" ", normalize(text[: MAX_CHARS * 2])[:MAX_CHARS])
    return _REPOST_PREFIX.sub("", text)


def _stem(word: str) -> str:
    """Plural and possessive folding: enough for "refunds" to meet "refund"."""
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _content_word(raw: str) -> str | None:
    """The stemmed word, or ``None`` for a stopword (checked before and after
    stemming: "does" must not survive as "doe")."""
    if raw in _EN_STOP:
        return None
    word = _stem(raw)
    return None if word in _EN_STOP else word


def _en_units(text: str) -> list[str]:
    units = []
    for unit in _UNIT.findall(text):
        word = unit if _CJK_CHAR.fullmatch(unit) else _content_word(unit)
        if word is not None:
            units.append(word)
    return units


def _shingles(text: str, language: str) -> Counter[str]:
    """Chinese: character 2- and 3-grams (Latin words count as one character);
    English: word 1- and 2-grams with stopwords dropped, so "RT" or an added "the"
    moves nothing."""
    if language == "zh":
        units, sizes, joiner = _UNIT.findall(text), (2, 3), ""
    else:
        units, sizes, joiner = _en_units(text), (1, 2), " "
    grams: Counter[str] = Counter()
    for n in sizes:
        for i in range(len(units) - n + 1):
            grams[f"{n}:{joiner.join(units[i:i + n])}"] += 1
    if not grams and units:  # a single unit: still better than nothing
        grams[f"1:{units[0]}"] += 1
    return grams


def _hash64(feature: str) -> int:
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8, person=_HASH_PERSON)
    return int.from_bytes(digest.digest(), "big")


def _to_signed(value: int) -> int:
    value &= _MASK64
    return value - (1 << 64) if value & _SIGN64 else value


def fingerprint(text: str, language: str) -> int:
    """64-bit SimHash of the text's shingles, as a *signed* 64-bit int.

    Signed so it fits a SQL BIGINT (PostgreSQL and SQLite have no unsigned 64-bit
    type); ``hamming`` masks to 64 bits, so the sign is harmless. Posts with fewer
    than ``MIN_FEATURES`` shingles get ``EMPTY_FINGERPRINT`` (0), which
    ``near_duplicate`` never matches: "垃圾!" and "垃圾!!" say nothing about a matter.
    """
    _check_language(language)
    grams = _shingles(_prepare(text), language)
    if len(grams) < MIN_FEATURES:
        return EMPTY_FINGERPRINT
    hashes = np.fromiter((_hash64(g) for g in grams), dtype=np.uint64, count=len(grams))
    weights = np.fromiter(grams.values(), dtype=np.float64, count=len(grams))
    bits = (hashes[:, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)
    votes = weights @ (bits.astype(np.float64) * 2.0 - 1.0)
    value = sum(1 << int(b) for b in np.flatnonzero(votes > 0))
    return _to_signed(value)


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two 64-bit fingerprints (signed or not)."""
    return ((a ^ b) & _MASK64).bit_count()


def near_duplicate(a: int, b: int, max_distance: int = NEAR_DUPLICATE_BITS) -> bool:
    """Whether two fingerprints are the same text give or take a few edits."""
    if a == EMPTY_FINGERPRINT or b == EMPTY_FINGERPRINT:
        return False
    return hamming(a, b) <= max_distance


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
    exact = frozenset(_stem(w) for w in words if " " not in w and not w.endswith("*"))
    stems = tuple(sorted({w[:-1] for w in words if " " not in w and w.endswith("*")}))
    return exact, stems


@lru_cache(maxsize=1)
def _vocabulary() -> _Vocabulary:
    from monitor.category import load_categories  # data file; read once, on first use

    matter_zh: list[str] = []
    form_zh: list[str] = []
    matter_en: list[str] = []
    form_en: list[str] = []
    for cat in load_categories():
        matter = cat.key in MATTER_CATEGORIES
        words = [w for w in (normalize(t).strip() for t in cat.zh)
                 if len(w) > 1 and all(_CJK_CHAR.match(ch) for ch in w)]
        (matter_zh if matter else form_zh).extend(words)
        (matter_en if matter else form_en).extend(cat.en)
    m_exact, m_stems = _split_en(matter_en)
    f_exact, f_stems = _split_en(form_en)
    return _Vocabulary(tuple(dict.fromkeys(matter_zh)),
                       tuple(w for w in dict.fromkeys(form_zh) if w not in matter_zh),
                       m_exact, m_stems, f_exact - m_exact, f_stems)


def _exclusion_pattern(keyword: str) -> re.Pattern[str]:
    """Brand keywords as the lexicon matches them: Chinese as substrings, Latin
    words on word boundaries (so "mi" does not eat "mild")."""
    if _CJK_CHAR.search(normalize(keyword)):
        return _zh_pattern(keyword)
    return _en_pattern(keyword)


_ZH_STOP_RE = re.compile("|".join(sorted(_ZH_STOP_BIGRAMS)))
_RUN = re.compile(rf"[{_CJK_CLASS}]+|[^\W_{_CJK_CLASS}]+(?:'[^\W_{_CJK_CLASS}]+)*")

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
        if (not mask[i] and not mask[i + 1] and _CJK_CHAR.match(gram[0])
                and _CJK_CHAR.match(gram[1]) and not (_ZH_STOP_CHARS & set(gram))):
            found.append((i, gram, 1))
    return found


def _en_known(word: str, exact: frozenset[str], stems: tuple[str, ...]) -> bool:
    return word in exact or word.startswith(stems)


def _en_words(text: str, vocab: _Vocabulary, excluded: frozenset[str]) -> list[_Candidate]:
    found = []
    for m in _RUN.finditer(text):
        if _CJK_CHAR.match(m.group()):
            continue
        word = _content_word(m.group())
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
            words.add(_stem(norm))
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
    _check_language(language)
    text, excluded = _strip_brands(_prepare(text), exclude)
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


# ---------------------------------------------------------------- incidents


def _require_aware(at: datetime, what: str) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {at!r}")


@dataclass(frozen=True)
class MentionKey:
    """What clustering needs to know about one flagged mention.

    ``thread_key`` must be unique across sources (e.g. the thread URL, or
    "source:thread-id"); ``None`` for posts that are not replies in a thread."""

    brand_id: int
    thread_key: str | None
    source: str
    at: datetime
    fingerprint: int
    terms: tuple[str, ...]

    def __post_init__(self) -> None:
        _require_aware(self.at, "MentionKey.at")
        object.__setattr__(self, "terms", tuple(self.terms))


@dataclass(frozen=True)
class IncidentKey:
    """What clustering needs to know about one open incident: the union of its
    mentions' threads, their fingerprints (most recent ``MAX_FINGERPRINTS``) and how
    many of its mentions had each salient term."""

    incident_id: int
    brand_id: int
    thread_keys: frozenset[str]
    fingerprints: tuple[int, ...]
    term_counts: Mapping[str, int]
    last_seen_at: datetime
    mentions: int = 0  # how many mentions it holds (0: unknown)

    def __post_init__(self) -> None:
        _require_aware(self.last_seen_at, "IncidentKey.last_seen_at")
        object.__setattr__(self, "thread_keys", frozenset(self.thread_keys))
        object.__setattr__(self, "fingerprints", tuple(self.fingerprints))
        object.__setattr__(self, "term_counts", MappingProxyType(dict(self.term_counts)))

    @classmethod
    def from_mention(cls, incident_id: int, mention: MentionKey) -> IncidentKey:
        """The key of a new incident opened by ``mention``."""
        empty = cls(incident_id, mention.brand_id, frozenset(), (), {}, mention.at)
        return merge_key(empty, mention)


@dataclass(frozen=True)
class Match:
    """The incident a mention joins, which rule matched (``thread``,
    ``near_duplicate`` or ``terms``) and a sentence for the alert."""

    incident_id: int
    rule: str
    reason: str
    shared_terms: tuple[str, ...] = ()
    distance: int | None = None


def merge_key(incident: IncidentKey, mention: MentionKey) -> IncidentKey:
    """The incident's key once ``mention`` has joined it."""
    if incident.brand_id != mention.brand_id:
        raise ValueError(f"mention of brand {mention.brand_id} cannot join incident "
                         f"#{incident.incident_id} of brand {incident.brand_id}")
    threads = incident.thread_keys
    if mention.thread_key is not None:
        threads = threads | {mention.thread_key}
    prints = incident.fingerprints
    if mention.fingerprint != EMPTY_FINGERPRINT:
        prints = (prints + (mention.fingerprint,))[-MAX_FINGERPRINTS:]
    counts = Counter(incident.term_counts)
    counts.update(set(mention.terms))
    return IncidentKey(incident.incident_id, incident.brand_id, threads, prints, counts,
                       max(incident.last_seen_at, mention.at), incident.mentions + 1)


def _incident_terms(incident: IncidentKey) -> frozenset[str]:
    """The incident's ``INCIDENT_TERMS`` most frequent terms. A long-running
    incident collects hundreds of one-off terms; comparing against all of them would
    let it swallow every new complaint about the brand."""
    ranked = sorted(incident.term_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return frozenset(term for term, _ in ranked[:INCIDENT_TERMS])


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
# chatter incident that groups then still needs twice the growth (monitor.detect).
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


def _own_counts(incident: IncidentKey, mention: MentionKey,
                background: TermBackground | None) -> tuple[Counter[str], int]:
    """Document counts of the new mention, plus the incident's unless the background
    left them out already, to be taken out of the background."""
    own: Counter[str] = Counter(set(mention.terms))
    if background is not None and incident.incident_id in background.excluded:
        return own, 1
    own.update(incident.term_counts)
    docs = max(incident.mentions, max(incident.term_counts.values(), default=0))
    return own, docs + 1


def _within(mention: MentionKey, incident: IncidentKey, window: timedelta) -> bool:
    return abs(mention.at - incident.last_seen_at) <= window


def _by_thread(mention: MentionKey, incidents: Sequence[IncidentKey]) -> Match | None:
    if mention.thread_key is None:
        return None
    found = [inc for inc in incidents if mention.thread_key in inc.thread_keys]
    if not found:
        return None
    best = max(found, key=lambda inc: (inc.last_seen_at, inc.incident_id))
    return Match(best.incident_id, "thread", "same thread")


def _by_fingerprint(mention: MentionKey, incidents: Sequence[IncidentKey],
                    max_distance: int) -> Match | None:
    """The incident holding the closest near-duplicate; ties go to the more
    recently active incident, then the newer one."""
    if mention.fingerprint == EMPTY_FINGERPRINT:
        return None
    best: tuple[tuple[int, datetime, int], int, IncidentKey] | None = None
    for inc in incidents:
        dists = [hamming(mention.fingerprint, fp) for fp in inc.fingerprints
                 if near_duplicate(mention.fingerprint, fp, max_distance)]
        if dists:
            rank = (-min(dists), inc.last_seen_at, inc.incident_id)
            if best is None or rank > best[0]:
                best = (rank, min(dists), inc)
    if best is None:
        return None
    _, dist, inc = best
    return Match(inc.incident_id, "near_duplicate",
                 f"near-duplicate of a post in incident #{inc.incident_id} (distance {dist})",
                 distance=dist)


def _shared_terms(mention: MentionKey, incident: IncidentKey,
                  background: TermBackground | None) -> tuple[str, ...]:
    """Terms of the mention among the incident's top terms, minus those common in
    the brand's other mentions."""
    theirs = _incident_terms(incident)
    shared = tuple(dict.fromkeys(t for t in mention.terms if t in theirs))
    own, own_docs = _own_counts(incident, mention, background)
    common = common_terms(shared, background, own=own, own_docs=own_docs)
    return tuple(t for t in shared if t not in common)


def _by_terms(mention: MentionKey, incidents: Sequence[IncidentKey], min_shared: int,
              background: TermBackground | None = None) -> Match | None:
    """The incident sharing the most distinctive terms (at least ``min_shared``);
    ties go to the more recently active incident, then the newer one."""
    best: tuple[tuple[int, datetime, int], tuple[str, ...], IncidentKey] | None = None
    for inc in incidents:
        shared = _shared_terms(mention, inc, background)
        if len(shared) >= min_shared:
            rank = (len(shared), inc.last_seen_at, inc.incident_id)
            if best is None or rank > best[0]:
                best = (rank, shared, inc)
    if best is None:
        return None
    _, shared, inc = best
    return Match(inc.incident_id, "terms",
                 f"shares terms {', '.join(shared)} with incident #{inc.incident_id}",
                 shared_terms=shared)


def match_incident(mention: MentionKey, open_incidents: Sequence[IncidentKey], *,
                   window: timedelta, min_shared_terms: int = 2,
                   max_distance: int = NEAR_DUPLICATE_BITS,
                   background: TermBackground | None = None) -> Match | None:
    """The open incident ``mention`` belongs to, or ``None`` for a new incident.

    Rules in order, the first that matches wins:
    same brand only; the same thread, however old the incident (a reply a day later
    is still that conversation); a near-duplicate of one of its posts within
    ``window``; at least ``min_shared_terms`` shared salient terms within ``window``
    (most shared terms first, then the most recently active incident). "Within the
    window" compares the mention's time with the incident's ``last_seen_at`` either
    way, so late-fetched posts still find their incident. With a ``background`` (the
    brand's recent mentions, this one and the incident's included), terms common
    outside the incident do not count as shared."""
    if min_shared_terms < 1:
        raise ValueError("min_shared_terms must be at least 1")
    mine = [inc for inc in open_incidents if inc.brand_id == mention.brand_id]
    match = _by_thread(mention, mine)
    if match is not None:
        return match
    recent = [inc for inc in mine if _within(mention, inc, window)]
    return (_by_fingerprint(mention, recent, max_distance)
            or _by_terms(mention, recent, min_shared_terms, background))
