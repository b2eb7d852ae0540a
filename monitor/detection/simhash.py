"""Near-duplicate text: a 64-bit SimHash over shingles, so reposts, copy-pastes
with a few characters changed and "RT"/"转发" prefixes find each other, and so do
reposts under a headline or after a comment of their own (``post_fingerprints``).
Pure: no database, no network.

Everything here must give the same answer in every process: fingerprints are
stored in the database (``Post.fingerprint``, ``Mention.fingerprint``), so hashing
is ``hashlib.blake2b`` (never Python's salted ``hash()``) and every ordering is
explicit. Changing the shingling, ``EN_STOP``, ``MIN_FEATURES`` or ``_HASH_PERSON``
changes stored fingerprints (a test pins two).

The text preparation and English word helpers are shared with ``terms.py``, which
must see posts the same way.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from functools import lru_cache

import numpy as np

from monitor.text.normalize import normalize

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
# Distance for a copied part (``post_fingerprints``): the text under a news site's
# headline, the original after a repost's comment. Parts are short and copied, not
# retyped. On ../shared/data's Weibo posts (2,300, evaluation only), the pairs that
# only a part brought within 12 bits were copies at 0-4 bits (1,461 pairs), while
# at 7-12 bits 184 copies stood beside 367 different posts under one hashtag.
PART_BITS = 6

_MASK64 = (1 << 64) - 1
_SIGN64 = 1 << 63
_HASH_PERSON = b"crisiswatch-sh1"  # changing this changes every stored fingerprint

CJK_CLASS = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# One unit per CJK character, one per run of other letters/digits; the rest is dropped.
_UNIT = re.compile(rf"[{CJK_CLASS}]|[^\W_{CJK_CLASS}]+(?:'[^\W_{CJK_CLASS}]+)*")
CJK_CHAR = re.compile(rf"[{CJK_CLASS}]")
_NOISE = re.compile(r"https?://\S+|www\.\S+|@[\w.\-]+")  # links and @handles differ per repost
_REPOST_PREFIX = re.compile(r"^\s*(?:转发微博|转发|转载|rt|repost(?:ing)?|via)\b\s*[:：]?\s*")
# Where a repost's comment ends and the quoted original begins, in normalised text
# (NFKC makes "：" ":"): "太吓人了 //@小王: ...", "scary. rt @jane: ...", "大家注意!转发: ...".
_QUOTE_MARKER = re.compile(r"//\s*@[^\s:]+\s*:|\brt\s+@[\w.\-]+\s*:?|(?:转发微博|转发|转载)\s*:")
# A passage in quotation marks, as a news report quotes a post (normalised: “” are ").
_QUOTATION = re.compile(r'"([^"]+)"|「([^」]+)」|『([^』]+)』')

# English: function words plus words every complaint uses (they name no matter).
EN_STOP = frozenset("""
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

# ---------------------------------------------------------------- fingerprints


def check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")


def prepare(text: str) -> str:
    """Normalised text without what changes between copies of one post."""
    text = _NOISE.sub(" ", normalize(text[: MAX_CHARS * 2])[:MAX_CHARS])
    return _REPOST_PREFIX.sub("", text)


def stem(word: str) -> str:
    """Plural and possessive folding: enough for "refunds" to meet "refund"."""
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def content_word(raw: str) -> str | None:
    """The stemmed word, or ``None`` for a stopword (checked before and after
    stemming: "does" must not survive as "doe")."""
    if raw in EN_STOP:
        return None
    word = stem(raw)
    return None if word in EN_STOP else word


def _en_units(text: str) -> list[str]:
    units = []
    for unit in _UNIT.findall(text):
        word = unit if CJK_CHAR.fullmatch(unit) else content_word(unit)
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


@lru_cache(maxsize=65_536)
def _hash64(feature: str) -> int:
    """Cached: a brand's posts share most of their shingles (pure, any caller may share it)."""
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
    check_language(language)
    grams = _shingles(prepare(text), language)
    if len(grams) < MIN_FEATURES:
        return EMPTY_FINGERPRINT
    hashes = np.fromiter((_hash64(g) for g in grams), dtype=np.uint64, count=len(grams))
    weights = np.fromiter(grams.values(), dtype=np.float64, count=len(grams))
    bits = (hashes[:, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)
    votes = weights @ (bits.astype(np.float64) * 2.0 - 1.0)
    value = sum(1 << int(b) for b in np.flatnonzero(votes > 0))
    return _to_signed(value)


def copied_parts(text: str) -> list[str]:
    """What a post may quote of another, normalised: the text after its last repost
    marker (a Weibo chain quotes the original last) and its longest passage in
    quotation marks (a news report quoting the post)."""
    text = normalize(text[: MAX_CHARS * 2])
    parts = []
    if marks := list(_QUOTE_MARKER.finditer(text)):
        parts.append(text[marks[-1].end():])
    passages = ["".join(groups) for groups in _QUOTATION.findall(text)]
    if passages:
        parts.append(max(passages, key=len))
    return parts


def post_fingerprints(title: str, text: str, language: str) -> tuple[int, ...]:
    """The whole post's fingerprint first (title and text: what ``Mention.fingerprint``
    stores, possibly ``EMPTY_FINGERPRINT``), then those of its parts that differ and
    are not empty: the text without the title, and what it quotes (``copied_parts``).

    A repost is often the complaint plus words of its own: a news site's headline
    over the copied text, a report around the quoted post, or a comment before
    "//@user:" or "RT @user:". Those words can move the whole post's SimHash past
    ``NEAR_DUPLICATE_BITS`` although the complaint is copied verbatim; its parts
    still match (within ``PART_BITS``). Each part is held to ``MIN_FEATURES`` like
    any post, so a short fragment matches nothing."""
    whole = fingerprint(f"{title}\n{text}", language)
    parts = ([text] if title.strip() else []) + copied_parts(text)
    prints = [whole]
    for part in parts:
        fp = fingerprint(part, language)
        if fp != EMPTY_FINGERPRINT and fp not in prints:
            prints.append(fp)
    return tuple(prints)


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two 64-bit fingerprints (signed or not)."""
    return ((a ^ b) & _MASK64).bit_count()


def near_duplicate(a: int, b: int, max_distance: int = NEAR_DUPLICATE_BITS) -> bool:
    """Whether two fingerprints are the same text give or take a few edits."""
    if a == EMPTY_FINGERPRINT or b == EMPTY_FINGERPRINT:
        return False
    return hamming(a, b) <= max_distance
